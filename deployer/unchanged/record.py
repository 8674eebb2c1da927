"""The records a full `up` leaves for the fast answer: one JSON file per command line, in this
user's private cache folder (deployer.local.private), beside the key that names them."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from deployer.local.private import cache_dir, kept_key, open_private_file
from deployer.model.errors import DeployerError

FORMAT = 1
KEY_NAME = "key"  # the records' key, beside them in the same folder
KEEP_DAYS = 30  # a record not rewritten for this long is dropped when another one is written


def _folder() -> Path:
    return cache_dir("unchanged")


def key() -> bytes:
    """This user's key for the records' names and digests, made on first use."""
    return kept_key(_folder(), KEY_NAME)


def read(name: str) -> dict[str, Any] | None:
    """The record of that name; None when there is none (or it cannot be read as one)."""
    try:
        fd = open_private_file(_folder(), name, os.O_RDONLY)
    except DeployerError:
        return None
    with os.fdopen(fd, "rb") as file:
        try:
            found = json.loads(file.read())
        except ValueError:
            return None
    return found if isinstance(found, dict) and found.get("format") == FORMAT else None


def write(name: str, record: dict[str, Any]) -> None:
    """Replace the record of that name at once (a reader sees the old one or the new one), and
    drop the records not rewritten for KEEP_DAYS (their folders gone, say): dropping one only
    makes its command line's next `up` run in full."""
    folder = _folder()
    temporary = f"{name}.{os.getpid()}.new"
    fd = open_private_file(folder, temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w") as file:
        json.dump({"format": FORMAT, **record}, file)
    os.replace(folder / temporary, folder / name)
    stale = time.time() - KEEP_DAYS * 86400
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name != KEY_NAME and entry.stat(follow_symlinks=False).st_mtime < stale:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def forget(name: str) -> None:
    """No record of that name any more: the next command runs in full."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_folder() / name)
