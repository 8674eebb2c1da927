"""Passwords for registries that deployer made itself (the test cluster's), kept in a private
folder (0600 files): pushes and the swarm's pulls use them; any other registry's come from the
Docker config (`docker login`), as the Docker CLI's do."""

from __future__ import annotations

import json
import os
import re

from deployer.local.private import open_private_file, runtime_dir
from deployer.model.errors import LocalFileError


def _file_name(registry: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", registry) + ".json"


def credentials(registry: str) -> dict[str, str] | None:
    """{"username", "password", "serveraddress", ...} for `registry` (host:port), if deployer
    keeps its password."""
    folder = runtime_dir("registries")
    try:
        fd = open_private_file(folder, _file_name(registry), os.O_RDONLY)
    except LocalFileError:
        if not (folder / _file_name(registry)).exists():
            return None
        raise
    with os.fdopen(fd, encoding="utf-8") as file:
        try:
            found = json.load(file)
        except ValueError:
            return None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None


def save_credentials(registry: str, values: dict[str, str]) -> None:
    folder = runtime_dir("registries")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with os.fdopen(open_private_file(folder, _file_name(registry), flags), "w") as file:
        json.dump(values, file)


def forget(registry: str) -> None:
    (runtime_dir("registries") / _file_name(registry)).unlink(missing_ok=True)
