"""The live display of progress on a terminal (rich is imported only when there is one)."""

from __future__ import annotations

import re
import time

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from deployer.core import events
from deployer.core.events import Event

_STEP = re.compile(r"^Step (\d+)/(\d+) ")


class _Under:
    """What is under way, rendered fresh at every refresh (so the seconds tick)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, float]] = {}  # subject -> (what, since)

    def __rich__(self) -> Group:
        now = time.monotonic()
        return Group(
            *(
                Text.assemble(
                    ("  … ", "cyan"), (subject, "bold"), f" {what} ", (f"{now - since:.1f}s", "dim")
                )
                for subject, (what, since) in self.rows.items()
            )
        )


class LiveProgress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.under = _Under()
        self.live = Live(self.under, console=console, refresh_per_second=8, transient=True)

    def _doing(self, subject: str, what: str, keep_clock: bool = False) -> None:
        since = self.under.rows.get(subject, (what, time.monotonic()))[1]
        self.under.rows[subject] = (what, since if keep_clock else time.monotonic())

    def _done(self, subject: str, line: str, style: str = "green", mark: str = "✓") -> None:
        self.under.rows.pop(subject, None)
        self._line(Text.assemble((f"  {mark} ", style), line))

    def _line(self, text: Text | str) -> None:
        elapsed = time.monotonic() - self.started
        self.console.print(Text.assemble((f"[{elapsed:6.1f}s] ", "dim"), text))

    def __call__(self, event: Event) -> None:
        if isinstance(event, events.ImageBuilding):
            self._doing(event.service, f"building {event.tag}")
        elif isinstance(event, events.BuildOutput):
            step = _STEP.match(event.line)
            if step and event.source in self.under.rows:
                self._doing(event.source, f"building step {step[1]}/{step[2]}", keep_clock=True)
            elif event.source not in self.under.rows:
                self._doing(event.source, event.line[:60])
        elif isinstance(event, events.ImageUpToDate):
            self._done(event.service, f"{event.service}: image {event.tag} is up to date")
        elif isinstance(event, events.Pulling):
            self._doing(event.reference, "pulling")
        elif isinstance(event, events.ContainerCreated):
            self._doing(event.name, "starting")
        elif isinstance(event, events.ContainerStarted):
            self._doing(event.name, f"started ({event.reason}), waiting for health")
        elif isinstance(event, events.ContainerReady):
            self._done(event.name, event.text())
        elif isinstance(event, events.ContainerUnhealthy):
            self._done(event.name, event.text(), style="red", mark="✗")
        else:
            text = event.text()
            if text:
                self._line(text)

    def finish(self) -> None:
        self.live.stop()  # transient: what was still under way (a failure) leaves no row
