"""Progress for people on a terminal: one live line per thing under way, redrawn in place
(building step n/m, pulling, starting, waiting for health with the seconds so far), each
collapsing into one summary line when done. Elsewhere: plain lines, or JSON lines (--json).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from deployer.cli.output import Progress

if TYPE_CHECKING:
    from deployer.core.events import Report


@contextmanager
def progress(json_lines: bool = False, quiet: bool = False) -> Iterator[Report]:
    """The sink for a command's events: live on a terminal, plain lines or JSON lines else."""
    if json_lines or quiet or not sys.stderr.isatty():
        yield Progress(quiet=quiet, json_lines=json_lines)
        return
    from rich.console import Console  # only for a terminal: the import costs ~40 ms

    from deployer.cli.live import LiveProgress

    live = LiveProgress(Console(stderr=True))
    live.live.start()
    try:
        yield live
    finally:
        live.finish()
