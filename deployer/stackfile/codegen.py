"""Stack -> a readable stack.py: one `Service(...)` per service, only what differs from defaults.

The output loads back to an equal Stack (that is tested), so an imported Compose file can be
edited from then on as Python.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from deployer.model.spec import Stack

WIDTH = 88
_SIZE_FIELDS = {"memory", "shm_size"}


@dataclass(frozen=True)
class EnvSource:
    """Where a Compose service's environment came from, so that stack.py reads it again when it
    loads instead of holding the values: its env files (paths as stack.py sees them), the
    variables its own `environment:` names, and those written with `${...}` (as written)."""

    files: tuple[str, ...] = ()
    explicit: frozenset[str] = frozenset()
    templates: Mapping[str, str] = field(default_factory=dict)


def stack_source(
    stack: Stack, origin: str, env_sources: Mapping[str, EnvSource] | None = None
) -> str:
    """stack.py for `stack`; with `env_sources` (per service), no value from the environment,
    `.env` or an env file is written into it: they are read when stack.py loads."""
    used: set[str] = {"Service", "Stack"}
    blocks = []
    variables = []
    env_sources = env_sources or {}
    for service in stack.services:
        variable = _identifier(service.name)
        variables.append(variable)
        source = env_sources.get(service.name)
        blocks.append(f"{variable} = {_model(service, 0, used, source)}\n")
    fields = [f"name={_string(stack.name)}", f"services=[{', '.join(variables)}]"]
    if stack.networks:
        fields.append(f"networks={_value(list(stack.networks), 1, used, '')}")
    if stack.volumes:
        fields.append(f"volumes={_value(list(stack.volumes), 1, used, '')}")
    for section in ("secrets", "configs"):
        if getattr(stack, section):
            fields.append(f"{section}={_value(list(getattr(stack, section)), 1, used, '')}")
    if stack.labels:
        fields.append(f"labels={_value(stack.labels, 1, used, '')}")
    body = ",\n".join(f"    {field}" for field in fields)
    imports = ", ".join(sorted(used))
    header = f'"""Imported from {origin} by `python -m deployer import`."""\n\n'
    variables_line = ""
    if "Variables" in used:
        # Values from the environment are read when this file loads, never written into it.
        variables_line = "var = Variables(__file__)  # the environment, then ./.env\n\n"
    import_line = f"from deployer import {imports}\n"
    if len(import_line) > WIDTH:
        import_line = (
            "from deployer import (\n" + "".join(f"    {n},\n" for n in sorted(used)) + ")\n"
        )
    return (
        header + import_line + "\n" + variables_line + "\n".join(blocks)
        + f"\nstack = Stack(\n{body},\n)\n"
    )  # fmt: skip


def _identifier(name: str) -> str:
    text = "".join(ch if ch.isalnum() else "_" for ch in name)
    return f"service_{text}" if text[0].isdigit() or text in {"stack"} else text


def _model(model: BaseModel, indent: int, used: set[str], source: EnvSource | None = None) -> str:
    used.add(type(model).__name__)
    parts = []
    for name, info in type(model).model_fields.items():
        if info.exclude:
            continue
        value = getattr(model, name)
        default = info.get_default(call_default_factory=True)
        if value == default:
            continue
        if name == "env" and source and (source.files or source.templates):
            parts.append(f"env={_env(value, source, indent + 1, used)}")
            continue
        parts.append(f"{name}={_value(value, indent + 1, used, name)}")
    return _call(type(model).__name__, parts, indent)


def _env(env: Mapping[str, str], source: EnvSource, indent: int, used: set[str]) -> str:
    used.add("Variables")
    items = [f"**var.env_file({_string(path)})" for path in source.files]
    for key, value in env.items():
        if key in source.templates:
            items.append(f"{_string(key)}: var.substitute({_string(source.templates[key])})")
        elif key in source.explicit or not source.files:
            items.append(f"{_string(key)}: {_string(value)}")
    return _bracket("{", "}", items, indent)


def _call(name: str, parts: list[str], indent: int) -> str:
    one_line = f"{name}({', '.join(parts)})"
    if len(one_line) + 4 * indent <= WIDTH and "\n" not in one_line:
        return one_line
    pad = "    " * (indent + 1)
    return f"{name}(\n" + "".join(f"{pad}{part},\n" for part in parts) + "    " * indent + ")"


def _value(value: Any, indent: int, used: set[str], field: str) -> str:
    if isinstance(value, BaseModel):
        return _model(value, indent, used)
    if isinstance(value, SecretStr):  # inline in the Compose file already
        return _string(value.get_secret_value())
    if field == "mode" and isinstance(value, int):
        return oct(value)
    if isinstance(value, timedelta):
        return _string(_duration(value))
    if isinstance(value, Path):
        return _string(str(value))
    if isinstance(value, int) and not isinstance(value, bool) and field in _SIZE_FIELDS:
        size = _size(value)
        return _string(size) if isinstance(size, str) else str(size)
    if isinstance(value, list | tuple):
        items = [_value(item, indent + 1, used, "") for item in value]
        return _bracket("[", "]", items, indent)
    if isinstance(value, dict):
        items = [
            f"{_string(str(key))}: {_value(item, indent + 1, used, '')}"
            for key, item in value.items()
        ]
        return _bracket("{", "}", items, indent)
    if isinstance(value, str):
        return _string(value)
    return repr(value)


def _string(text: str) -> str:
    """A double-quoted literal (JSON's escapes are Python's too)."""
    return json.dumps(text, ensure_ascii=False)


def _bracket(open_: str, close: str, items: list[str], indent: int) -> str:
    one_line = open_ + ", ".join(items) + close
    if len(one_line) + 4 * indent <= WIDTH and "\n" not in one_line:
        return one_line
    pad = "    " * (indent + 1)
    return open_ + "\n" + "".join(f"{pad}{item},\n" for item in items) + "    " * indent + close


def _duration(value: timedelta) -> str:
    milliseconds = round(value.total_seconds() * 1000)
    if milliseconds % 1000:
        return f"{milliseconds}ms"
    seconds = milliseconds // 1000
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60}m"
    if seconds > 60:
        return f"{seconds // 60}m{seconds % 60}s"
    return f"{seconds}s"


def _size(value: int) -> str | int:
    for unit, factor in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if value >= factor and value % factor == 0:
            return f"{value // factor}{unit}"
    return value
