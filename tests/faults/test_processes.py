"""Processes of a serving stack die, stop, run out of memory or hang, under HTTP load.

Load: 8 keep-alive clients through nginx's published port on 127.0.0.1; every failed request
is counted. Recovery is measured to the moment the replica answers through nginx again.
A replica that is killed can cut the few answers it was sending (see assert_only_cut_in_flight);
every request it had not begun answering is retried by nginx on another replica.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import docker

from deployer import api
from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from tests.faults.conftest import Record
from tests.faults.faults import (
    assert_only_cut_in_flight,
    deploy,
    gunicorn_timeout,
    inspect,
    kill,
    main_pid,
    past_start_period,
    processes,
    restarted_and_healthy,
    wait_until,
)
from tests.integration.conftest import passed_health
from tests.integration.load import Load

# Forks children that each hold 40 MB until the container's 256 MB limit is exceeded. Its own
# init is made the OOM killer's first choice, so the replica dies the way a leaking app does.
OOM = """
import os, time
with open("/proc/1/oom_score_adj", "w") as f:
    f.write("1000")
for _ in range(10):
    if os.fork() == 0:
        held = b"x" * (40 * 1024 * 1024)
        time.sleep(60)
        os._exit(0)
time.sleep(60)
"""


def killed_and_back(
    docker_api: docker.APIClient, url: str, before: Any, fault: Callable[[], None]
) -> tuple[Load, float, float, float]:
    """Under load, `fault` kills the replica `before`; returns the load and when the fault
    struck, when its restart policy had it healthy, and when it answered through nginx."""
    with Load(url) as load:
        load.wait_for(200)
        started = time.monotonic()
        fault()
        restarted = wait_until(
            lambda: restarted_and_healthy(docker_api, before["Id"], before["RestartCount"]),
            60, "the restart policy bringing it back healthy",
        )  # fmt: skip
        back = load.first_answer_from(before["Config"]["Hostname"], after=restarted)
        load.wait_for(200)
    return load, started, restarted, back


def test_a_crashed_web_replica_fails_no_request_and_comes_back(
    engine: DockerEngine, docker_api: docker.APIClient, cleanup: list[str], figures: Record
) -> None:
    stack, url = deploy(engine, cleanup, "crash")
    before = inspect(docker_api, stack, "web")
    load, started, restarted, back = killed_and_back(
        docker_api,
        url,
        before,
        lambda: kill(main_pid(before)),  # gunicorn's master
    )
    figures(
        "kill -9 of a web replica's main process",
        requests=load.result.requests, failed=load.failed,
        healthy_after_seconds=round(restarted - started, 2),
        recovery_seconds=round(back - started, 2),
    )  # fmt: skip
    assert_only_cut_in_flight(load.result.failures)
    crashed = next(r for r in api.status(stack.name, engine) if r.id == before["Id"][:12])
    assert (crashed.restart_count, crashed.health, crashed.problem) == (1, "healthy", "")


def test_a_manually_stopped_replica_shows_in_status_and_up_starts_it(
    engine: DockerEngine, docker_api: docker.APIClient, cleanup: list[str], figures: Record
) -> None:
    stack, url = deploy(engine, cleanup, "stopped")
    target = inspect(docker_api, stack, "web")
    with Load(url) as load:
        load.wait_for(200)
        docker_api.stop(target["Id"], timeout=20)  # Docker never restarts what was stopped
        load.wait_for(200)
        stopped = next(r for r in api.status(stack.name, engine) if r.id == target["Id"][:12])
        assert stopped.state == "exited"
        started = time.monotonic()
        deployment = api.up(stack, engine)
        up_done = time.monotonic()
        back = load.first_answer_from(target["Config"]["Hostname"], after=started)
        load.wait_for(200)
    figures(
        "docker stop of a web replica, then up",
        requests=load.result.requests, failed=load.failed,
        up_seconds=round(up_done - started, 2), recovery_seconds=round(back - started, 2),
    )  # fmt: skip
    assert load.failed == 0, load.result.failures[:5]
    assert [a.kind.value for a in deployment.plan.actions] == ["start"]
    assert all(r.state == "running" and passed_health(r) for r in deployment.replicas)


def test_a_crashed_nginx_is_back_by_its_restart_policy_and_up_has_nothing_to_do(
    engine: DockerEngine, docker_api: docker.APIClient, cleanup: list[str], figures: Record
) -> None:
    stack, url = deploy(engine, cleanup, "nginx", fixed_port=True)
    before = inspect(docker_api, stack, "nginx")
    with Load(url) as load:
        load.wait_for(200)
        killed = time.monotonic()
        kill(main_pid(before))
        wait_until(
            lambda: docker_api.inspect_container(before["Id"])["RestartCount"] > 0,
            30, "nginx restarted by its restart policy",
        )  # fmt: skip
        served = wait_until(
            lambda: max(load.result.host_seen.values()) > killed
            and (not load.result.failure_times or max(load.result.failure_times) < killed + 30),
            30, "nginx serving again",
        )  # fmt: skip
        load.wait_for(200)
    last_failure = max(load.result.failure_times, default=killed)
    figures(
        "kill -9 of nginx's main process",
        requests=load.result.requests, failed=load.failed,
        downtime_seconds=round(last_failure - killed, 2),
        recovery_seconds=round(max(served, last_failure) - killed, 2),
    )  # fmt: skip
    assert last_failure - killed < 10
    assert api.plan(stack, engine).empty


def test_an_oom_killed_replica_comes_back_and_status_says_why(
    engine: DockerEngine, docker_api: docker.APIClient, cleanup: list[str], figures: Record
) -> None:
    stack, url = deploy(engine, cleanup, "oom")
    before = inspect(docker_api, stack, "web")

    def exceed_the_memory_limit() -> None:
        execution = docker_api.exec_create(before["Id"], ["python3", "-c", OOM])
        docker_api.exec_start(execution["Id"], detach=True)

    load, started, _, back = killed_and_back(docker_api, url, before, exceed_the_memory_limit)
    figures(
        "a web replica past its memory limit (OOM-killed)",
        requests=load.result.requests, failed=load.failed,
        recovery_seconds=round(back - started, 2),
    )  # fmt: skip
    assert_only_cut_in_flight(load.result.failures)
    killed = next(r for r in api.status(stack.name, engine) if r.id == before["Id"][:12])
    assert (killed.restart_count, killed.oom_killed, killed.health) == (1, True, "healthy")


def test_a_replica_that_hangs_until_unhealthy_then_recovers_loses_no_request(
    engine: DockerEngine, docker_api: docker.APIClient, cleanup: list[str], figures: Record
) -> None:
    """Docker's health flaps (healthy, unhealthy, healthy) while the replica's processes hang.

    Decided: deployer does not pull an unhealthy replica out of nginx (it runs no daemon, and
    Docker's verdict lags seconds behind); nginx judges each request instead, retrying one that a
    replica refuses, resets or answers 502/503 on another. A hung replica holds its requests
    until it answers: they come back slow, not failed.

    That holds for a hang shorter than gunicorn's own watchdog (its `timeout`): a worker that
    wakes past it is killed by its master, cutting an answer it had begun, as a crash does (see
    the crash tests). So the hang starts once the replica is past its healthcheck's start period,
    within which Docker counts no failed probe. Measured: hung right after up, it was called
    unhealthy after ~31 s, past the watchdog's 30 s (one answer cut); hung after the start
    period, after ~10.4 s.
    """
    stack, url = deploy(engine, cleanup, "flap")
    name = labels.container_name(stack.name, "web", 1)
    target = inspect(docker_api, stack, "web")
    watchdog = gunicorn_timeout(target)

    def health() -> str:
        return str(docker_api.inspect_container(name)["State"]["Health"]["Status"])

    wait_until(lambda: past_start_period(docker_api, name), 60, "the start period's end")
    with Load(url, timeout=60) as load:
        load.wait_for(200)
        hung = processes(docker_api, target)
        for pid in hung:
            kill(pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            unhealthy = wait_until(lambda: health() == "unhealthy", 60, "Docker saying unhealthy")
        finally:
            for pid in hung:
                kill(pid, signal.SIGCONT)
        healthy = wait_until(lambda: health() == "healthy", 60, "healthy again")
        back = load.first_answer_from(target["Config"]["Hostname"], after=healthy)
        load.wait_for(200)
    figures(
        "a web replica hung until unhealthy, then resumed (health flaps)",
        requests=load.result.requests, failed=load.failed,
        unhealthy_after_seconds=round(unhealthy - stopped, 2),
        slowest_request_seconds=round(load.result.slowest, 2),
        recovery_seconds=round(back - stopped, 2),
    )  # fmt: skip
    assert unhealthy - stopped < watchdog, "the hang outlasted gunicorn's timeout"
    assert load.failed == 0, load.result.failures[:5]
    assert api.plan(stack, engine).empty
