"""A Swarm manager's objects as the engine seam reports them: the swarm, nodes, services, tasks,
configs and secrets, as plain data (the swarm target's vocabulary, read in deployer.targets.swarm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SwarmInfo:
    state: str  # the engine's LocalNodeState: "active" when it is in a swarm
    manager: bool  # it can take service commands (ControlAvailable)
    nodes: int  # nodes in the swarm (0 when the engine is no manager)


@dataclass(frozen=True)
class NodeInfo:
    id: str
    hostname: str
    state: str  # ready, down, unknown
    availability: str  # active, pause, drain
    labels: dict[str, str]


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    name: str
    version: int  # the spec's version: an update names it, so two writers cannot race
    labels: dict[str, str]
    spec: dict[str, Any]
    # UpdateStatus.State: "", updating, paused, completed, rollback_started, rollback_paused,
    # rollback_completed; and the engine's message about it.
    update_state: str = ""
    update_message: str = ""
    update_started: str = ""  # when the last update began: tells this update from an old one
    previous_spec: dict[str, Any] | None = None

    @property
    def replicas(self) -> int | None:
        """Desired tasks of a replicated service; None for a global one."""
        replicated = self.spec.get("Mode", {}).get("Replicated")
        return None if replicated is None else int(replicated.get("Replicas", 1))

    @property
    def image(self) -> str:
        return str(self.spec["TaskTemplate"]["ContainerSpec"]["Image"])


@dataclass(frozen=True)
class TaskInfo:
    id: str
    service_id: str
    slot: int  # replicated services number their tasks 1..N; 0 for a global service's
    node_id: str
    state: str  # new ... starting, running, complete, failed, shutdown, rejected, orphaned
    desired_state: str  # running, shutdown, ...
    message: str
    error: str
    image: str
    container_id: str
    timestamp: str
    config_hash: str = ""  # of the service spec the task was made from (its container label)


@dataclass(frozen=True)
class SwarmObject:
    """A config or secret of the stack (its data stays on the manager)."""

    id: str
    name: str
    labels: dict[str, str]
