"""`up` attached, as CI runs a test suite with Compose: the stack's lines stream, a container's
exit stops the stack, and the test container's exit code is deployer's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import docker

from tests.integration.conftest import ROOT, cli, unique_name

STACK = """from deployer import Service, Stack
stack = Stack(name={name!r}, services=(
    Service(name="web", image="deployer/python:bookworm", init=True,
            command=["python3", "-u", "-m", "http.server", "8000"]),
    Service(name="tests", image="deployer/python:bookworm",
            command=["sh", "-c", "echo suite starts; sleep 1; echo suite done; exit 3"]),
))
"""


def _stack_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "stack.py"
    path.write_text(STACK.format(name=name))
    return path


def _states(docker_api: docker.APIClient, name: str) -> dict[str, str]:
    found = docker_api.containers(all=True, filters={"label": f"io.deployer.stack={name}"})
    return {item["Labels"]["io.deployer.service"]: item["State"] for item in found}


def test_exit_code_from_returns_the_test_containers_code_and_stops_the_stack(
    tmp_path: Path, cleanup: list[str], docker_api: docker.APIClient
) -> None:
    name = unique_name("att")
    cleanup.append(name)
    result = cli("up", "-f", str(_stack_file(tmp_path, name)), "--exit-code-from", "tests")
    assert result.returncode == 3, result.stderr
    assert f"{name}-tests-1 | suite starts" in result.stdout
    assert f"{name}-tests-1 | suite done" in result.stdout  # its last line, before the stop
    assert "exited; stopping the stack" in result.stderr
    assert _states(docker_api, name) == {"web": "exited", "tests": "exited"}


def test_abort_on_container_exit_returns_the_first_exited_code(
    tmp_path: Path, cleanup: list[str], docker_api: docker.APIClient
) -> None:
    name = unique_name("att")
    cleanup.append(name)
    result = cli("up", "-f", str(_stack_file(tmp_path, name)), "--abort-on-container-exit")
    assert result.returncode == 3, result.stderr
    assert _states(docker_api, name)["web"] == "exited"


def test_an_unknown_exit_code_service_is_refused_before_anything_is_made(
    tmp_path: Path, docker_api: docker.APIClient
) -> None:
    name = unique_name("att")
    result = cli("up", "-f", str(_stack_file(tmp_path, name)), "--exit-code-from", "nope")
    assert result.returncode == 7, result.stderr
    assert "--exit-code-from nope" in result.stderr and "Traceback" not in result.stderr
    assert _states(docker_api, name) == {}


def test_attach_streams_until_ctrl_c_and_leaves_the_stack_running(
    tmp_path: Path, cleanup: list[str], docker_api: docker.APIClient
) -> None:
    name = unique_name("att")
    cleanup.append(name)
    process = subprocess.Popen(
        [sys.executable, "-m", "deployer", "up", "-f", str(_stack_file(tmp_path, name)),
         "--attach"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=dict(os.environ),
    )  # fmt: skip
    assert process.stdout is not None
    try:
        for line in process.stdout:  # until web's first line has come through
            if f"{name}-web-1" in line and "Serving HTTP" in line:
                break
        else:
            raise AssertionError(
                f"no line from web: {process.stderr.read() if process.stderr else ''}"
            )
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    assert _states(docker_api, name)["web"] == "running"  # Ctrl-C ends the stream, not the stack
