"""cluster up / down / status: the test cluster's whole life, for the CLI and for tests."""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from deployer import api
from deployer.cluster import form
from deployer.cluster.options import ClusterOptions
from deployer.cluster.testbed import REGISTRY_PORT, REGISTRY_USER, cluster_stack
from deployer.core import labels
from deployer.core.events import Report, log
from deployer.engine import Engine
from deployer.local import registries
from deployer.local.private import runtime_dir
from deployer.model.errors import NotFound

DEFAULT = ClusterOptions()


def private(options: ClusterOptions) -> ClusterOptions:
    """The options with this user's private API folder and the registry's password (made
    once per registry address, kept 0600, so `cluster up` again changes nothing)."""
    registry = options.registry
    kept = registries.credentials(registry)
    if not kept or not kept.get("htpasswd"):
        import bcrypt  # only the cluster needs it

        password = secrets.token_urlsafe(24)
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
        kept = {
            "username": REGISTRY_USER, "password": password, "serveraddress": registry,
            "htpasswd": f"{REGISTRY_USER}:{hashed}\n",
        }  # fmt: skip
        registries.save_credentials(registry, kept)
    return dataclasses.replace(
        options, api_dir=str(runtime_dir("cluster")), registry_htpasswd=kept["htpasswd"]
    )


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
    options = private(options)
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
    registry = f"127.0.0.1:{ports.get(('registry', REGISTRY_PORT), '?')}"
    docker_host = dataclasses.replace(DEFAULT, api_dir=str(runtime_dir("cluster"))).docker_host
    manager = form.node_containers(engine).get("node1")
    running = manager is not None and manager.state == "running"
    nodes = form.swarm_nodes(engine, manager) if running and manager else []
    edge = {
        port.container_port: port.host_port
        for replica in replicas
        if replica.service == "node1"
        for port in replica.ports
        if port.host_port
    }
    return Cluster(docker_host, registry, nodes, edge_ports=edge)


def down(engine: Engine | None = None, report: Report = log) -> int:
    """Remove the nodes, the registry and their volumes (every image the nodes held goes too)."""
    engine = engine or api.connect()
    # Swarm reapers of live test sessions: with the cluster gone they have nothing to reap.
    selector = {"label": [labels.REAPER_SWARM]}
    for reaper in engine.containers(selector):
        engine.remove_container(reaper.id)
    ports = [
        port.host_port
        for replica in api.status(labels.CLUSTER_STACK, engine)
        if replica.service == "registry"
        for port in replica.ports
    ]
    removed = api.down(labels.CLUSTER_STACK, engine, report, stop_timeout=0, remove_volumes=True)
    for port in ports:
        registries.forget(f"127.0.0.1:{port}")
    return removed
