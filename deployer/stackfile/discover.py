"""Which files a command's stack comes from when -f does not say (standard library only).

-f, else $DEPLOYER_FILE, else ./stack.py, else $COMPOSE_FILE, else Compose's default names
(with the override file beside one merged on top, as Compose does).
"""

from __future__ import annotations

import os

from deployer.model.errors import StackError

COMPOSE_DEFAULTS = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def split(value: str) -> list[str]:
    """A list of paths in one variable, as Compose's COMPOSE_FILE spells it."""
    return [p for p in value.split(os.pathsep) if p]


def stack_files(given: list[str] | None) -> tuple[list[str], bool]:
    """The stack files, and whether they are Compose files by where they came from."""
    if given:
        return given, False
    if os.environ.get("DEPLOYER_FILE"):
        return split(os.environ["DEPLOYER_FILE"]), False
    if os.path.isfile("stack.py"):
        return ["stack.py"], False
    if os.environ.get("COMPOSE_FILE"):
        return split(os.environ["COMPOSE_FILE"]), True
    for name in COMPOSE_DEFAULTS:
        if os.path.isfile(name):
            base, _, _ = name.rpartition(".")
            overrides = [f"{base}.override.{ext}" for ext in ("yaml", "yml")]
            present = [o for o in overrides if os.path.isfile(o)]
            return [name, *present[:1]], True
    raise StackError(
        os.getcwd(),
        ["no stack file here: pass one with -f FILE (stack.py, a .yaml stack or a Compose "
         "file), or set DEPLOYER_FILE"],
    )  # fmt: skip
