"""What one engine cannot run as written, beyond the rules every target shares (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only
    from deployer.model.spec import Stack


def problems(stack: Stack) -> list[str]:
    """Each naming its field. One engine writes a service's configs into the container before
    it starts, so only into its volumes when its root is read-only (a swarm mounts them)."""
    found = []
    for service in stack.services:
        if not service.read_only:
            continue
        mounted = [m.target.rstrip("/") + "/" for m in service.mounts]
        found += [
            f"services.{service.name}.configs: {use.path()} is on the read-only root; "
            "target a path inside one of its volumes"
            for use in service.configs
            if not any(use.path().startswith(folder) for folder in mounted)
        ]
    return found
