"""An engine restart (what a host reboot or a docker.io upgrade does) leaves the stack serving.

These tests stop dockerd and start it again, which breaks every other test running at that
moment: they are marked `engine_restart` and run alone, after the rest (scripts/test).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from deployer import api
from deployer.engine.docker_engine import DockerEngine
from deployer.model.spec import Stack
from tests.faults.conftest import Record
from tests.faults.faults import on_a_fixed_port, wait_until
from tests.integration.conftest import ROOT, default_stack_copy, unique_name
from tests.integration.load import Load

pytestmark = pytest.mark.engine_restart

SERVES_AGAIN_WITHIN = 15.0  # seconds after the engine answers again (the bound)


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
    transport: str, engine: DockerEngine, cleanup: list[str], figures: Record
) -> None:
    name = unique_name(f"reboot-{transport}")
    cleanup.append(name)
    stack = on_a_fixed_port(default_stack_copy(name))
    stack = _tcp(stack) if transport == "tcp" else stack
    deployment = api.up(stack, engine)
    with Load(deployment.url() + "/") as load:
        load.wait_for(200)
        stopping = time.monotonic()
        started, answered = restart_engine(engine)

        def serving_again() -> bool:  # an answer after the last failure, which came after start
            failures = load.result.failure_times
            last = max(failures, default=0.0)
            return last > started and max(load.result.host_seen.values()) > last

        wait_until(serving_again, answered + SERVES_AGAIN_WITHIN, "serving again after the restart")
        served = max(load.result.failure_times)
        healthy = wait_until(
            lambda: all(r.health == "healthy" for r in api.status(name, engine)),
            started + answered + SERVES_AGAIN_WITHIN - time.monotonic(), "every container healthy",
        )  # fmt: skip
        load.wait_for(200)
    figures(
        f"the engine restarted ({transport} transport)",
        requests=load.result.requests, failed=load.failed,
        engine_answered_seconds=round(answered, 2),
        serving_after_start_seconds=round(served - started, 2),
        all_healthy_after_start_seconds=round(healthy - started, 2),
        downtime_seconds=round(served - stopping, 2),
    )  # fmt: skip
    statuses = api.status(name, engine)
    # Every replica came back by its restart policy; nothing is left for `up` to do.
    assert all(r.state == "running" for r in statuses), [(r.container, r.state) for r in statuses]
    assert api.plan(stack, engine).empty
