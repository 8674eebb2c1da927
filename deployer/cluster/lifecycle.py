"""cluster up / down / status: the test cluster's whole life, for the CLI and for tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from deployer import api
from deployer.cluster import form
from deployer.cluster.testbed import NODE_API_PORT, REGISTRY_PORT, ClusterOptions, cluster_stack
from deployer.core import labels
from deployer.core.events import Report, log
from deployer.engine import Engine
from deployer.model.errors import NotFound

DEFAULT = ClusterOptions()


@dataclass(frozen=True)
class Cluster:
    docker_host: str  # the first manager's API, on the host's loopback
    registry: str  # HOST:PORT the host pushes to and every node pulls from
    nodes: list[form.SwarmNode]
    seconds: float = 0.0
    # A port published on the edge node -> the host port on 127.0.0.1 that reaches it.
    edge_ports: dict[int, int] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """What a shell exports to deploy onto the cluster."""
        return {
            "DOCKER_HOST": self.docker_host,
            "DEPLOYER_TARGET": "swarm",
            "DEPLOYER_REGISTRY": self.registry,
        }

    def as_data(self) -> dict[str, Any]:
        return {
            "docker_host": self.docker_host,
            "registry": self.registry,
            "environment": self.environment(),
            "nodes": [node.as_data() for node in self.nodes],
            "edge_ports": {str(node): host for node, host in self.edge_ports.items()},
            "seconds": round(self.seconds, 2),
        }


def up(
    options: ClusterOptions = DEFAULT,
    engine: Engine | None = None,
    report: Report = log,
    timeout: float | None = None,
) -> Cluster:
    """Start (or converge) the nodes and the registry, then form the swarm; wait until Ready."""
    started = time.monotonic()
    engine = engine or api.connect()
    api.up(cluster_stack(options), engine, report, timeout=timeout)
    nodes = form.form(engine, options, report)
    edge = {node: host for host, node in options.publish}
    return Cluster(options.docker_host, options.registry, nodes, time.monotonic() - started, edge)


def status(engine: Engine | None = None) -> Cluster:
    engine = engine or api.connect()
    replicas = api.status(labels.CLUSTER_STACK, engine)
    if not replicas:
        raise NotFound("no test cluster runs here", hint="start one: python -m deployer cluster up")
    ports = {
        (replica.service, port.container_port): port.host_port
        for replica in replicas
        for port in replica.ports
    }
    docker_host = f"tcp://127.0.0.1:{ports.get(('node1', NODE_API_PORT), '?')}"
    registry = f"127.0.0.1:{ports.get(('registry', REGISTRY_PORT), '?')}"
    manager = form.node_containers(engine).get("node1")
    running = manager is not None and manager.state == "running"
    nodes = form.swarm_nodes(engine, manager) if running and manager else []
    edge = {
        port.container_port: port.host_port
        for replica in replicas
        if replica.service == "node1"
        for port in replica.ports
        if port.container_port != NODE_API_PORT and port.host_port
    }
    return Cluster(docker_host, registry, nodes, edge_ports=edge)


def down(engine: Engine | None = None, report: Report = log) -> int:
    """Remove the nodes, the registry and their volumes (every image the nodes held goes too)."""
    engine = engine or api.connect()
    # Swarm reapers of live test sessions: with the cluster gone they have nothing to reap, and
    # its network cannot be removed while they are attached to it.
    selector = {"label": [f"{labels.REAPER_NETWORK}={labels.CLUSTER_NETWORK}"]}
    for reaper in engine.containers(selector):
        engine.remove_container(reaper.id)
    return api.down(labels.CLUSTER_STACK, engine, report, stop_timeout=0, remove_volumes=True)
