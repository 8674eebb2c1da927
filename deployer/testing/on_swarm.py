"""Throwaway stacks on a Swarm: the local test cluster (`cluster up`).

    from deployer.cluster import lifecycle
    from deployer.testing import swarm_throwaway

    with swarm_throwaway("stack.py", lifecycle.status()) as shop:
        urllib.request.urlopen(shop.url("nginx"))

The same disposable copy as `throwaway` (a unique name, the images built once, fast probes),
deployed onto the swarm: its images pushed to the cluster's registry, each published port put
on a free port of the edge node that the host reaches on 127.0.0.1. Everything the copy made
is removed from every node on exit, whether the block ends normally, raises, or `up` fails.
If the test process dies first (SIGKILL, a cancelled CI job), the session's swarm reaper (a
container beside the cluster's nodes, talking to the manager's API) removes its services,
configs, secrets and networks within seconds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deployer import api, swarm
from deployer.cluster.lifecycle import Cluster
from deployer.core import labels
from deployer.core.events import Report, quiet
from deployer.engine import Engine
from deployer.engine.protocol import SwarmEngine
from deployer.images import build as images
from deployer.model.errors import DeployFailed, NotFound
from deployer.model.spec import Port, Stack
from deployer.stackfile import load
from deployer.testing.reaper import Reaper
from deployer.testing.stacks import Copy, disposable_copy

# (service, container port) -> the URL on 127.0.0.1 that reaches it through the edge node
Urls = dict[tuple[str, int], str]


@dataclass(frozen=True)
class SwarmThrowaway(Copy):
    """A throwaway stack running on the swarm."""

    manager: SwarmEngine
    urls: Urls

    def url(self, service: str, container_port: int | None = None) -> str:
        for (name, port), url in self.urls.items():
            if name == service and container_port in (None, port):
                return url
        raise NotFound(f"service {service!r} of throwaway {self.name} publishes no such port")

    def replicas(self, service: str | None = None) -> list[swarm.ReplicaStatus]:
        found = swarm.status(self.name, self.manager)
        return [task for task in found if service is None or task.service == service]

    def logs(self, service: str, tail: int = 200) -> str:
        lines = swarm.logs(self.name, [service], tail=tail, manager=self.manager)
        return "\n".join(line.text for line in lines)


def edge_ports_in_use(manager: SwarmEngine) -> set[int]:
    """Ports that services of any deployer stack publish on the swarm's nodes."""
    used: set[int] = set()
    for service in manager.services({"label": [labels.STACK]}):
        for port in (service.spec.get("EndpointSpec") or {}).get("Ports") or []:
            used.add(int(port.get("PublishedPort") or 0))
    return used


def published_on_nodes(stack: Stack) -> Stack:
    """The stack with each published port on every address of the swarm's nodes, as a swarm
    requires it said (the test cluster's nodes are reached from the host's loopback only)."""
    services = tuple(
        service.model_copy(
            update={
                "ports": tuple(p.model_copy(update={"host_ip": "0.0.0.0"}) for p in service.ports)
            }
        )
        for service in stack.services
    )
    return stack.model_copy(update={"services": services})


def on_the_edge(
    stack: Stack, cluster: Cluster, in_use: set[int]
) -> tuple[Stack, dict[tuple[str, int], str]]:
    """The stack with each published port moved to a free edge port; and the URLs reaching them."""
    free = [port for port in sorted(cluster.edge_ports) if port not in in_use]
    urls: dict[tuple[str, int], str] = {}
    services = []
    for service in stack.services:
        ports = []
        for port in service.ports:
            if not free:
                raise DeployFailed(
                    f"throwaway {stack.name}: no free port left on the cluster's edge node for "
                    f"{service.name}:{port.container} (it has {sorted(cluster.edge_ports)})",
                    hint="cluster up --publish HOST:NODE (repeatable) publishes more",
                )
            edge = free.pop(0)
            # Every address of the node container; the host reaches it on its loopback only.
            ports.append(
                Port(host=edge, container=port.container, protocol=port.protocol,
                     host_ip="0.0.0.0")
            )  # fmt: skip
            urls[(service.name, port.container)] = f"http://127.0.0.1:{cluster.edge_ports[edge]}"
        services.append(service.model_copy(update={"ports": tuple(ports)}))
    return stack.model_copy(update={"services": tuple(services)}), urls


@contextmanager
def swarm_throwaway(
    stack: Stack | str | Path,
    cluster: Cluster,
    *,
    builder: Engine | None = None,
    reaper: bool = True,
    report: Report = quiet,
    timeout: float | None = None,
) -> Iterator[SwarmThrowaway]:
    """Deploy a disposable copy of `stack` onto the cluster's swarm; remove it afterwards."""
    original = stack if isinstance(stack, Stack) else load.load(stack)
    manager = swarm.connect(cluster.docker_host)
    builder = builder or api.connect()
    session = (
        Reaper.swarm_session(builder, cluster.docker_host.removeprefix("unix://"), report)
        if reaper
        else f"local-{secrets.token_hex(6)}"
    )
    built = images.prepare(builder, original, report)
    copy = disposable_copy(original, session, built)
    copy, urls = on_the_edge(copy, cluster, edge_ports_in_use(manager))
    try:
        deployment = swarm.up(copy, manager, builder, cluster.registry, report, timeout)
        yield SwarmThrowaway(copy, deployment, manager, urls)
    finally:
        swarm.down(copy.name, manager, report)
