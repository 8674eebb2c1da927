"""How Compose files are read (Compose's --env-file and --profile): shared by the loader, the
Compose reader and the CLI, owned by none of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ComposeOptions:
    """How Compose files are read: Compose's --env-file and --profile."""

    env_files: tuple[Path, ...] = ()  # none: the .env beside the first file, if there is one
    profiles: tuple[str, ...] = ()  # none: $COMPOSE_PROFILES
    environment: Mapping[str, str] | None = None  # what ${VAR} reads first; None: os.environ
