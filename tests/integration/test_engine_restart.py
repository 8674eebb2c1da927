"""An engine restart (what a host reboot or a docker.io upgrade does) leaves the stack serving.

These tests stop dockerd and start it again, which breaks every other test running at that
moment: they are marked `engine_restart` and run alone, after the rest (scripts/test).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deployer import api
from deployer.engine.docker_engine import DockerEngine
from deployer.model.errors import DeployerError
from deployer.model.spec import Stack
from tests.integration.conftest import ROOT, default_stack_copy, unique_name

pytestmark = pytest.mark.engine_restart

SERVES_AGAIN_WITHIN = 15.0  # seconds after the engine answers again


def restart_engine(engine: DockerEngine) -> tuple[float, float]:
    """Stop dockerd by its pid, then start it again the way scripts/host-setup does.

    Returns when (time.monotonic) it was started again, and how long it took to answer.
    """
    if os.geteuid() != 0:
        pytest.skip("restarting dockerd needs root")
    pids = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout
    assert pids.split(), "no dockerd process to restart (is the engine managed elsewhere?)"
    pid = int(pids.split()[0])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, "dockerd did not stop within 60 s"
        time.sleep(0.1)
    started = time.monotonic()
    subprocess.run([str(ROOT / "scripts" / "host-setup")], check=True, timeout=120)
    engine.ping()
    return started, time.monotonic() - started


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _front_door(name: str, engine: DockerEngine) -> str | None:
    """The proxy's URL as published now (an ephemeral port may change with the restart)."""
    for replica in api.status(name, engine):
        if replica.service == "nginx" and replica.ports:
            return f"http://127.0.0.1:{replica.ports[0].host_port}/"
    return None


def _seconds_until_served(
    name: str, engine: DockerEngine, started: float, limit: float
) -> float | None:
    while time.monotonic() - started < limit:
        try:
            url = _front_door(name, engine)
        except DeployerError:
            url = None
        if url and _get(url) == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def _tcp(stack: Stack) -> Stack:
    services = tuple(
        s.model_copy(update={"proxy": s.proxy.model_copy(update={"transport": "tcp"})})
        if s.proxy
        else s
        for s in stack.services
    )
    return stack.model_copy(update={"services": services})


@pytest.mark.parametrize("transport", ["socket", "tcp"])
def test_stack_serves_again_after_an_engine_restart_with_no_deployer_command(
    transport: str, engine: DockerEngine, cleanup: list[str]
) -> None:
    name = unique_name(f"reboot-{transport}")
    cleanup.append(name)
    stack = default_stack_copy(name)
    stack = _tcp(stack) if transport == "tcp" else stack
    deployment = api.up(stack, engine)
    assert _get(deployment.url() + "/") == 200

    started, answered = restart_engine(engine)
    seconds = _seconds_until_served(name, engine, started, answered + SERVES_AGAIN_WITHIN)
    assert seconds is not None, (
        f"not serving {SERVES_AGAIN_WITHIN:.0f}s after the engine answered again: "
        f"{[(r.container, r.state, r.health, r.problem) for r in api.status(name, engine)]}"
    )
    print(f"{transport}: serving {seconds:.1f}s after dockerd started ({answered:.1f}s to answer)")
    # Every replica came back by its restart policy; nothing is left for `up` to do.
    assert all(r.state == "running" for r in api.status(name, engine))
    assert api.plan(stack, engine).empty
