"""Make a Swarm of the test cluster's running nodes, through `docker` run inside each node.

Idempotent: a node already in the swarm is left alone; nodes the swarm remembers but the
cluster no longer has are removed from it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from deployer.cluster.options import ClusterOptions
from deployer.cluster.testbed import SWARM_PORT, node_name
from deployer.core import labels
from deployer.core.events import Note, Report
from deployer.engine import ContainerInfo, Engine
from deployer.model.errors import DeployFailed, NotFound

READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class SwarmNode:
    hostname: str
    status: str  # Ready, Down, Unknown
    availability: str  # Active, Pause, Drain
    manager: str  # Leader, Reachable, Unreachable; "" for a worker

    def as_data(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "status": self.status,
            "availability": self.availability,
            "manager": self.manager,
        }


def node_containers(engine: Engine) -> dict[str, ContainerInfo]:
    """The cluster's node containers by node name (node1, node2, ...)."""
    found = engine.containers(labels.stack_filter(labels.CLUSTER_STACK))
    return {
        info.labels[labels.SERVICE]: info
        for info in found
        if info.labels.get(labels.SERVICE, "").startswith("node")
    }


def docker(engine: Engine, node: ContainerInfo, *args: str) -> str:
    """`docker ARGS` run in a node against its own dockerd; its output, or DeployFailed."""
    code, output = engine.exec(node.id, ["docker", *args])
    if code != 0:
        raise DeployFailed(f"`docker {' '.join(args)}` on {node.name} failed: {output.strip()}")
    return output.strip()


def form(engine: Engine, options: ClusterOptions, report: Report) -> list[SwarmNode]:
    nodes = node_containers(engine)
    wanted = [node_name(index) for index in range(1, options.nodes + 1)]
    missing = [name for name in wanted if name not in nodes]
    if missing:
        raise NotFound(f"the cluster has no node container {', '.join(missing)}")
    leader = nodes[wanted[0]]
    if _state(engine, leader) != "active":
        report(Note(f"{leader.name}: swarm init"))
        docker(engine, leader, "swarm", "init", "--advertise-addr", "eth0")
    tokens = {
        role: docker(engine, leader, "swarm", "join-token", "-q", role)
        for role in ("manager", "worker")
    }

    def join(index: int) -> None:
        node = nodes[wanted[index]]
        if _state(engine, node) == "active":
            return
        role = "manager" if index < options.managers else "worker"
        report(Note(f"{node.name}: joining as {role}"))
        docker(engine, node, "swarm", "join", "--advertise-addr", "eth0", "--token",
               tokens[role], f"{wanted[0]}:{SWARM_PORT}")  # fmt: skip

    with ThreadPoolExecutor(max_workers=max(1, len(wanted) - 1)) as pool:
        list(pool.map(join, range(1, len(wanted))))
    _forget_departed(engine, leader, set(wanted))
    docker(engine, leader, "node", "update", "--label-add", f"{labels.EDGE_NODE}=true", wanted[0])
    return wait_ready(engine, leader, set(wanted))


def _state(engine: Engine, node: ContainerInfo) -> str:
    return docker(engine, node, "info", "--format", "{{.Swarm.LocalNodeState}}")


def swarm_nodes(engine: Engine, manager: ContainerInfo) -> list[SwarmNode]:
    columns = "{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}"
    listed = docker(engine, manager, "node", "ls", "--format", columns)
    rows = [line.split("\t") for line in listed.splitlines() if line.strip()]
    return sorted(
        (SwarmNode(*(row + [""] * 4)[:4]) for row in rows), key=lambda node: node.hostname
    )


def _forget_departed(engine: Engine, leader: ContainerInfo, wanted: set[str]) -> None:
    """Nodes the swarm still lists but the cluster no longer has (it was made smaller)."""
    listed = docker(engine, leader, "node", "ls", "--format", "{{.ID}}\t{{.Hostname}}")
    for line in listed.splitlines():
        node_id, _, hostname = line.partition("\t")
        if hostname not in wanted:
            docker(engine, leader, "node", "rm", "--force", node_id)


def wait_ready(
    engine: Engine, manager: ContainerInfo, wanted: set[str], timeout: float = READY_TIMEOUT
) -> list[SwarmNode]:
    deadline = time.monotonic() + timeout
    while True:
        nodes = swarm_nodes(engine, manager)
        ready = {node.hostname for node in nodes if node.status == "Ready"}
        if wanted <= ready:
            return nodes
        if time.monotonic() > deadline:
            raise DeployFailed(
                f"swarm nodes not Ready after {timeout:.0f}s: {', '.join(sorted(wanted - ready))}"
            )
        time.sleep(0.5)
