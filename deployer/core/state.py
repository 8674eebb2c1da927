"""What deployer knows of live objects: engine facts as plain data, and a stack's observed state.

Pure data: filled by the engine seam (deployer.engine) and read by reconcile, status and the
deploy steps. Everything here is derived from labels and inspections, never from a state file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from deployer.core import labels


@dataclass(frozen=True)
class PublishedPort:
    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    labels: dict[str, str]
    state: str  # created, running, restarting, exited, ...
    health: str  # healthy, unhealthy, starting, or "" when there is no healthcheck
    image: str
    image_id: str
    ports: list[PublishedPort] = field(default_factory=list)
    restart_count: int = 0
    started_at: datetime | None = None
    exit_code: int = 0
    health_output: str = ""  # the last probe's output
    # The memory limit killed it (at its last exit; the engine keeps this across a restart).
    oom_killed: bool = False
    # Its healthcheck as the engine runs it (["CMD-SHELL", "..."] or ["CMD", ...]), and the
    # seconds one probe may take.
    healthcheck: tuple[str, ...] = ()
    health_timeout: float = 30.0
    env: dict[str, str] = field(default_factory=dict)  # as the engine runs it (Config.Env)


@dataclass(frozen=True)
class NetworkInfo:
    id: str
    name: str
    labels: dict[str, str]


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    labels: dict[str, str]


@dataclass(frozen=True)
class ServiceImage:
    """The image a service's containers run: created from `reference`, identified by `id`."""

    reference: str
    id: str


@dataclass(frozen=True)
class Route:
    """Where one replica slot of a socket-reached service points (a socket file name)."""

    target: str
    live: bool  # the target socket file exists


def replica_of(container: ContainerInfo) -> int:
    try:
        return int(container.labels.get(labels.REPLICA, "0"))
    except ValueError:
        return 0


@dataclass(frozen=True)
class ObservedState:
    stack: str
    containers: list[ContainerInfo]
    networks: list[NetworkInfo]
    volumes: list[VolumeInfo] = field(default_factory=list)
    # Upstream service -> replica -> its slot's route, for services reached over sockets by a
    # running proxy. A service missing here has no routes to check.
    routes: dict[str, dict[int, Route]] = field(default_factory=dict)
    # Containers of `run` (labels.ONE_OFF): the stack's, but never replicas.
    one_offs: list[ContainerInfo] = field(default_factory=list)

    def service_containers(self, service: str) -> list[ContainerInfo]:
        found = [c for c in self.containers if c.labels.get(labels.SERVICE) == service]
        return sorted(found, key=replica_of)

    def network(self, name: str) -> NetworkInfo | None:
        for network in self.networks:
            if network.labels.get(labels.NETWORK) == name:
                return network
        return None

    def dependency_edges(self) -> dict[str, list[str]]:
        """Service -> the services it depends on, as recorded on its containers' labels."""
        edges: dict[str, set[str]] = {}
        for container in self.containers:
            service = container.labels.get(labels.SERVICE, "")
            deps = container.labels.get(labels.DEPENDS_ON, "")
            edges.setdefault(service, set()).update(d for d in deps.split(",") if d)
        return {service: sorted(deps) for service, deps in edges.items()}

    def route_problem(self, container: ContainerInfo, exact: bool = False) -> str | None:
        """What is wrong with the route from the proxy to this running replica, if anything.

        A slot routed to the replica's successor (a rollout under way) counts as reaching it,
        unless `exact`: then only this very container will do.
        """
        service = container.labels.get(labels.SERVICE, "")
        routes = self.routes.get(service)
        socket = _socket_name(container)
        if routes is None or not socket or container.state != "running":
            return None
        replica = replica_of(container)
        slot = f"slot-{replica}.sock"
        route = routes.get(replica)
        if route is None:
            return f"no {slot}"
        if route.target != socket:
            # During (or after an interrupted) rollout the slot routes to the replica's successor.
            twins = {
                _socket_name(c)
                for c in self.service_containers(service)
                if c.state == "running" and replica_of(c) == replica
            }
            if route.target in twins and not exact:
                return None
            return f"{slot} points to {route.target}, not {socket}"
        if not route.live:
            return f"{slot} points to {route.target}, which does not exist"
        return None


def _socket_name(container: ContainerInfo) -> str:
    return container.labels.get(labels.SOCKET, "").rsplit("/", 1)[-1]
