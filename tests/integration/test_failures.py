"""What goes wrong on a real engine is reported, and bad input creates nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import docker

from tests.integration.conftest import ROOT, cli, leftovers, unique_name

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
    assert result.stdout.strip() == "[]"


SLOW = """
name: {name}
services:
  slow:
    image: deployer/python:bookworm
    command: ["sleep", "infinity"]
    init: true
    healthcheck:
      command: "test -f /tmp/ready"
      interval: 1s
      timeout: 1s
      retries: 100
"""


def test_ctrl_c_during_the_health_wait_exits_130_at_once_and_up_repairs(
    tmp_path: Path, docker_api: docker.APIClient, cleanup: list[str]
) -> None:
    name = unique_name("sigint")
    cleanup.append(name)
    path = tmp_path / "stack.yaml"
    path.write_text(SLOW.format(name=name))
    up = subprocess.Popen(
        [sys.executable, "-m", "deployer", "up", "-f", str(path), "--timeout", "300"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    # Running (not just created): `up` has started it and is waiting for its health.
    while not docker_api.containers(
        filters={"label": [f"io.deployer.stack={name}"], "status": ["running"]}
    ):
        assert time.monotonic() < deadline and up.poll() is None, "the container never started"
        time.sleep(0.1)
    interrupted = time.monotonic()
    up.send_signal(signal.SIGINT)
    _, stderr = up.communicate(timeout=30)
    seconds = time.monotonic() - interrupted
    assert up.returncode == 130, stderr
    assert seconds < 2.0, f"took {seconds:.1f}s to stop"
    assert "interrupted" in stderr and "run `up` again" in stderr
    assert "Traceback" not in stderr
    healed = SLOW.format(name=name).replace('"test -f /tmp/ready"', '"true"')
    path.write_text(healed)
    again = cli("up", "-f", str(path))
    assert again.returncode == 0, again.stderr
