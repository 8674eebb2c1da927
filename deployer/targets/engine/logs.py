"""A stack's logs: every replica's lines interleaved in time order, and followed live.

Following picks up containers that appear meanwhile (a rollout's successors, a scale-up), each
read by its own thread into one queue, so a quiet replica never holds up a busy one.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

from deployer.core import labels
from deployer.core.state import ContainerInfo, replica_of
from deployer.core.status import LogLine, since_seconds
from deployer.engine import Engine
from deployer.engine.inspect import timestamp
from deployer.model.errors import DeployerError
from deployer.targets.engine.observe import named_services, observe

RESCAN_SECONDS = 1.0  # how often a follow looks for new containers


def parse(container: ContainerInfo, raw: str) -> LogLine:
    """An engine log line ("<RFC 3339 time> <text>") of a container."""
    head, _, text = raw.partition(" ")
    when = timestamp(head)
    return LogLine(
        container=container.name,
        service=container.labels.get(labels.SERVICE, ""),
        replica=replica_of(container),
        time=when,
        text=text if when is not None else raw,
    )


def _order(line: LogLine) -> tuple[float, str]:
    return (line.time.timestamp() if line.time else 0.0, line.container)


def backlog(
    engine: Engine,
    containers: list[ContainerInfo],
    since: float | None,
    tail: int | None,
    until: float | None = None,
) -> list[LogLine]:
    """What the containers logged so far, merged in time order (stable within a container)."""
    found: list[LogLine] = []
    for container in containers:
        try:
            raw = engine.log_stream(container.id, follow=False, since=since, tail=tail, until=until)
            found += [parse(container, line) for line in raw]
        except DeployerError:
            continue  # removed meanwhile
    return sorted(found, key=_order)


def follow_lines(
    engine: Engine,
    list_containers: Callable[[], list[ContainerInfo]],
    since: float | None,
    tail: int | None,
    stop: threading.Event,
) -> Iterator[LogLine]:
    """The backlog in time order, then new lines as they come, until `stop` is set."""
    lines: queue.Queue[LogLine] = queue.Queue()
    watched: set[str] = set()
    first = list_containers()
    cutoff = time.time()  # the backlog ends here and the live streams begin: nothing twice
    yield from backlog(engine, first, since, tail, until=cutoff)
    started_at = {c.id: cutoff for c in first}

    def read(container: ContainerInfo, after: float | None) -> None:
        try:
            for raw in engine.log_stream(container.id, follow=True, since=after, tail=None):
                if stop.is_set():
                    return
                line = parse(container, raw)
                if after is None or line.time is None or line.time.timestamp() > after:
                    lines.put(line)
        except DeployerError:
            return  # the container went away: its stream ends

    def watch(containers: list[ContainerInfo]) -> None:
        for container in containers:
            if container.id in watched:
                continue
            watched.add(container.id)
            # Containers seen in the backlog continue after it; new ones from their first line.
            after = started_at.get(container.id)
            thread = threading.Thread(target=read, args=(container, after), daemon=True)
            thread.start()

    watch(first)
    next_scan = time.monotonic() + RESCAN_SECONDS
    while not stop.is_set():
        try:
            line: LogLine | None = lines.get(timeout=0.2)
        except queue.Empty:
            line = None
        if line is not None:
            yield line
        if time.monotonic() >= next_scan:
            watch(list_containers())
            next_scan = time.monotonic() + RESCAN_SECONDS


def stack_lines(
    engine: Engine,
    stack: str,
    services: list[str] | tuple[str, ...] = (),
    *,
    follow: bool = False,
    since: str | None = None,
    tail: int | None = None,
    stop_event: threading.Event | None = None,
) -> Iterator[LogLine]:
    """The stack's replicas' lines in time order; with `follow`, then live until `stop_event`
    (or the consumer stops iterating), taking in replicas that appear meanwhile."""
    wanted = named_services(observe(engine, stack), services) if services else None
    after = since_seconds(since)

    def current() -> list[ContainerInfo]:
        found = observe(engine, stack).containers
        return [c for c in found if wanted is None or c.labels.get(labels.SERVICE) in wanted]

    if not follow:
        yield from backlog(engine, current(), after, tail)
        return
    stop_event = stop_event or threading.Event()
    try:
        yield from follow_lines(engine, current, after, tail, stop_event)
    finally:
        stop_event.set()
