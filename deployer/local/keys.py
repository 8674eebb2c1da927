"""This user's key for naming swarm secrets: a keyed digest of a secret's content names it, so
that `docker secret ls` (which anyone with the API sees) cannot be used to guess a weak
password by hashing candidates. Kept 0600 in the private config folder, made on first use.

Another machine or user deploying the same stack has another key: its names differ, so its
first deploy replaces the secrets once (a rolling update), and is a no-op after that.
"""

from __future__ import annotations

from deployer.local.private import config_dir, kept_key


def object_key() -> bytes:
    return kept_key(config_dir("keys"), "swarm-objects")
