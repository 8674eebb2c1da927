"""Presentation for people: tables, progress lines. No decisions here."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deployer.core.events import Event
    from deployer.core.status import ReplicaStatus
    from deployer.operate import ReplicaStats, StackSummary
from deployer.model.units import format_duration


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def status_table(replicas: list[ReplicaStatus]) -> str:
    headers = ["SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS", "IMAGE", "RESTARTS", "UPTIME"]
    rows = [
        [
            r.service,
            r.container,
            r.state,
            # Docker's word; "starting (probe passed)": deployer ran its healthcheck early.
            f"{r.health} (probe passed)" if r.probed else r.health,
            ", ".join(f"{p.host_ip}:{p.host_port}->{p.container_port}" for p in r.ports) or "-",
            r.image,
            f"{r.restart_count} (OOM-killed)" if r.oom_killed else str(r.restart_count),
            format_duration(timedelta(seconds=r.uptime_seconds))
            if r.uptime_seconds is not None
            else "-",
        ]
        for r in replicas
    ]
    problems = [f"{r.container}: {r.problem}" for r in replicas if r.problem]
    return "\n".join([table(headers, rows), *problems])


def stack_list_table(stacks: list[StackSummary]) -> str:
    rows = []
    for stack in stacks:
        services = ", ".join(
            f"{name} {running}/{total}" + (f" ({healthy} healthy)" if healthy != running else "")
            for name, (running, healthy, total) in sorted(stack.services.items())
        )
        rows.append([stack.name, services, ", ".join(stack.ports) or "-"])
    return table(["STACK", "SERVICES (RUNNING/REPLICAS)", "PORTS"], rows)


def stats_table(stats: list[ReplicaStats]) -> str:
    rows = [
        [
            s.container,
            f"{s.stats.cpu_percent:.1f}%",
            f"{s.stats.memory_bytes / 2**20:.1f} MiB"
            + (f" / {s.stats.memory_limit_bytes / 2**20:.0f} MiB"
               if s.stats.memory_limit_bytes else ""),
        ]
        for s in stats
    ]  # fmt: skip
    return table(["CONTAINER", "CPU", "MEMORY"], rows)


class Progress:
    """Events on stderr, so stdout stays clean for results and --json: timestamped lines for
    people, or one JSON object per event (`json_lines`)."""

    def __init__(self, quiet: bool = False, json_lines: bool = False) -> None:
        self.started = time.monotonic()
        self.quiet = quiet
        self.json_lines = json_lines

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        elapsed = time.monotonic() - self.started
        if self.json_lines:
            data = {"elapsed": round(elapsed, 3), **event.as_data()}
            print(json.dumps(data, default=str), file=sys.stderr, flush=True)
            return
        for line in event.text().rstrip("\n").splitlines():
            if line.strip():
                print(f"[{elapsed:6.1f}s] {line}", file=sys.stderr, flush=True)
