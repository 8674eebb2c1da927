"""Dependency order of services: topological levels and readable cycles (stdlib graphlib)."""

from __future__ import annotations

import graphlib
from collections.abc import Mapping, Sequence


def _sorter(edges: Mapping[str, Sequence[str]]) -> graphlib.TopologicalSorter[str]:
    """Nodes in name order, each after its known dependencies (unknown ones are the
    validator's to report)."""
    return graphlib.TopologicalSorter(
        {node: sorted(dep for dep in edges[node] if dep in edges) for node in sorted(edges)}
    )


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Return one cycle as a path that ends where it starts (a -> b -> a), or None."""
    try:
        _sorter(edges).prepare()
    except graphlib.CycleError as error:
        # graphlib walks dependencies backwards; read the cycle in depends-on order.
        return list(reversed(error.args[1]))
    return None


def levels(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Group nodes so each level depends only on earlier ones. `edges` maps node -> its deps.

    Dependencies on unknown nodes are ignored (the validator reports those). Raises ValueError
    on a cycle.
    """
    if cycle := find_cycle(edges):
        raise ValueError("dependency cycle: " + " -> ".join(cycle))
    sorter = _sorter(edges)
    sorter.prepare()
    result: list[list[str]] = []
    while sorter.is_active():
        level = sorted(sorter.get_ready())
        result.append(level)
        sorter.done(*level)
    return result
