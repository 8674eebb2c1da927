"""Where a Compose file's values come from, so that `import` writes references, never values.

A value the Compose file takes from outside itself (the shell, `.env`, an env file) must not be
copied into the stack.py that `import` writes (it is 0644 and likely committed): it becomes a
reference (`var.substitute("${X}")`, `**var.pick("X")`, `**var.env_file(...)`) read again when
stack.py loads. This module reads the files a second time, as written, to say which is which.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deployer.core import outside
from deployer.stackfile.compose_merge import Loader
from deployer.stackfile.interpolate import InterpolationError, read_env_file, substitute


@dataclass(frozen=True)
class EnvSource:
    """Where a Compose service's environment came from: its env files (paths as stack.py sees
    them), the variables its own `environment:` names with a value, those it names bare (the
    deploying shell's), and those written with `${...}` (as written)."""

    files: tuple[str, ...] = ()
    explicit: frozenset[str] = frozenset()
    bare: tuple[str, ...] = ()
    templates: Mapping[str, str] = field(default_factory=dict)

    @property
    def referenced(self) -> bool:
        return bool(self.files or self.templates or self.bare)


@dataclass(frozen=True)
class ImportSources:
    """What `import` needs to keep outside values out of what it writes."""

    env: Mapping[str, EnvSource] = field(default_factory=dict)
    # Interpolated text -> the template it was written as, for every scalar that used one.
    templates: Mapping[str, str] = field(default_factory=dict)
    # Every value that came from outside the files; none may appear in the output unless the
    # files themselves spell it.
    outside_values: frozenset[str] = frozenset()
    written: str = ""  # the Compose files' own text
    # The variables the files' templates read, with their values: a field holding one of
    # these values can be written as a template of that variable.
    variables: Mapping[str, str] = field(default_factory=dict)

    def as_template(self, text: str) -> str | None:
        """`text` with each value of a variable it holds written as `${NAME}` (and `$` as
        `$$`), or None when it holds none (or the files spell it as it is)."""
        if not text or text in self.written:
            return None
        template = text.replace("$", "$$")
        for name, value in sorted(self.variables.items(), key=lambda item: -len(item[1])):
            if outside.significant(value) and value.replace("$", "$$") in template:
                template = template.replace(value.replace("$", "$$"), "${" + name + "}")
        return template if template != text.replace("$", "$$") else None


class _Recording(Mapping[str, str]):
    """The environment, noting every variable a template read."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.inner = values
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.inner[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and key in self.inner:
            self.read.add(key)
            return True
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.inner)

    def __len__(self) -> int:
        return len(self.inner)


def import_sources(
    paths: list[Path], environment: Mapping[str, str], folder: Path = Path(".")
) -> ImportSources:
    """`environment`: what `${VAR}` reads (the shell, then .env or --env-file). `folder`: where
    the Compose files are as seen from the stack.py being written."""
    env: dict[str, EnvSource] = {}
    templates: dict[str, str] = {}
    from_outside: set[str] = set()
    texts: list[str] = []
    recording = _Recording(environment)
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
            data = yaml.load(text, Loader=Loader)
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            continue  # the loader has already said what is wrong with it
        texts.append(text)
        for raw in _strings(data):
            if "$" in raw:
                try:
                    value = substitute(raw, recording)
                except InterpolationError:
                    continue
                if value != raw.replace("$$", "$"):
                    templates[value] = raw
        services = data.get("services") if isinstance(data, dict) else None
        for name, body in services.items() if isinstance(services, dict) else []:
            if not isinstance(body, dict):
                continue
            source = _env_source(body, folder)
            env[str(name)] = source
            from_outside |= {environment[key] for key in source.bare if key in environment}
            for file in _env_file_paths(body):
                try:
                    from_outside |= set(read_env_file(path.parent / file, environment).values())
                except (InterpolationError, OSError, UnicodeDecodeError):
                    continue
    read = {key: environment[key] for key in recording.read if key in environment}
    from_outside |= set(read.values())
    return ImportSources(
        env, templates, frozenset(v for v in from_outside if v), "\n".join(texts), read
    )


def _strings(data: Any) -> Iterator[str]:
    if hasattr(data, "rewrap"):
        data = data.value
    if isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)
    elif isinstance(data, str):
        yield data


def _env_file_paths(body: dict[str, Any]) -> list[str]:
    files = body.get("env_file")
    files = [files] if isinstance(files, str | dict) else files or []
    found = [
        f if isinstance(f, str) else str(f.get("path", "")) if isinstance(f, dict) else ""
        for f in files
    ]
    return [f for f in found if f]


def _env_source(body: dict[str, Any], folder: Path) -> EnvSource:
    value = body.get("environment")
    value = [value] if isinstance(value, str) else value
    pairs: list[tuple[str, Any]] = (
        [(str(k), v) for k, v in value.items()] if isinstance(value, dict)
        else [
            (str(i).partition("=")[0], str(i).partition("=")[2] if "=" in str(i) else None)
            for i in value or []
        ]
    )  # fmt: skip
    templates = {
        key: str(raw) for key, raw in pairs if raw is not None and "$" in str(raw).replace("$$", "")
    }
    return EnvSource(
        files=tuple(str(folder / p) for p in _env_file_paths(body)),
        explicit=frozenset(key for key, raw in pairs if raw is not None),
        bare=tuple(key for key, raw in pairs if raw is None),
        templates=templates,
    )
