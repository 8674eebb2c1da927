"""This user's key for naming swarm secrets: a keyed digest of a secret's content names it, so
that `docker secret ls` (which anyone with the API sees) cannot be used to guess a weak
password by hashing candidates. Kept 0600 in the private config folder, made on first use.

Another machine or user deploying the same stack has another key: its names differ, so its
first deploy replaces the secrets once (a rolling update), and is a no-op after that.
"""

from __future__ import annotations

import os
import secrets

from deployer.local.private import config_dir, open_private_file

_KEY_BYTES = 32


def object_key() -> bytes:
    folder = config_dir("keys")
    fd = open_private_file(folder, "swarm-objects", os.O_RDWR | os.O_CREAT)
    with os.fdopen(fd, "r+b") as file:
        key = file.read()
        if len(key) != _KEY_BYTES:
            key = secrets.token_bytes(_KEY_BYTES)
            file.seek(0)
            file.truncate()
            file.write(key)
    return key
