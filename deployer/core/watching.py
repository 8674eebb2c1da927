"""Which watch rules a batch of file changes sets off, and with which files (pure).

Compose's semantics: a rule sees the files under its `path` that no `ignore` glob matches (and,
when it has `include` globs, only those that one matches); globs are relative to `path`; a glob
that ends with "/" is a folder and everything in it. A service whose rebuild is set off is
rebuilt once, and its other rules wait for the next change: the rebuild carries every file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from deployer.model.spec import Stack, Watch

# What a rule does, strongest first: a rebuild makes a sync of the same batch pointless.
STRENGTH = ("rebuild", "sync+restart", "restart", "sync+exec", "sync")


@dataclass(frozen=True)
class Changed:
    """One file a rule saw change: where it is on the host, and where it goes in the container
    (for sync rules)."""

    host: Path
    relative: str  # to the rule's path, posix
    deleted: bool


@dataclass(frozen=True)
class Trigger:
    service: str
    rule: Watch
    files: list[Changed] = field(default_factory=list)

    def destination(self, file: Changed) -> str:
        """Where a synced file goes in the container."""
        target = self.rule.target or "/"
        if file.relative in {"", "."}:
            return target
        return str(PurePosixPath(target) / file.relative)


def root_of(stack: Stack, rule: Watch) -> Path:
    return stack.resolve(Path(rule.path)).resolve()


def seen_by(rule: Watch, root: Path, path: Path) -> str | None:
    """`path` relative to the rule's root (posix) when the rule sees it, else None."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        return None
    text = relative.as_posix()
    if text == ".":
        text = ""
    if any(_glob(pattern, text) for pattern in rule.ignore):
        return None
    if rule.include and not any(_glob(pattern, text) for pattern in rule.include):
        return None
    return text


def _glob(pattern: str, relative: str) -> bool:
    """A glob against a path and each of its folders ("__pycache__/" matches any file in one)."""
    folder = pattern.endswith("/")
    pattern = pattern.rstrip("/").removeprefix("./")
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    names = parts if not folder else parts[:-1]
    if folder:
        candidates = candidates[:-1]
    return any(fnmatch(c, pattern) for c in candidates) or any(fnmatch(n, pattern) for n in names)


def triggers(stack: Stack, services: list[str], changes: list[tuple[Path, bool]]) -> list[Trigger]:
    """The rules of `services` that the changed files (path, deleted) set off, each with its
    files; a service's rebuild stands alone."""
    found: list[Trigger] = []
    for name in services:
        service = stack.service(name)
        mine: list[Trigger] = []
        for rule in service.watch:
            root = root_of(stack, rule)
            files = [
                Changed(path, relative, deleted)
                for path, deleted in changes
                if (relative := seen_by(rule, root, path)) is not None
            ]
            if files:
                mine.append(Trigger(name, rule, files))
        rebuilds = [t for t in mine if t.rule.action == "rebuild"]
        found += rebuilds[:1] or sorted(mine, key=lambda t: STRENGTH.index(t.rule.action))
    return found


def watched_paths(stack: Stack, services: list[str]) -> list[Path]:
    """The folders and files to watch: each rule's path (a missing one cannot be watched)."""
    paths = {root_of(stack, rule) for name in services for rule in stack.service(name).watch}
    return sorted(paths)
