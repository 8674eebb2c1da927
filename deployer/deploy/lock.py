"""One deploy at a time per stack and engine: a lock that lives on the engine itself.

The lock is a marker the engine creates by name (a container that never runs): creating a name
that exists answers 409, so of two deployers, wherever they run and however they spell the
engine's address, exactly one gets it. The marker's labels say who holds it, since when and
for what; the holder renews a lease on it while it works, and releases it on every way out.

A holder that died is noticed two ways: on the machine it ran on, its pid is gone (taken over at
once); anywhere else, its lease stops moving for LEASE_SECONDS (measured on the waiter's own
clock, so two machines' clocks never have to agree).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from deployer.core import labels
from deployer.core.events import LockWaiting, Report, Warning
from deployer.engine.protocol import Claim, Engine
from deployer.model.errors import DeployerError, LockBusy

POLL_SECONDS = 0.5
LEASE_SECONDS = 20.0  # a lease that has not moved for this long belongs to a holder that is gone
RENEW_SECONDS = LEASE_SECONDS / 4


def this_machine() -> str:
    """A short id of this machine (its machine-id hashed; the host name without one)."""
    try:
        seed = Path("/etc/machine-id").read_text().strip()
    except OSError:
        seed = ""
    return hashlib.sha256((seed or socket.gethostname()).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, read from its marker's labels."""

    pid: int
    host: str
    machine: str
    since: str
    what: str

    @classmethod
    def of(cls, claim: Claim) -> Holder:
        found = claim.labels
        pid = found.get(labels.LOCK_PID, "")
        return cls(
            pid=int(pid) if pid.isdigit() else 0,
            host=found.get(labels.LOCK_HOST, "?"),
            machine=found.get(labels.LOCK_MACHINE, ""),
            since=found.get(labels.LOCK_SINCE, "?"),
            what=found.get(labels.LOCK_WHAT, "a deploy"),
        )

    def text(self) -> str:
        return f"{self.what} by pid {self.pid} on {self.host}, since {self.since}"

    def gone_from_here(self) -> bool:
        """Its process was on this machine and is no longer running."""
        if self.machine != this_machine() or self.pid <= 0:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # another user's live process
            return False
        return False


class DeployLock:
    def __init__(
        self, stack: str, timeout: float, report: Report, engine: Engine, what: str = "deploy"
    ) -> None:
        """The lock of `stack` on `engine`, for `what` (up, down, ...): wait up to `timeout`
        seconds for another holder, then LockBusy (exit 8)."""
        self.stack = stack
        self.timeout = timeout
        self.report = report
        self.engine = engine
        self.what = what
        self.claim_id = ""
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _labels(self) -> dict[str, str]:
        return {
            labels.LOCK: self.stack,
            labels.LOCK_PID: str(os.getpid()),
            labels.LOCK_HOST: socket.gethostname(),
            labels.LOCK_MACHINE: this_machine(),
            labels.LOCK_SINCE: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            labels.LOCK_WHAT: self.what,
        }

    def __enter__(self) -> DeployLock:
        name = labels.lock_name(self.stack)
        deadline = time.monotonic() + self.timeout
        told = False
        seen: tuple[str, int] | None = None  # the holder's claim and lease, as last read
        seen_at = time.monotonic()
        while True:
            claim_id = self.engine.claim(name, self._labels())
            if claim_id:
                self.claim_id = claim_id
                break
            held = self.engine.claim_info(name)
            if held is None:
                continue  # released between the two calls: try again at once
            holder = Holder.of(held)
            now = time.monotonic()
            if seen != (held.id, held.lease):
                seen, seen_at = (held.id, held.lease), now
            gone = holder.gone_from_here()
            if gone or now - seen_at >= LEASE_SECONDS:
                why = "its process is gone" if gone else "its lease ran out"
                self.report(Warning(f"took over the deploy lock of {holder.text()} ({why})"))
                self.engine.release_claim(held.id)  # by id: never a newer holder's marker
                continue
            if now >= deadline:
                raise LockBusy(
                    f"another deploy of stack {self.stack} is running ({holder.text()}); gave "
                    f"up after {self.timeout:.0f}s",
                    hint="wait for it to finish, or pass a longer --lock-timeout",
                )
            if not told:
                self.report(LockWaiting(self.stack, holder.text()))
                told = True
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - now)))
        self._renewer = threading.Thread(target=self._renew, name="deploy-lock-lease", daemon=True)
        self._renewer.start()
        return self

    def _renew(self) -> None:
        lease = 0
        while not self._stop.wait(RENEW_SECONDS):
            lease += 1
            try:
                self.engine.renew_claim(self.claim_id, lease)
            except DeployerError:
                return  # the engine is out of reach: the deploy itself fails and says so

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            self.engine.release_claim(self.claim_id)
        except DeployerError as failed:
            # The engine went away (the SSH link dropped, say): the next deploy takes the lock
            # over, from this machine at once, from elsewhere when the lease runs out.
            self.report(Warning(f"could not release the deploy lock of {self.stack}: {failed}"))
