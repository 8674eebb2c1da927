"""The remote suite: one server (dockerd + sshd in a container, tests/remote/server.py) that
deployer reaches only over ssh://, made once per session and removed at its end.

The user's ssh settings for it live in a session folder (DEPLOYER_SSH_CONFIG): a host alias,
the generated key, and a known_hosts holding the server's key, read off it with ssh-keyscan.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from deployer.engine.docker_engine import DockerEngine
from tests.integration.conftest import (
    cleanup,
    docker_api,
    engine,
    pytest_sessionfinish,
    unique_name,
)
from tests.remote.server import Server, new_key, start_server, stop_server

__all__ = ["Server", "cleanup", "docker_api", "engine", "new_key", "pytest_sessionfinish"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/remote" in str(item.fspath):
            item.add_marker(pytest.mark.remote)


@pytest.fixture(scope="session")
def server(engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    made = start_server(engine, tmp_path_factory.mktemp("remote"), unique_name("remote"))
    try:
        yield made
    finally:
        stop_server(engine, made)


def engine_says_healthy(server: Server, limit: float = 60) -> list[dict[str, Any]]:
    """`status --json` rows once the server's engine calls every replica healthy (after `up`
    a replica deployer's own probe passed is "starting" to the engine until its first
    interval)."""
    deadline = time.monotonic() + limit
    while True:
        done = server.deployer("status", "--json")
        assert done.returncode == 0, done.stderr
        rows: list[dict[str, Any]] = json.loads(done.stdout)["replicas"]
        if rows and all(row["health"] == "healthy" for row in rows):
            return rows
        if time.monotonic() > deadline:
            pytest.fail(f"not every replica healthy within {limit:.0f}s: {rows}")
        time.sleep(0.5)


def wait_for_line(
    stream: Iterator[str], wanted: Callable[[str], bool], seen: list[str]
) -> str | None:
    """The first line `wanted` accepts (every line read is kept in `seen`)."""
    for line in stream:
        seen.append(line)
        if wanted(line):
            return line
    return None
