"""Stopping, starting and restarting the replicas that run, without changing what they are.

`restart` of a service behind a proxy goes one replica at a time and takes it out of rotation
first, so no request is sent to a replica that is going away: with the socket transport its slot
is pointed at another healthy replica meanwhile (no reload); with tcp the proxy is reloaded
without it. A service with a single replica cannot stay up while it restarts.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from deployer.core import labels
from deployer.core.events import ContainerStarted, Note, Report
from deployer.core.graph import levels
from deployer.core.state import ContainerInfo, ObservedState, replica_of
from deployer.engine import Engine
from deployer.targets.engine import health
from deployer.targets.engine.desired import DesiredStack
from deployer.targets.engine.proxy import Member, Upstream


def _by_level(observed: ObservedState, services: set[str]) -> list[list[str]]:
    edges = observed.dependency_edges()
    return levels({s: [d for d in edges.get(s, []) if d in services] for s in services})


def stop(engine: Engine, observed: ObservedState, services: set[str], report: Report) -> int:
    """Stop the services' running containers, dependants first. Returns how many stopped."""
    stopped = 0
    for level in reversed(_by_level(observed, services)):
        running = [c for s in level for c in observed.service_containers(s) if c.state == "running"]

        def stop_one(container: ContainerInfo) -> None:
            engine.stop(container.id)  # each container's own grace period
            report(Note(f"{container.name} stopped"))

        with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
            list(pool.map(stop_one, running))
        stopped += len(running)
    return stopped


def start(
    engine: Engine, observed: ObservedState, services: set[str], report: Report, timeout: float
) -> int:
    """Start the services' stopped containers, dependencies first, each level until healthy."""
    started = 0
    for level in _by_level(observed, services):
        waiting = [
            c
            for s in level
            for c in observed.service_containers(s)
            if c.state not in {"running", "restarting"}
        ]
        for container in waiting:
            engine.start(container.id)
            report(ContainerStarted(container.name, "start"))
        if waiting:
            health.wait_ready(engine, [c.id for c in waiting], timeout=timeout, report=report)
        started += len(waiting)
    return started


def restart(
    engine: Engine,
    desired: DesiredStack,
    observed: ObservedState,
    services: set[str],
    report: Report,
) -> int:
    """Restart the services' running replicas, dependencies first, one replica at a time."""
    restarted = 0
    for level in _by_level(observed, services):
        for name in level:
            restarted += _restart_service(engine, desired, observed, name, report)
    return restarted


def _restart_service(
    engine: Engine, desired: DesiredStack, observed: ObservedState, name: str, report: Report
) -> int:
    service = desired.stack.service(name)
    running = [c for c in observed.service_containers(name) if c.state == "running"]
    upstream = Upstream(engine, desired, service, observed, report)
    members: list[Member] = sorted((replica_of(c), c.name) for c in running)
    timeout = health.wait_timeout(service)
    drain = service.update.drain_timeout.total_seconds()
    for container in running:
        others = [c for c in running if c.id != container.id]
        replica = replica_of(container)
        if upstream.proxies and others:
            if upstream.sockets:  # the slot serves through a sibling meanwhile
                sibling = others[0]
                upstream.link(replica, sibling.id, _socket(sibling))
            else:
                upstream.serve([m for m in members if m[0] != replica], drain)
        engine.stop(container.id)
        engine.start(container.id)
        report(ContainerStarted(container.name, "restart"))
        health.wait_ready(engine, [container.id], timeout=timeout, report=report)
        if upstream.proxies:
            if upstream.sockets:
                upstream.link(replica, container.id, _socket(container))
            else:
                upstream.serve(members, drain)
    return len(running)


def _socket(container: ContainerInfo) -> str:
    return container.labels.get(labels.SOCKET) or labels.socket_path(container.name)
