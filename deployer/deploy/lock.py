"""One deploy at a time per stack and engine: an flock'd file on this host.

The kernel drops an flock when its holder dies, however it dies, so a lock left by a killed
process is simply taken over; the holder's note in the file says who that was.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from deployer.core.events import LockWaiting, Report, Warning
from deployer.model.errors import LockBusy

POLL_SECONDS = 0.2


def lock_path(stack: str) -> Path:
    # Not under $TMPDIR: two shells with different TMPDIRs must still find the same lock.
    shared = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
    folder = Path(os.environ.get("DEPLOYER_LOCK_DIR") or shared / "deployer-locks")
    engine = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.environ.get("DOCKER_HOST", "default"))
    return folder / f"{engine}--{stack}.lock"


class DeployLock:
    def __init__(self, stack: str, timeout: float, report: Report) -> None:
        self.stack = stack
        self.timeout = timeout
        self.report = report
        self.path = lock_path(stack)
        self.fd = -1

    def __enter__(self) -> DeployLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
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
        return os.pread(self.fd, 512, 0).decode(errors="replace").strip()

    @staticmethod
    def _own_note() -> str:
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"held by pid {os.getpid()} on {socket.gethostname()} since {since}"
