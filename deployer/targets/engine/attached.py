"""`up --attach`, `--abort-on-container-exit`, `--exit-code-from`: after the stack is up, its
lines stream here until Ctrl-C or, when asked, until a container exits; then every replica stops
and one container's exit code becomes deployer's, as Compose's attached `up` does in CI."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from deployer.core import labels
from deployer.core.events import Note, Report
from deployer.core.state import ContainerInfo
from deployer.core.status import LogLine
from deployer.deploy.lock import DeployLock
from deployer.engine import Engine
from deployer.model.errors import NotFound
from deployer.targets.engine import replicas
from deployer.targets.engine.logs import stack_lines
from deployer.targets.engine.observe import observe

LOCK_TIMEOUT = 600.0
POLL_SECONDS = 0.3  # how often the replicas' states are read while their lines stream
# After a container exited, its last lines are read before the streams stop: the engine ends
# that container's stream at its exit, so a short quiet spell means nothing more is coming.
DRAIN_QUIET_SECONDS = 0.5
ENDED = {"exited", "dead"}


@dataclass(frozen=True)
class Attach:
    abort_on_exit: bool = False  # stop every replica once one container exits
    exit_code_from: str | None = None  # that service's exit code becomes deployer's


def attach(
    engine: Engine,
    stack: str,
    since: str | None,
    how: Attach,
    show: Callable[[LogLine], None],
    report: Report,
) -> int:
    """Stream the stack's lines from `since` on. Without abort: until Ctrl-C, exit 0, the stack
    left running. With abort: until a replica exits; then stop the others and return the exit
    code of `exit_code_from`'s container, else of the one that exited first."""
    selector = labels.stack_filter(stack)
    if how.exit_code_from and not _of_service(engine.listed_containers(selector), how):
        raise NotFound(f"--exit-code-from {how.exit_code_from}: stack {stack} runs no such service")
    stop = threading.Event()
    seen = _Seen()
    if how.abort_on_exit:
        threading.Thread(target=_watch_exits, args=(engine, selector, seen, stop),
                         daemon=True).start()  # fmt: skip
    try:
        for line in stack_lines(engine, stack, follow=True, since=since, stop_event=stop):
            show(line)
            seen.last_line = time.monotonic()
    except KeyboardInterrupt:
        return 0  # the stack keeps running: `stop` or `down` ends it
    finally:
        stop.set()
    first_exit = seen.first_exit
    if not first_exit:
        return 0
    exited = first_exit[0]
    report(Note(f"{exited.name} exited; stopping the stack ({stack})"))
    with DeployLock(stack, LOCK_TIMEOUT, report, engine, "stop after an attached up"):
        observed = observe(engine, stack)
        every = {c.labels.get(labels.SERVICE, "") for c in observed.containers}
        replicas.stop(engine, observed, every, report)
    if how.exit_code_from:
        chosen = _of_service(engine.listed_containers(selector), how)
        if not chosen:  # removed meanwhile (by another `down`)
            raise NotFound(f"--exit-code-from {how.exit_code_from}: its container is gone")
        return engine.inspect_container(chosen[0].id).exit_code
    return engine.inspect_container(exited.id).exit_code


def _of_service(containers: list[ContainerInfo], how: Attach) -> list[ContainerInfo]:
    return [
        c for c in containers
        if c.labels.get(labels.SERVICE) == how.exit_code_from and labels.ONE_OFF not in c.labels
    ]  # fmt: skip


class _Seen:
    """What the streaming and the watching threads share."""

    def __init__(self) -> None:
        self.last_line = time.monotonic()
        self.first_exit: list[ContainerInfo] = []


def _watch_exits(
    engine: Engine, selector: dict[str, list[str]], seen: _Seen, stop: threading.Event
) -> None:
    """Until a replica has ended: note the first, then end the streams once its last lines are
    in (no line for a quiet spell: the engine closes a stream at its container's exit)."""
    while not stop.is_set() and not seen.first_exit:
        current = [c for c in engine.listed_containers(selector) if labels.ONE_OFF not in c.labels]
        ended = [c for c in current if c.state in ENDED]
        if ended:
            seen.first_exit.append(ended[0])
        else:
            stop.wait(POLL_SECONDS)
    while not stop.is_set():
        if time.monotonic() - seen.last_line > DRAIN_QUIET_SECONDS:
            stop.set()
        stop.wait(0.1)
