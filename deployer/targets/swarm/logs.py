"""A Swarm stack's logs: every task's lines from every node, interleaved in time order, and
followed live. The manager gathers a service's lines from its nodes; each line names its task
and node, which become the line's `service.slot@node` name."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

from deployer.core.status import LogLine
from deployer.core.swarm_objects import ServiceInfo
from deployer.engine.inspect import timestamp
from deployer.engine.protocol import SwarmEngine
from deployer.model.errors import DeployerError
from deployer.targets.swarm.state import SwarmObserved

_TASK = "com.docker.swarm.task.id"
_NODE = "com.docker.swarm.node.id"


def parse(raw: str, service: str, observed: SwarmObserved) -> LogLine:
    """A line of the service-logs API with details: "<time> <k=v,k=v> <text>"."""
    head, _, rest = raw.partition(" ")
    when = timestamp(head)
    if when is None:  # the manager's own words, e.g. about a node it cannot reach
        return LogLine(container=service, service=service, replica=0, time=None, text=raw)
    details, _, text = rest.partition(" ")
    if _TASK not in details:
        details, text = "", rest
    fields = dict(item.partition("=")[::2] for item in details.split(",") if item)
    task = observed.tasks_by_id.get(fields.get(_TASK, ""))
    node = observed.hostname(fields.get(_NODE, "")) if fields.get(_NODE) else "?"
    slot = task.slot if task is not None else 0
    name = f"{service}.{slot}@{node}" if slot else f"{service}@{node}"
    return LogLine(container=name, service=service, replica=slot, time=when, text=text)


def _order(line: LogLine) -> tuple[float, str]:
    return (line.time.timestamp() if line.time else 0.0, line.container)


def _read(
    engine: SwarmEngine,
    service: ServiceInfo,
    name: str,
    observed: SwarmObserved,
    *,
    follow: bool,
    since: float | None,
    tail: int | None,
) -> Iterator[LogLine]:
    raw = engine.service_log_stream(service.id, follow=follow, since=since, tail=tail)
    return (parse(line, name, observed) for line in raw if line.strip())


def backlog(
    engine: SwarmEngine,
    observed: SwarmObserved,
    services: dict[str, ServiceInfo],
    since: float | None,
    tail: int | None,
    until: float | None = None,
) -> list[LogLine]:
    """What the services' tasks logged so far, merged in time order."""
    found: list[LogLine] = []
    for name, service in services.items():
        try:
            lines = _read(engine, service, name, observed, follow=False, since=since, tail=tail)
            found += [line for line in lines if until is None or not _after(line, until)]
        except DeployerError:
            continue  # removed meanwhile
    return sorted(found, key=_order)


def _after(line: LogLine, moment: float) -> bool:
    return line.time is not None and line.time.timestamp() > moment


def follow(
    engine: SwarmEngine,
    observed: SwarmObserved,
    services: dict[str, ServiceInfo],
    since: float | None,
    tail: int | None,
    stop: threading.Event,
) -> Iterator[LogLine]:
    """The backlog in time order, then new lines as they come (a service's stream takes in
    the tasks an update or a lost node brings), until `stop` is set."""
    cutoff = time.time()  # the backlog ends here and the live streams begin: nothing twice
    yield from backlog(engine, observed, services, since, tail, until=cutoff)
    lines: queue.Queue[LogLine] = queue.Queue()

    def read(name: str, service: ServiceInfo) -> None:
        try:
            live = _read(engine, service, name, observed, follow=True, since=int(cutoff), tail=None)
            for line in live:
                if stop.is_set():
                    return
                if _after(line, cutoff):
                    lines.put(line)
        except DeployerError:
            return  # the service went away: its stream ends

    for name, service in services.items():
        threading.Thread(target=read, args=(name, service), daemon=True).start()
    while not stop.is_set():
        try:
            yield lines.get(timeout=0.2)
        except queue.Empty:
            continue
