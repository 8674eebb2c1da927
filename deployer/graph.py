"""Dependency order of services: topological levels and readable cycles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Return one cycle as a path that ends where it starts (a -> b -> a), or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in edges.get(node, ()):
            if target in edges and (cycle := visit(target)):
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(edges):
        if cycle := visit(start):
            return cycle
    return None


def levels(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Group nodes so each level depends only on earlier ones. `edges` maps node -> its deps.

    Dependencies on unknown nodes are ignored (the validator reports those). Raises ValueError
    on a cycle.
    """
    if cycle := find_cycle(edges):
        raise ValueError("dependency cycle: " + " -> ".join(cycle))
    remaining = {node: {dep for dep in deps if dep in edges} for node, deps in edges.items()}
    result: list[list[str]] = []
    placed: set[str] = set()
    while remaining:
        level = sorted(node for node, deps in remaining.items() if deps <= placed)
        result.append(level)
        placed.update(level)
        for node in level:
            del remaining[node]
    return result
