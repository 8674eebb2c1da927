"""The remote suite: one server (dockerd + sshd in a container, tests/remote/server.py) that
deployer reaches only over ssh://, made once per session and removed at its end.

The user's ssh settings for it live in a session folder (DEPLOYER_SSH_CONFIG): a host alias,
the generated key, and a known_hosts holding the server's key, read off it with ssh-keyscan.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deployer import api
from deployer.core.events import quiet
from deployer.engine.docker_engine import DockerEngine
from deployer.images import bases
from tests.integration.conftest import (
    ROOT,
    cleanup,
    docker_api,
    engine,
    pytest_sessionfinish,
    unique_name,
)
from tests.remote.server import SSH_USER, server_stack

__all__ = ["cleanup", "docker_api", "engine", "pytest_sessionfinish"]

ALIAS = "testserver"  # the server's name in the session's ssh config


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/remote" in str(item.fspath):
            item.add_marker(pytest.mark.remote)


@dataclass(frozen=True)
class Server:
    stack: str  # the server's own stack on the local engine
    container: str
    port: int  # sshd, on the host's 127.0.0.1
    folder: Path
    config: Path

    @property
    def address(self) -> str:
        return f"ssh://{SSH_USER}@{ALIAS}"

    @property
    def address_by_port(self) -> str:
        """The same engine spelled another way."""
        return f"ssh://{SSH_USER}@127.0.0.1:{self.port}"

    def env(self, config: Path | None = None, **extra: str) -> dict[str, str]:
        """A deployer process's environment: DOCKER_HOST on the server, the session's ssh."""
        return {
            **os.environ, "DOCKER_HOST": self.address, "CI": "true",
            "DEPLOYER_SSH_CONFIG": str(config or self.config), **extra,
        }  # fmt: skip

    def deployer(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """`python -m deployer ARGS` in the project's folder, against the server."""
        return subprocess.run(
            [sys.executable, "-m", "deployer", *args], cwd=ROOT, env=env or self.env(),
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def ssh_config(self, name: str, key: Path, known_hosts: Path) -> Path:
        """An ssh config for the server with this key and these trusted host keys."""
        path = self.folder / name
        path.write_text(
            f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {self.port}\n"
            f"Host *\n  User {SSH_USER}\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n  LogLevel ERROR\n"
        )
        return path


def new_key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key


def _scan_host_key(port: int) -> str:
    found = subprocess.run(
        ["ssh-keyscan", "-p", str(port), "-t", "ed25519", "127.0.0.1"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert found.stdout.strip(), f"ssh-keyscan found no host key: {found.stderr}"
    return found.stdout


@pytest.fixture(scope="session")
def server(engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("remote")
    key = new_key(folder, "id_deployer")
    bases.bootstrap(engine, bases.BASES["node"], quiet)
    name = unique_name("remote")
    api.up(server_stack(name, key.with_suffix(".pub").read_text()), engine, quiet)
    try:
        (replica,) = api.status(name, engine)
        port = replica.ports[0].host_port
        made = Server(name, replica.id, port, folder, folder / "ssh_config")
        known = folder / "known_hosts"
        known.write_text(_scan_host_key(port))
        made.ssh_config("ssh_config", key, known)
        yield made
    finally:
        api.down(name, engine, quiet, stop_timeout=0, remove_volumes=True)


def wait_for_line(
    stream: Iterator[str], wanted: Callable[[str], bool], seen: list[str]
) -> str | None:
    """The first line `wanted` accepts (every line read is kept in `seen`)."""
    for line in stream:
        seen.append(line)
        if wanted(line):
            return line
    return None
