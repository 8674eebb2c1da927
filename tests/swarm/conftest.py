"""The Swarm suite: a real 3-node test cluster (dockerd nodes as containers) and a registry.

The cluster is made once per session (`cluster up` converges one that runs already, and a
cluster this session made is removed at its end). Every test aims load at 127.0.0.1 only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from deployer import swarm
from deployer.cluster import form, lifecycle
from deployer.cluster.options import ClusterOptions
from deployer.core import labels
from deployer.core.events import quiet
from deployer.engine.docker_engine import DockerEngine
from deployer.engine.protocol import SwarmEngine
from tests.integration.conftest import cleanup, docker_api, engine, pytest_sessionfinish

__all__ = ["cleanup", "docker_api", "engine", "pytest_sessionfinish"]

OPTIONS = ClusterOptions()  # 3 nodes; the edge node's 8080 is 127.0.0.1:18080
FRONT_DOOR = "http://127.0.0.1:18080"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/swarm" in str(item.fspath):
            item.add_marker(pytest.mark.swarm)


@pytest.fixture(scope="session")
def cluster(engine: DockerEngine) -> Iterator[lifecycle.Cluster]:
    existed = bool(form.node_containers(engine))
    made = lifecycle.up(OPTIONS, engine, quiet)
    yield made
    if not existed:
        lifecycle.down(engine, quiet)


@pytest.fixture(scope="session")
def manager(cluster: lifecycle.Cluster) -> SwarmEngine:
    return swarm.connect(cluster.docker_host)


def wait_until(condition: Callable[[], bool], limit: float, what: str) -> float:
    """Seconds until `condition` held; fails the test after `limit`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            pytest.fail(f"{what}: not within {limit:.0f}s")
        time.sleep(0.2)
    return time.monotonic() - started


def leftovers(engine: DockerEngine, stack: str) -> dict[str, list[str]]:
    """What any node still holds of `stack`: containers, networks, volumes (each node asked)."""
    found: dict[str, list[str]] = {}
    selector = f"label={labels.STACK}={stack}"
    for name, node in form.node_containers(engine).items():
        for kind in ("container", "network", "volume"):
            listing = ["ps", "-aq"] if kind == "container" else [kind, "ls", "-q"]
            code, output = engine.exec(node.id, ["docker", *listing, "--filter", selector])
            assert code == 0, output
            if output.strip():
                found.setdefault(name, []).append(f"{kind}: {output.split()}")
    return found
