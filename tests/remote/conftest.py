"""The remote suite: one server (dockerd + sshd in a container, tests/remote/server.py) that
deployer reaches only over ssh://, made once per session and removed at its end.

The user's ssh settings for it live in a session folder (DEPLOYER_SSH_CONFIG): a host alias,
the generated key, and a known_hosts holding the server's key, read off it with ssh-keyscan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

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


def wait_for_line(
    stream: Iterator[str], wanted: Callable[[str], bool], seen: list[str]
) -> str | None:
    """The first line `wanted` accepts (every line read is kept in `seen`)."""
    for line in stream:
        seen.append(line)
        if wanted(line):
            return line
    return None
