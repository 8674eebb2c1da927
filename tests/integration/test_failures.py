"""What goes wrong on a real engine is reported, and bad input creates nothing."""

from __future__ import annotations

import json
from pathlib import Path

import docker

from tests.integration.conftest import cli, leftovers, unique_name

UNHEALTHY = """
name: {name}
services:
  sick:
    image: deployer/python:bookworm
    command: ["sleep", "infinity"]
    init: true
    healthcheck:
      command: "echo probe-says-{name}; exit 1"
      interval: 1s
      timeout: 1s
      retries: 1
"""


def test_unhealthy_service_fails_with_its_probe_output(
    tmp_path: Path, docker_api: docker.APIClient, cleanup: list[str]
) -> None:
    name = unique_name("sick")
    cleanup.append(name)
    (tmp_path / "stack.yaml").write_text(UNHEALTHY.format(name=name))
    result = cli("up", "-f", str(tmp_path / "stack.yaml"))
    assert result.returncode == 5, result.stderr
    assert f"container {name}-sick-1 turned unhealthy" in result.stderr
    assert f"| probe-says-{name}" in result.stderr


def test_invalid_stack_creates_nothing(tmp_path: Path, docker_api: docker.APIClient) -> None:
    name = unique_name("bad")
    (tmp_path / "stack.py").write_text(
        "from deployer import *\n"
        f"stack = Stack(name='{name}', services=[\n"
        "  Service(name='a', image='deployer/python:bookworm', depends_on=['b']),\n"
        "  Service(name='b', image='deployer/python:bookworm', depends_on=['a'])])\n"
    )
    result = cli("up", "-f", str(tmp_path / "stack.py"))
    assert result.returncode == 2
    assert "dependency cycle a -> b -> a" in result.stderr
    assert leftovers(docker_api, name) == ([], [], [])


def test_status_of_unknown_stack_is_empty_not_an_error() -> None:
    result = cli("status", "--name", unique_name("none"), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["replicas"] == []
