"""Progress as data: every step of a build, deploy or removal is a typed event sent to one sink.

The CLI renders events for people (`text()`), or as JSON lines with --json (`as_data()`); API
callers pass a sink of their own, or get them through `logging` (logger "deployer"). `str()` of
an event is its text, so `report=print` still reads well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from deployer.core.plan import Plan


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def text(self) -> str:
        """One or more lines for people; empty for events only scripts care about."""
        raise NotImplementedError

    def as_data(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}

    def __str__(self) -> str:
        return self.text()


Report = Callable[[Event], None]
"""Where events go: the one sink type of deployer."""


def quiet(event: Event) -> None:
    """A sink that drops everything."""
    return None


_LOG = logging.getLogger("deployer")


def log(event: Event) -> None:
    """The API's default sink: INFO records on the "deployer" logger (silent unless configured)."""
    if _LOG.isEnabledFor(logging.INFO):
        text = event.text()
        if text:
            _LOG.info("%s", text, extra={"deployer_event": event.as_data()})


@dataclass(frozen=True)
class PlanMade(Event):
    kind: ClassVar[str] = "plan"
    plan: Plan

    def text(self) -> str:
        return self.plan.text()

    def as_data(self) -> dict[str, Any]:
        return {"event": self.kind, **self.plan.as_data()}


@dataclass(frozen=True)
class Note(Event):
    """A step worth a line that fits no other event (rolling back, removing a test stack)."""

    kind: ClassVar[str] = "note"
    message: str

    def text(self) -> str:
        return self.message


@dataclass(frozen=True)
class Warning(Event):
    kind: ClassVar[str] = "warning"
    message: str

    def text(self) -> str:
        return f"warning: {self.message}"


@dataclass(frozen=True)
class LockWaiting(Event):
    kind: ClassVar[str] = "lock-waiting"
    stack: str
    holder: str

    def text(self) -> str:
        return f"waiting for the deploy lock of stack {self.stack} ({self.holder})"


@dataclass(frozen=True)
class ImageBuilding(Event):
    kind: ClassVar[str] = "image-building"
    service: str
    tag: str

    def text(self) -> str:
        return f"{self.service}: building {self.tag}"


@dataclass(frozen=True)
class ImageUpToDate(Event):
    kind: ClassVar[str] = "image-up-to-date"
    service: str
    tag: str

    def text(self) -> str:
        return f"{self.service}: image {self.tag} is up to date"


@dataclass(frozen=True)
class BuildOutput(Event):
    """A line of a build (docker build, mmdebstrap, pip download), by what it builds."""

    kind: ClassVar[str] = "build-output"
    source: str
    line: str

    def text(self) -> str:
        return f"{self.source}: {self.line}"


@dataclass(frozen=True)
class Pulling(Event):
    kind: ClassVar[str] = "pulling"
    reference: str

    def text(self) -> str:
        return f"{self.reference}: pulling"


@dataclass(frozen=True)
class ObjectCreated(Event):
    kind: ClassVar[str] = "created"
    what: str  # network, volume
    name: str

    def text(self) -> str:
        return f"{self.what} {self.name} created"


@dataclass(frozen=True)
class ObjectRemoved(Event):
    kind: ClassVar[str] = "removed"
    what: str  # network, volume, image
    name: str

    def text(self) -> str:
        return f"{self.what} {self.name} removed"


@dataclass(frozen=True)
class ContainerCreated(Event):
    kind: ClassVar[str] = "container-created"
    name: str

    def text(self) -> str:
        return ""  # always followed by ContainerStarted: one line for people


@dataclass(frozen=True)
class ContainerStarted(Event):
    kind: ClassVar[str] = "container-started"
    name: str
    reason: str

    def text(self) -> str:
        return f"{self.name} started ({self.reason})"


@dataclass(frozen=True)
class ContainerReady(Event):
    kind: ClassVar[str] = "container-ready"
    name: str
    health: str  # healthy, or "" when it has no healthcheck (ready = running)
    seconds: float
    probed: bool = False  # its healthcheck passed when deployer ran it early, through exec

    def text(self) -> str:
        early = " (its healthcheck, run early)" if self.probed else ""
        return f"{self.name} {self.health or 'running'} after {self.seconds:.1f}s{early}"


@dataclass(frozen=True)
class ContainerUnhealthy(Event):
    kind: ClassVar[str] = "container-unhealthy"
    name: str
    problem: str

    def text(self) -> str:
        return f"{self.name} {self.problem}"


@dataclass(frozen=True)
class ContainerRenamed(Event):
    kind: ClassVar[str] = "container-renamed"
    old: str
    new: str

    def text(self) -> str:
        return f"{self.old} renamed to {self.new}"


@dataclass(frozen=True)
class ContainerRemoved(Event):
    kind: ClassVar[str] = "container-removed"
    name: str
    reason: str

    def text(self) -> str:
        return f"{self.name} removed ({self.reason})"


@dataclass(frozen=True)
class Restoring(Event):
    kind: ClassVar[str] = "restoring"
    service: str

    def text(self) -> str:
        return f"{self.service}: new version failed; restoring the previous one"


@dataclass(frozen=True)
class SlotSwapped(Event):
    kind: ClassVar[str] = "slot-swapped"
    replica: int
    socket: str

    def text(self) -> str:
        return f"slot {self.replica} now routes to {self.socket}"


@dataclass(frozen=True)
class ProxyReloaded(Event):
    kind: ClassVar[str] = "proxy-reloaded"
    proxy: str
    upstream: tuple[str, ...]

    def text(self) -> str:
        return f"{self.proxy} reloaded, upstream: {', '.join(self.upstream)}"


@dataclass(frozen=True)
class Drained(Event):
    """A reloaded proxy's retired workers finished their requests (or the wait gave up)."""

    kind: ClassVar[str] = "drained"
    proxy: str
    seconds: float
    complete: bool

    def text(self) -> str:
        if self.complete:
            return ""
        return f"{self.proxy}: old workers still busy after {self.seconds:.0f}s; going on"
