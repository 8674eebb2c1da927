"""The default stack on the local 3-node test Swarm: how long each step takes, and how many
requests fail while the swarm rolls an update and while it loses a node.

One run, in this order, each figure measured here and written to bench/results/swarm.json:
the cluster from nothing (`cluster down`, then `cluster up`; base images present), a cold `up`
of the default stack (images built and pushed), a no-op `up`, a rolling update under load, a
`rollback` under load, a worker node killed under load (seconds until web runs 2/2 on the
other nodes), `down`.
Load goes to 127.0.0.1 only (the edge node's port 8080, published on 127.0.0.1:18080).

    .venv/bin/python bench/swarm.py [--keep-cluster]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from bench import smoke  # noqa: E402
from deployer import swarm  # noqa: E402
from deployer.cluster import form, lifecycle  # noqa: E402
from deployer.cluster.options import ClusterOptions  # noqa: E402
from deployer.core.events import quiet  # noqa: E402
from deployer.engine.docker_engine import DockerEngine  # noqa: E402
from deployer.engine.protocol import SwarmEngine  # noqa: E402
from deployer.model.spec import Stack  # noqa: E402
from deployer.stackfile.load import load  # noqa: E402
from deployer.testing.on_swarm import published_on_nodes  # noqa: E402
from tests.integration.load import Load  # noqa: E402

T = TypeVar("T")
FRONT_DOOR = "http://127.0.0.1:18080/"
NAME = "bench-swarm"


def timed(step: str, figures: dict[str, Any], action: Callable[[], T]) -> T:
    started = time.monotonic()
    result = action()
    figures[step] = round(time.monotonic() - started, 2)
    print(f"{step:<28} {figures[step]:>7.2f} s", flush=True)
    return result


def with_message(stack: Stack, message: str) -> Stack:
    return stack.with_service("web", env={**stack.service("web").env, "APP_MESSAGE": message})


def both_answering(deadline: float) -> None:
    """Until nginx has reached both web replicas (a task on another node enters the edge
    node's DNS when the overlay's gossip brings it, a moment after the swarm calls it running)."""
    hosts: set[str] = set()
    while len(hosts) < 2:
        if time.monotonic() > deadline:
            raise SystemExit("nginx did not reach both web replicas within 30 s")
        with urllib.request.urlopen(FRONT_DOOR, timeout=5) as response:
            hosts.add(json.loads(response.read())["host"])


def under_load(
    stack: Stack,
    manager: SwarmEngine,
    engine: DockerEngine,
    figures: dict[str, Any],
    up: Callable[[Stack], swarm.Deployment],
) -> None:
    """A rolling update, a rollback and a killed worker node, each under load."""
    with Load(FRONT_DOOR, clients=4) as load_during:
        load_during.wait_for(50)
        timed("rolling update under load", figures, lambda: up(with_message(stack, "v2")))
        load_during.wait_for(50)
    figures["rolling update requests"] = load_during.result.requests
    figures["rolling update failed"] = load_during.failed
    with Load(FRONT_DOOR, clients=4) as load_back:
        load_back.wait_for(50)
        timed("rollback under load", figures,
              lambda: swarm.rollback(NAME, manager, quiet, timeout=300))  # fmt: skip
        load_back.wait_for(50)
    figures["rollback requests"] = load_back.result.requests
    figures["rollback failed"] = load_back.failed
    # A worker that runs a web task now (the update may have moved them).
    web_now = sorted({t.node for t in swarm.status(NAME, manager) if t.service == "web"})
    victim_name = next(n for n in web_now if n != "node1")
    victim = form.node_containers(engine)[victim_name]
    both_answering(time.monotonic() + 30)
    with Load(FRONT_DOOR, clients=4, timeout=15) as load_kill:
        load_kill.wait_for(50)
        killed = time.monotonic()
        engine.api.kill(victim.id)
        while True:
            tasks = [t for t in swarm.status(NAME, manager) if t.service == "web"]
            if sum(t.state == "running" and t.node != victim_name for t in tasks) == 2:
                break
            if time.monotonic() - killed > 180:
                raise SystemExit("web did not return to 2 running tasks within 180 s")
            time.sleep(0.2)
        figures["node killed: web back to 2/2 (s)"] = round(time.monotonic() - killed, 1)
        load_kill.wait_for(50)
    figures["node killed requests"] = load_kill.result.requests
    figures["node killed failed"] = load_kill.failed
    figures["node killed failures"] = sorted(set(load_kill.result.failures))
    print(f"node {victim_name} killed: back in {figures['node killed: web back to 2/2 (s)']}"
          f" s; {load_kill.result.requests} requests, {load_kill.failed} failed")  # fmt: skip
    engine.start(victim.id)
    form.wait_ready(engine, form.node_containers(engine)["node1"], {"node1", "node2", "node3"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-cluster", action="store_true", help="leave the cluster running")
    smoke.add_option(parser)
    args = parser.parse_args()
    engine = DockerEngine()
    figures: dict[str, Any] = {}
    lifecycle.down(engine, quiet)
    cluster = timed("cluster up (from nothing)", figures,
                    lambda: lifecycle.up(ClusterOptions(), engine, quiet))  # fmt: skip
    figures["nodes"] = len(cluster.nodes)
    manager = swarm.connect(cluster.docker_host)
    stack = published_on_nodes(load(ROOT / "stack.py").model_copy(update={"name": NAME}))

    def up(target: Stack) -> swarm.Deployment:
        return swarm.up(target, manager, engine, cluster.registry, quiet, timeout=300)

    try:
        deployed = timed("up, cold (build, push)", figures, lambda: up(stack))
        figures["web nodes"] = sorted({t.node for t in deployed.replicas if t.service == "web"})
        noop = timed("up, no-op", figures, lambda: up(stack))
        figures["no-op plan empty"] = noop.plan.empty
        if not args.smoke:  # the smoke run: the cluster, a cold and a no-op up, down
            under_load(stack, manager, engine, figures, up)
    finally:
        timed("down", figures, lambda: swarm.down(NAME, manager, quiet))
        if not args.keep_cluster:
            timed("cluster down", figures, lambda: lifecycle.down(engine, quiet))
    output = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": "2 cores; the 3 nodes are dockerd containers on this one host",
        "figures": figures,
    }
    (smoke.results_dir(args.smoke) / "swarm.json").write_text(json.dumps(output, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
