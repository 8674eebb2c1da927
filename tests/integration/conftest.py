"""Integration tests run against the real engine, with unique stack names, always cleaned up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from deployer import api
from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from deployer.model.errors import DeployerError
from deployer.model.spec import Port, Stack
from deployer.stackfile.load import load

ROOT = Path(__file__).parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def engine() -> DockerEngine:
    try:
        real = DockerEngine()
        real.ping()
    except DeployerError as error:
        pytest.fail(f"integration tests need a Docker engine: {error}", pytrace=False)
    return real


@pytest.fixture(scope="session")
def docker_api(engine: DockerEngine) -> docker.APIClient:
    """A second, independent view of the engine for assertions (not deployer's own code)."""
    return docker.APIClient(version="1.41")


_CREATED: set[str] = set()


def unique_name(prefix: str = "it") -> str:
    """A stack name no other run uses; checked for leftovers when the session ends."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    _CREATED.add(name)
    return name


def default_stack_copy(name: str) -> Stack:
    """The default stack under another name, its front door on an ephemeral port."""
    stack = load(ROOT / "stack.py")
    services = tuple(
        s.model_copy(update={"ports": tuple(Port(container=p.container) for p in s.ports)})
        for s in stack.services
    )
    return stack.model_copy(update={"name": name, "services": services})


def leftovers(
    docker_api: docker.APIClient, name: str
) -> tuple[list[object], list[object], list[object]]:
    """Containers, networks and volumes labelled with the stack."""
    selector = {"label": [f"{labels.STACK}={name}"]}
    return (
        docker_api.containers(all=True, filters=selector),
        docker_api.networks(filters=selector),
        docker_api.volumes(filters=selector).get("Volumes") or [],
    )


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deployer", *args],
        capture_output=True, text=True, cwd=cwd, env=dict(os.environ), timeout=600,
    )  # fmt: skip


@pytest.fixture
def cleanup(engine: DockerEngine) -> Iterator[list[str]]:
    """Stack names appended here are taken down after the test, whatever happened."""
    names: list[str] = []
    yield names
    for name in names:
        api.down(name, engine=engine, stop_timeout=1, remove_images=True, remove_volumes=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A test that leaves anything behind fails the run (and its leftovers are removed)."""
    if not _CREATED:
        return
    view = docker.APIClient(version="1.41")
    dirty = [name for name in sorted(_CREATED) if leftovers(view, name) != ([], [], [])]
    for name in dirty:
        api.down(name, stop_timeout=1, remove_images=True, remove_volumes=True)
    if dirty:
        print(f"\nintegration tests left objects behind for stacks: {', '.join(dirty)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def stack_file(folder: Path, name: str) -> Path:
    """A stack.py that deploys the default stack as `name`, ports ephemeral (for CLI tests)."""
    path = folder / "stack.py"
    path.write_text(
        "from tests.integration.conftest import default_stack_copy\n"
        f"stack = default_stack_copy({name!r})\n"
    )
    return path


def passed_health(replica: api.ReplicaStatus) -> bool:
    """What `up` waits for: the engine calls the container healthy, or its healthcheck command
    passed when deployer ran it early (the engine's own first check follows at its interval)."""
    return replica.health == "healthy" or replica.probed


def engine_verdicts(name: str, limit: float = 30.0) -> list[api.ReplicaStatus]:
    """The stack's status once the engine itself calls every running container healthy."""
    deadline = time.monotonic() + limit
    while True:
        replicas = api.status(name)
        running = [r for r in replicas if r.state == "running"]
        if all(r.health in {"healthy", "none"} for r in running):
            return replicas
        assert time.monotonic() < deadline, f"{name}: the engine's verdicts did not come: " + (
            ", ".join(f"{r.container} {r.health}" for r in running)
        )
        time.sleep(0.1)
