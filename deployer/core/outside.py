"""Values from outside the stack files (the shell, `.env`, env files): finding them in what
deployer is about to write or print, so that it writes a reference or refuses instead."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def significant(value: str) -> bool:
    """A value worth guarding: short or numeric ones (a port, a replica count) are
    configuration, and would match by chance anywhere."""
    return len(value) >= 4 and not value.isdigit()


def guarded(values: Iterable[str]) -> list[str]:
    """The significant values, longest first (so a value inside another is found second)."""
    return sorted((v for v in values if significant(v)), key=len, reverse=True)


def paths_holding(data: Any, value: str, path: str = "") -> list[str]:
    """The dotted paths of the strings in `data` (dicts and lists) that contain `value`."""
    if isinstance(data, dict):
        return [
            found
            for key, item in data.items()
            for found in paths_holding(item, value, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(data, list | tuple):
        return [
            found
            for index, item in enumerate(data)
            for found in paths_holding(item, value, f"{path}.{index}")
        ]
    return [path] if isinstance(data, str) and value in data else []
