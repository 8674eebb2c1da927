"""Waiting until containers are healthy, and failing with what a person needs to fix it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta

from deployer.core.events import ContainerReady, ContainerUnhealthy, Report, quiet
from deployer.core.state import ContainerInfo
from deployer.engine import Engine
from deployer.model.errors import DeployerError, DeployFailed, Interrupted
from deployer.model.spec import Service

# Short: a starting container's probe (run early) passes within a poll of its app's readiness.
POLL_SECONDS = 0.1
LOG_TAIL_LINES = 20


def wait_timeout(service: Service) -> float:
    """Long enough for the healthcheck to decide either way, with room for a slow start."""
    check = service.healthcheck
    if check is None:
        return 30.0
    decide = check.start_period + (check.interval + check.timeout) * (check.retries + 1)
    return max(60.0, (decide + timedelta(seconds=30)).total_seconds())


JOB_TIMEOUT = 600.0  # seconds a one-shot job (a migration, say) may run by default


def is_ready(info: ContainerInfo) -> bool:
    """Running, and healthy when it has a healthcheck."""
    return info.state == "running" and info.health in {"healthy", ""}


def probe_now(engine: Engine, info: ContainerInfo) -> bool:
    """Run a starting container's own healthcheck command once, now, through exec: what the
    engine would run at its first interval. True when it passes within its timeout (or passed
    already in this process: a second wait for the same container does not run it again)."""
    test = info.healthcheck
    if info.state != "running" or info.health != "starting" or len(test) < 2:
        return False
    if passed_early(info):
        return True
    if test[0] == "CMD-SHELL":
        command = ["/bin/sh", "-c", test[1]]
    elif test[0] == "CMD":
        command = list(test[1:])
    else:
        return False
    future = _PROBES.submit(engine.exec, info.id, command)
    try:
        code, _ = future.result(timeout=info.health_timeout)
    except (FutureTimeout, DeployerError):
        return False  # a probe that hangs or cannot run decides nothing; the engine's will
    if code == 0:
        with _PASSED_LOCK:
            _PASSED.add(_run_of(info))
    return code == 0


def passed_early(info: ContainerInfo) -> bool:
    """Still 'starting' to the engine, but its healthcheck command passed when deployer ran it:
    the engine's own verdict comes at its first interval."""
    with _PASSED_LOCK:
        return info.health == "starting" and _run_of(info) in _PASSED


def _run_of(info: ContainerInfo) -> tuple[str, str]:
    """One run of a container: a restarted container is probed anew."""
    return info.id, str(info.started_at)


# Probes run here so that one that hangs is abandoned at its timeout, not waited for.
_PROBES = ThreadPoolExecutor(max_workers=8, thread_name_prefix="probe")
_ROUNDS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="health")
_PASSED: set[tuple[str, str]] = set()  # the container runs whose early probe passed
_PASSED_LOCK = threading.Lock()


def is_done(info: ContainerInfo) -> bool:
    """A one-shot job's container that ran to completion."""
    return info.state == "exited" and info.exit_code == 0


def wait_completed(
    engine: Engine,
    container_ids: list[str],
    *,
    timeout: float,
    report: Report = quiet,
    cancel: threading.Event | None = None,
) -> None:
    """Block until every container of a one-shot job has exited with code 0.

    Raises DeployFailed with the exit code and the log tail as soon as one exits otherwise.
    """

    def verdict(info: ContainerInfo) -> str | None:
        if info.state in {"exited", "dead"} and not is_done(info):
            return _problem(info)
        return None

    _wait(engine, container_ids, is_done, verdict, timeout, report, cancel,
          waiting="a job to complete", late=lambda info: f"still running after {timeout:.0f}s",
          ready_as=lambda info: "completed")  # fmt: skip


def wait_ready(
    engine: Engine,
    container_ids: list[str],
    *,
    timeout: float,
    report: Report = quiet,
    cancel: threading.Event | None = None,
    early: bool = False,
) -> None:
    """Block until every container runs (and is healthy when it has a healthcheck).

    `early`: a starting container also counts as ready once its own healthcheck command,
    run through exec, passes: the engine runs its first probe only after `interval`.
    Raises DeployFailed as soon as one turns unhealthy, exits or restarts, or at the deadline.
    """

    def ready(info: ContainerInfo) -> bool:
        return is_ready(info) or (early and probe_now(engine, info))

    def ready_as(info: ContainerInfo) -> str:
        return "healthy" if info.health == "starting" else info.health  # "starting": probed

    _wait(engine, container_ids, ready, _problem, timeout, report, cancel,
          waiting="health",
          late=lambda info: f"not healthy after {timeout:.0f}s (health: {info.health})",
          ready_as=ready_as)  # fmt: skip


def _wait(
    engine: Engine,
    container_ids: list[str],
    done: Callable[[ContainerInfo], bool],
    problem_of: Callable[[ContainerInfo], str | None],
    timeout: float,
    report: Report,
    cancel: threading.Event | None,
    *,
    waiting: str,
    late: Callable[[ContainerInfo], str],
    ready_as: Callable[[ContainerInfo], str],
) -> None:
    """Poll the containers until each is `done`; fail on the first problem or at the deadline."""
    started = time.monotonic()
    pending = list(container_ids)

    def check(container_id: str) -> tuple[ContainerInfo, bool]:
        info = engine.inspect_container(container_id)
        return info, done(info)

    while pending:
        # Together: one replica's slow probe must not hold up its siblings' verdicts.
        checked = list(_ROUNDS.map(check, pending)) if len(pending) > 1 else [check(pending[0])]
        for container_id, (info, is_done) in zip(list(pending), checked, strict=True):
            if is_done:
                pending.remove(container_id)
                probed = info.health == "starting"  # ready by deployer's own early probe
                elapsed = time.monotonic() - started
                report(ContainerReady(info.name, ready_as(info), elapsed, probed))
                continue
            problem = problem_of(info)
            if problem:
                report(ContainerUnhealthy(info.name, problem))
                raise failure(engine, info, problem)
        if not pending:
            return
        if cancel is not None and cancel.is_set():
            raise Interrupted(f"interrupted while waiting for {waiting}")
        if time.monotonic() - started > timeout:
            stale = engine.inspect_container(pending[0])
            raise failure(engine, stale, late(stale))
        if cancel is not None:
            cancel.wait(POLL_SECONDS)
        else:
            time.sleep(POLL_SECONDS)


def _problem(info: ContainerInfo) -> str | None:
    oom = " (killed by its memory limit)" if info.oom_killed else ""
    if info.state in {"exited", "dead"}:
        return f"exited with code {info.exit_code}{oom}"
    if info.state == "restarting" or info.restart_count > 0:
        return f"keeps crashing (restarted {info.restart_count} time(s)){oom}"
    if info.health == "unhealthy":
        return "turned unhealthy"
    return None


def failure(engine: Engine, info: ContainerInfo, problem: str) -> DeployFailed:
    lines = [f"container {info.name} {problem}"]
    if info.health_output:
        lines.append("last healthcheck output:")
        lines += [f"  | {line}" for line in info.health_output.splitlines()[-10:]]
    try:
        logs = engine.logs_tail(info.id, LOG_TAIL_LINES).rstrip()
    except DeployerError as error:  # the failure above is what matters; say why logs are missing
        lines.append(f"its logs could not be read: {error.message}")
    else:
        lines.append(
            f"last {LOG_TAIL_LINES} log lines:" if logs else "the container logged nothing"
        )
        lines += [f"  | {line}" for line in logs.splitlines()]
    return DeployFailed(
        "\n".join(lines),
        hint="fix the service and run `up` again; `python -m deployer status` shows the stack",
    )
