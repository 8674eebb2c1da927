"""Every way to name the server reaches it: DOCKER_HOST (the other tests), a Docker context,
a stack's `engine`, and -H, which wins over the stack's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from deployer.engine.docker_engine import DockerEngine
from tests.remote.conftest import Server

NO_ENGINE = 3


def test_a_docker_context_that_names_the_server(server: Server, tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    made = subprocess.run(
        ["docker", "context", "create", "myserver", "--docker", f"host={server.address}"],
        env={**server.env(), "DOCKER_CONFIG": str(config)}, capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    env = server.env(DOCKER_CONFIG=str(config), DOCKER_CONTEXT="myserver")
    del env["DOCKER_HOST"]
    up = server.deployer("up", env=env)
    assert up.returncode == 0, up.stderr
    listed = server.deployer("ls", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "demo" in {s["name"] for s in json.loads(listed.stdout)["stacks"]}


def test_a_stacks_engine_field_and_h_over_it(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYER_SSH_CONFIG", str(server.config))  # this test's own look
    stack = tmp_path / "stack.py"
    stack.write_text(
        "from deployer import Service, Stack\n"
        f"stack = Stack(name='pinned', engine={server.address!r}, services=(\n"
        "    Service(name='web', image='deployer/python:bookworm',\n"
        "            command=('python3', '-m', 'http.server')),))\n"
    )
    env = server.env()
    del env["DOCKER_HOST"]  # only the stack names the server
    up = server.deployer("-f", str(stack), "up", env=env)
    assert up.returncode == 0, up.stderr
    on_server = DockerEngine(base_url=server.address)
    assert [c.name for c in on_server.containers({"label": ["io.deployer.stack=pinned"]})] == [
        "pinned-web-1"
    ]
    elsewhere = server.deployer(
        "-H", f"unix://{tmp_path}/none.sock", "-f", str(stack), "status", env=env
    )
    assert elsewhere.returncode == NO_ENGINE, elsewhere.stdout + elsewhere.stderr
    down = server.deployer("-f", str(stack), "down", env=env)
    assert down.returncode == 0, down.stderr
    assert on_server.containers({"label": ["io.deployer.stack=pinned"]}) == []
