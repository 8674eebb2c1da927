"""What deployer knows of a stack on a Swarm: its services, tasks, networks, configs, secrets
and the nodes, read by label (no state file); the swarm reconcile, status and apply read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from deployer.core.swarm_objects import NodeInfo, ServiceInfo, SwarmObject, TaskInfo


@dataclass(frozen=True)
class SwarmObserved:
    stack: str
    services: list[ServiceInfo] = field(default_factory=list)
    tasks: list[TaskInfo] = field(default_factory=list)
    networks: dict[str, str] = field(default_factory=dict)  # engine name -> id
    configs: list[SwarmObject] = field(default_factory=list)
    secrets: list[SwarmObject] = field(default_factory=list)
    nodes: list[NodeInfo] = field(default_factory=list)

    def service(self, name: str) -> ServiceInfo | None:
        return next((s for s in self.services if s.name == name), None)

    @cached_property
    def tasks_by_id(self) -> dict[str, TaskInfo]:
        return {task.id: task for task in self.tasks}

    def tasks_of(self, service: ServiceInfo) -> list[TaskInfo]:
        return [task for task in self.tasks if task.service_id == service.id]

    def hostname(self, node_id: str) -> str:
        return next((n.hostname for n in self.nodes if n.id == node_id), node_id[:12])
