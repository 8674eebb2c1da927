"""A plan: the actions `up` would take, each with its cause, printable as text or data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    CREATE_NETWORK = "create network"
    CREATE_VOLUME = "create volume"
    CREATE = "create"
    RECREATE = "recreate"
    START = "start"
    RENAME = "rename"
    ROUTE = "route"  # point a replica slot of a socket proxy back at its replica
    REMOVE = "remove"
    REMOVE_NETWORK = "remove network"
    REMOVE_VOLUME = "remove volume"


@dataclass(frozen=True)
class Action:
    kind: Kind
    resource: str  # container or network name
    cause: str
    service: str = ""
    replica: int = 0
    container_id: str = ""  # the existing container this action replaces, starts or removes
    stop_first: bool = False  # RECREATE only: the old container stops before the new one starts

    def text(self) -> str:
        return f"{self.kind.value:<15} {self.resource:<32} ({self.cause})"


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
            "actions": [{**asdict(action), "kind": action.kind.value} for action in self.actions],
            "unchanged": self.unchanged,
        }
