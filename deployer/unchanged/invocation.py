"""Which command lines the fast answer may take: `up` or `plan` with stack options only."""

from __future__ import annotations

import os

COMMANDS = ("up", "plan")
# The options that say which stack (before or after the command), by every spelling.
_OPTIONS = {
    "-f": "files", "--file": "files", "-p": "project", "--project-name": "project",
    "--env-file": "env_files", "--profile": "profiles", "--target": "target",
}  # fmt: skip
_GLOBAL_ONLY = {"env_files", "profiles"}


class Invocation:
    """A command line reduced to what decides the stack: equal reductions, equal stacks."""

    __slots__ = ("command", "env_files", "files", "profiles", "project", "target")

    def __init__(
        self,
        command: str,
        files: tuple[str, ...],
        project: str | None,
        env_files: tuple[str, ...],
        profiles: tuple[str, ...],
        target: str = "engine",
    ) -> None:
        self.command = command
        self.files = tuple(os.path.normpath(f) for f in files)  # ./a.yaml is a.yaml
        self.project = project
        self.env_files = env_files
        self.profiles = profiles
        self.target = target

    def identity(self) -> str:
        """The stack this command line names, from this folder (the command is not part of it:
        `plan` reads the record `up` made)."""
        return "\0".join(
            [os.getcwd(), *self.files, "-p", self.project or "", "--env-file", *self.env_files,
             "--profile", *self.profiles, "--target", self.target]
        )  # fmt: skip


def parse(argv: list[str]) -> Invocation | None:
    """The Invocation of `argv`, or None when it holds anything else (a service, another option,
    another target, -H): the full command line parser then reads it."""
    before: dict[str, list[str]] = {}
    after: dict[str, list[str]] = {}
    command = None
    words = iter(argv)
    for word in words:
        name, equals, inline = word.partition("=")
        if word in COMMANDS and command is None:
            command = word
            continue
        key = _OPTIONS.get(name if equals and name.startswith("--") else word)
        if key is None or (command is not None and key in _GLOBAL_ONLY):
            return None
        value = inline if equals and name.startswith("--") else next(words, None)
        if value is None or value.startswith("-"):
            return None
        (after if command else before).setdefault(key, []).append(value)
    if command is None:
        return None
    given = {**before, **after}  # after the command wins, as with the full parser
    if [v for k, v in given.items() if k in {"project", "target"} and len(v) > 1]:
        return None
    target = given.get("target", [os.environ.get("DEPLOYER_TARGET") or "engine"])[0]
    if target not in {"engine", "swarm"}:  # kubernetes: rendered only, no `up` to answer
        return None
    return Invocation(
        command, tuple(given.get("files", ())), given["project"][0] if "project" in given else None,
        tuple(before.get("env_files", ())), tuple(before.get("profiles", ())), target,
    )  # fmt: skip
