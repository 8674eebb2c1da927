"""One deploy at a time per stack and engine: an flock'd file on this host.

The kernel drops an flock when its holder dies, however it dies, so a lock left by a killed
process is simply taken over; the holder's note in the file says who that was.

The file lives in this user's private runtime folder (deployer.local.private), never in a folder
another user can write, and is keyed on the engine's own id: however DOCKER_HOST spells it, one
engine is one lock.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from deployer.core.events import LockWaiting, Report, Warning
from deployer.local.private import open_private_file, private_dir, runtime_dir
from deployer.model.errors import LockBusy

POLL_SECONDS = 0.2
_NOTE_BYTES = 512


def lock_path(stack: str, engine_id: str) -> Path:
    """Where the lock of `stack` on the engine whose id is `engine_id` lives (the folder is
    made, private, if missing)."""
    chosen = os.environ.get("DEPLOYER_LOCK_DIR")
    folder = private_dir(Path(chosen)) if chosen else runtime_dir("locks")
    engine = re.sub(r"[^A-Za-z0-9_.-]+", "_", engine_id or "default")
    return folder / f"{engine}--{stack}.lock"


class DeployLock:
    def __init__(self, stack: str, timeout: float, report: Report, engine_id: str = "") -> None:
        """`engine_id`: the engine's own id (Engine.identity()), so that two spellings of one
        engine's address share the lock."""
        self.stack = stack
        self.timeout = timeout
        self.report = report
        self.engine_id = engine_id
        self.fd = -1

    def __enter__(self) -> DeployLock:
        path = lock_path(self.stack, self.engine_id)
        self.fd = open_private_file(path.parent, path.name)
        deadline = time.monotonic() + self.timeout
        told = False
        while not self._try():
            holder = self._note()
            if time.monotonic() >= deadline:
                os.close(self.fd)
                raise LockBusy(
                    f"another deploy of stack {self.stack} is running ({holder}); gave up after "
                    f"{self.timeout:.0f}s",
                    hint="wait for it to finish, or pass a longer --lock-timeout",
                )
            if not told:
                self.report(LockWaiting(self.stack, holder))
                told = True
            time.sleep(POLL_SECONDS)
        previous = self._note()
        if previous:
            self.report(
                Warning(f"took over a stale deploy lock ({previous}; that process is gone)")
            )
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, self._own_note().encode(), 0)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        os.ftruncate(self.fd, 0)  # an empty note means the lock was released cleanly
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)

    def _try(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _note(self) -> str:
        text = os.pread(self.fd, _NOTE_BYTES, 0).decode(errors="replace").strip()
        return "".join(ch if ch.isprintable() else "?" for ch in text)

    @staticmethod
    def _own_note() -> str:
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"held by pid {os.getpid()} on {socket.gethostname()} since {since}"
