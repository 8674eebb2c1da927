"""Which targets there are, by name: each imported only when chosen (start-up pays for one).
Nothing in a target imports this; the CLI does."""

from __future__ import annotations

from deployer.targets.base import TARGET_NAMES, NotOnTarget, Target


def choose(name: str) -> Target:
    """The target named `name` (imported only when chosen: start-up pays for one)."""
    if name == "engine":
        from deployer.targets.engine.target import EngineTarget

        return EngineTarget()
    if name == "swarm":
        from deployer.targets.swarm.target import SwarmTarget

        return SwarmTarget()
    if name == "kubernetes":
        from deployer.targets.kubernetes.target import KubernetesTarget

        return KubernetesTarget()
    raise NotOnTarget(
        f"--target {name!r}: no such target", hint=f"choose {', '.join(TARGET_NAMES)}"
    )
