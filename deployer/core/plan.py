"""A plan: the actions `up` would take, each with its cause, printable as text or data.

Causes are data (a kind, the fields that changed, a detail); deploy steps decide on the kind,
and only `text()` turns them into words for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    CREATE_NETWORK = "create network"
    CREATE_VOLUME = "create volume"
    CREATE = "create"
    RECREATE = "recreate"
    UPDATE = "update"  # a Swarm service: the swarm rolls its tasks itself
    START = "start"
    RENAME = "rename"
    ROUTE = "route"  # point a replica slot of a socket proxy back at its replica
    REMOVE = "remove"
    REMOVE_NETWORK = "remove network"
    REMOVE_VOLUME = "remove volume"


class CauseKind(StrEnum):
    NOT_FOUND = "not found"
    CONFIG_CHANGED = "config changed"
    IMAGE_REBUILT = "image rebuilt"
    IMAGE_CHANGED = "image changed"
    SCALED = "replicas"
    INTERRUPTED = "left over from an interrupted update"
    # Created but never started: a deploy killed before it wrote the container's files
    # (secrets, configs, the proxy's config) and started it; it cannot be trusted as current.
    NEVER_STARTED = "never started (left by an interrupted deploy)"
    STOPPED = "stopped"
    NO_LONGER_IN_STACK = "no longer in stack"
    ROUTE_MISSING = "route missing"
    FORCED = "forced"  # up --force-recreate
    DOWN = "down"
    ROLLBACK = "back to the previous spec"  # a Swarm service's PreviousSpec


@dataclass(frozen=True)
class Cause:
    kind: CauseKind
    changed: tuple[str, ...] = ()  # CONFIG_CHANGED: the configuration fields that differ
    # SCALED: "2 → 3"; STOPPED: the container's state; ROUTE_MISSING: what is wrong with it
    detail: str = ""

    def text(self) -> str:
        if self.kind in (CauseKind.CONFIG_CHANGED, CauseKind.ROLLBACK) and self.changed:
            return f"{self.kind.value}: {', '.join(self.changed)}"
        if self.kind is CauseKind.SCALED:
            return f"replicas {self.detail}"
        if self.kind is CauseKind.STOPPED:
            return self.detail or self.kind.value
        if self.kind is CauseKind.ROUTE_MISSING and self.detail:
            return f"{self.kind.value}: {self.detail}"
        return self.kind.value


@dataclass(frozen=True)
class Action:
    kind: Kind
    resource: str  # container or network name
    cause: Cause
    service: str = ""
    replica: int = 0
    # The engine's id of the existing object the action replaces, starts, updates or removes:
    # a container on one engine; a service or network on a swarm.
    object_id: str = ""
    # RECREATE only: why the old container stops before the new one starts ("" = start-first)
    stop_first_reason: str = ""

    @property
    def stop_first(self) -> bool:
        return bool(self.stop_first_reason)

    def why(self) -> str:
        reason = f"; {self.stop_first_reason}" if self.stop_first_reason else ""
        return self.cause.text() + reason

    def text(self) -> str:
        return f"{self.kind.value:<15} {self.resource:<32} ({self.why()})"

    def as_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "resource": self.resource,
            "cause": self.why(),
            "cause_kind": self.cause.kind.value,
            "changed": list(self.cause.changed),
            "service": self.service,
            "replica": self.replica,
            "object_id": self.object_id,
            "stop_first": self.stop_first,
        }


@dataclass(frozen=True)
class Plan:
    stack: str
    actions: list[Action] = field(default_factory=list)
    # Services whose containers all match already: nothing to do but make sure they are healthy.
    unchanged: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.actions

    def for_service(self, service: str) -> list[Action]:
        return [action for action in self.actions if action.service == service]

    def text(self) -> str:
        if self.empty:
            return f"stack {self.stack}: nothing to do"
        lines = [f"stack {self.stack}: {len(self.actions)} action(s)"]
        lines += [f"  {action.text()}" for action in self.actions]
        return "\n".join(lines)

    def as_data(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "actions": [action.as_data() for action in self.actions],
            "unchanged": self.unchanged,
        }
