"""What a stack was made from, and a keyed digest that changes when any of it does.

While a full `up` loads its stack and builds its images, an audit hook notes every file it opens
for reading and every folder it lists, outside Python's own installation. The digest covers,
for each of those, its size, times and inode (and its folder's: a file made or removed beside it
counts), together with the environment, the command line and deployer's own sources.
"""

from __future__ import annotations

import os
import sys
import time

try:  # the keyed hash without loading OpenSSL's bindings (~6 ms of every fast answer)
    from _blake2 import blake2b
except ImportError:  # another Python than CPython
    from hashlib import blake2b

# Set by the shell for its own bookkeeping: they differ from one prompt to the next.
_VOLATILE = frozenset({"_", "OLDPWD", "PWD", "SHLVL", "COLUMNS", "LINES"})
RACY_NS = 1_000_000_000  # a path modified this recently is not yet trusted by its times
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SYSTEM = tuple(
    {os.path.join(p, "") for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    | {"/proc/", "/sys/", "/dev/", os.path.join(_PACKAGE, "")}
)


class Recorder:
    """The files and folders read while it records (one audit hook per process, kept for good:
    Python cannot remove one; it does nothing while no Recorder records)."""

    _active: Recorder | None = None
    _hooked = False

    def __init__(self, own: list[str] | None = None) -> None:
        # deployer's own files (locks, keys, this record) are not what a stack is made from.
        self.ignored = tuple(os.path.join(os.path.abspath(f), "") for f in own or [])
        # Each path and its folder as they were when first read: a file changed while the
        # command ran (after it was read) does not match its record afterwards.
        self.seen: dict[str, str] = {}
        # A path changed within the last second when it was read: changed again within the
        # same tick of the file system's clock, it could keep its times (git's "racily
        # clean" files). Such a run leaves no record; a later one, once it has settled, does.
        self.racy = False

    def __enter__(self) -> Recorder:
        if not Recorder._hooked:
            sys.addaudithook(_heard)
            Recorder._hooked = True
        Recorder._active = self
        return self

    def __exit__(self, *_: object) -> None:
        Recorder._active = None

    def note(self, path: str) -> None:
        """A file read, or a folder listed: the file and its folder (a file made beside it may
        be read instead next time), or the folder alone."""
        if path in self.seen or path.startswith(self.ignored):
            return
        self.seen[path] = self._stat(path)
        folder = os.path.dirname(path)
        if folder not in self.seen and not os.path.isdir(path):
            self.seen[folder] = self._stat(folder)

    def _stat(self, path: str) -> str:
        found = stat_of(path)
        modified = int(found.split(":")[1]) if found != "-" else 0
        self.racy = self.racy or modified > time.time_ns() - RACY_NS
        return found


def _heard(event: str, args: tuple[object, ...]) -> None:
    recorder = Recorder._active
    if recorder is None or event not in {"open", "os.listdir", "os.scandir"}:
        return
    path = args[0] if args else None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return  # a file descriptor: its path was noted when it was opened
    path = os.path.abspath(path)
    if path.startswith(_SYSTEM):
        return
    if event == "open":
        mode, flags = args[1], args[2]
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            return
        if isinstance(flags, int) and flags & _WRITES:
            return
    recorder.note(path)


def stat_of(path: str) -> str:
    try:
        found = os.stat(path)
    except OSError:
        return "-"
    return f"{found.st_size}:{found.st_mtime_ns}:{found.st_ctime_ns}:{found.st_ino}"


def _sources() -> list[str]:
    """deployer's own modules: a changed deployer may plan differently."""
    found = []
    for folder, subfolders, names in os.walk(_PACKAGE):
        subfolders[:] = sorted(s for s in subfolders if s != "__pycache__")
        found += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".py")]
    return found


def current(paths: list[str]) -> dict[str, str]:
    """How those paths are now."""
    return {path: stat_of(path) for path in paths}


def digest(key: bytes, identity: str, seen: dict[str, str]) -> str:
    """A keyed digest of the inputs: equal digests, equal stack (as far as files and variables
    can tell). Keyed: it can stand in a file without letting anyone test guesses of a value."""
    hashed = blake2b(key=key, digest_size=32)
    for part in [identity, *_environment()]:
        hashed.update(part.encode(errors="surrogateescape") + b"\0")
    sources = current(_sources())
    for path, found in [*sorted(seen.items()), *sources.items()]:
        hashed.update(f"{path}\0{found}\0".encode(errors="surrogateescape"))
    return hashed.hexdigest()


def _environment() -> list[str]:
    return [f"{k}={v}" for k, v in sorted(os.environ.items()) if k not in _VOLATILE]


def keyed_name(key: bytes, identity: str) -> str:
    """A file name for a record, that says nothing of the command line it is for."""
    hashed = blake2b(identity.encode(errors="surrogateescape"), key=key, digest_size=16)
    return hashed.hexdigest()
