"""The live state of a stack, read only from labels on engine objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from deployer import labels
from deployer.engine import ContainerInfo, Engine, NetworkInfo, VolumeInfo


@dataclass(frozen=True)
class ObservedState:
    stack: str
    containers: list[ContainerInfo]
    networks: list[NetworkInfo]
    volumes: list[VolumeInfo] = field(default_factory=list)

    def service_containers(self, service: str) -> list[ContainerInfo]:
        found = [c for c in self.containers if c.labels.get(labels.SERVICE) == service]
        return sorted(found, key=replica_of)

    def network(self, name: str) -> NetworkInfo | None:
        for network in self.networks:
            if network.labels.get(labels.NETWORK) == name:
                return network
        return None


def replica_of(container: ContainerInfo) -> int:
    try:
        return int(container.labels.get(labels.REPLICA, "0"))
    except ValueError:
        return 0


def observe(engine: Engine, stack: str) -> ObservedState:
    selector = labels.stack_filter(stack)
    return ObservedState(
        stack=stack,
        containers=sorted(engine.containers(selector), key=lambda c: c.name),
        networks=sorted(engine.networks(selector), key=lambda n: n.name),
        volumes=sorted(engine.volumes(selector), key=lambda v: v.name),
    )


def dependency_edges(observed: ObservedState) -> dict[str, list[str]]:
    """Service -> the services it depends on, as recorded on its containers' labels."""
    edges: dict[str, set[str]] = {}
    for container in observed.containers:
        service = container.labels.get(labels.SERVICE, "")
        deps = container.labels.get(labels.DEPENDS_ON, "")
        edges.setdefault(service, set()).update(d for d in deps.split(",") if d)
    return {service: sorted(deps) for service, deps in edges.items()}
