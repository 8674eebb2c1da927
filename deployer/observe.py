"""The live state of a stack, read only from labels on engine objects (and the proxy's routes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from deployer import labels
from deployer.engine import ContainerInfo, Engine, NetworkInfo, VolumeInfo
from deployer.errors import DeployerError

# Run inside a socket proxy: one line per slot link, "slot-N.sock TARGET live|dangling".
_LIST_ROUTES = r"""
cd "$1" 2>/dev/null || exit 0
for slot in slot-*.sock; do
  [ -L "$slot" ] || continue
  if [ -S "$slot" ]; then state=live; else state=dangling; fi
  printf '%s %s %s\n' "$slot" "$(readlink "$slot")" "$state"
done
"""


@dataclass(frozen=True)
class Route:
    """Where one replica slot of a socket-reached service points (a socket file name)."""

    target: str
    live: bool  # the target socket file exists


@dataclass(frozen=True)
class ObservedState:
    stack: str
    containers: list[ContainerInfo]
    networks: list[NetworkInfo]
    volumes: list[VolumeInfo] = field(default_factory=list)
    # Upstream service -> replica -> its slot's route, for services reached over sockets by a
    # running proxy. A service missing here has no routes to check.
    routes: dict[str, dict[int, Route]] = field(default_factory=dict)

    def service_containers(self, service: str) -> list[ContainerInfo]:
        found = [c for c in self.containers if c.labels.get(labels.SERVICE) == service]
        return sorted(found, key=replica_of)

    def network(self, name: str) -> NetworkInfo | None:
        for network in self.networks:
            if network.labels.get(labels.NETWORK) == name:
                return network
        return None

    def route_problem(self, container: ContainerInfo, exact: bool = False) -> str | None:
        """Why the proxy cannot reach this running replica through its slot, if it cannot.

        A slot routed to the replica's successor (a rollout under way) counts as reaching it,
        unless `exact`: then only this very container will do.
        """
        routes = self.routes.get(container.labels.get(labels.SERVICE, ""))
        socket = container.labels.get(labels.SOCKET, "").rsplit("/", 1)[-1]
        if routes is None or not socket or container.state != "running":
            return None
        replica = replica_of(container)
        slot = f"slot-{replica}.sock"
        route = routes.get(replica)
        if route is None:
            return f"route missing: no {slot}"
        if route.target != socket:
            # During (or after an interrupted) rollout the slot routes to the replica's successor.
            twins = [
                c.labels.get(labels.SOCKET, "").rsplit("/", 1)[-1]
                for c in self.containers
                if c.state == "running"
                and c.labels.get(labels.SERVICE) == container.labels.get(labels.SERVICE)
                and replica_of(c) == replica
            ]
            if route.target in twins and not exact:
                return None
            return f"route missing: {slot} points to {route.target}, not {socket}"
        if not route.live:
            return f"route missing: {slot} points to {route.target}, which does not exist"
        return None


def replica_of(container: ContainerInfo) -> int:
    try:
        return int(container.labels.get(labels.REPLICA, "0"))
    except ValueError:
        return 0


def observe(engine: Engine, stack: str) -> ObservedState:
    selector = labels.stack_filter(stack)
    containers = sorted(engine.containers(selector), key=lambda c: c.name)
    return ObservedState(
        stack=stack,
        containers=containers,
        networks=sorted(engine.networks(selector), key=lambda n: n.name),
        volumes=sorted(engine.volumes(selector), key=lambda v: v.name),
        routes=_routes(engine, containers),
    )


def _routes(engine: Engine, containers: list[ContainerInfo]) -> dict[str, dict[int, Route]]:
    """The slot links as a running socket proxy sees them (one exec per upstream)."""
    found: dict[str, dict[int, Route]] = {}
    for proxy in containers:
        upstream = proxy.labels.get(labels.ROUTES)
        if not upstream or upstream in found or proxy.state != "running":
            continue
        command = ["sh", "-c", _LIST_ROUTES, "routes", labels.SOCKET_DIR]
        try:
            code, output = engine.exec(proxy.id, command)
        except DeployerError:
            continue  # the proxy stopped meanwhile: its routes are unknown, not broken
        if code == 0:
            found[upstream] = parse_routes(output)
    return found


def parse_routes(output: str) -> dict[int, Route]:
    routes = {}
    for line in output.splitlines():
        parts = line.split()
        replica = labels.slot_replica(parts[0]) if len(parts) == 3 else None
        if replica is not None:
            routes[replica] = Route(target=parts[1], live=parts[2] == "live")
    return routes


def dependency_edges(observed: ObservedState) -> dict[str, list[str]]:
    """Service -> the services it depends on, as recorded on its containers' labels."""
    edges: dict[str, set[str]] = {}
    for container in observed.containers:
        service = container.labels.get(labels.SERVICE, "")
        deps = container.labels.get(labels.DEPENDS_ON, "")
        edges.setdefault(service, set()).update(d for d in deps.split(",") if d)
    return {service: sorted(deps) for service, deps in edges.items()}
