"""Stack -> a readable stack.py: one `Service(...)` per service, only what differs from defaults.

The output loads back to an equal Stack (that is tested), so an imported Compose file can be
edited from then on as Python.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from deployer.core import outside
from deployer.model.errors import StackError
from deployer.model.spec import Stack
from deployer.stackfile.sources import EnvSource, ImportSources

WIDTH = 88
_SIZE_FIELDS = {"memory", "shm_size"}


@dataclass
class _Writing:
    """What one stack.py being written needs: the names it imports, and where values that came
    from outside the Compose files were written as templates."""

    used: set[str]
    sources: ImportSources = field(default_factory=ImportSources)


def stack_source(stack: Stack, origin: str, sources: ImportSources | None = None) -> str:
    """stack.py for `stack`; with `sources`, no value from the environment, `.env` or an env
    file is written into it: they are read when stack.py loads. A value that cannot be written
    as a reference is refused (StackError naming the field), never written."""
    sources = sources or ImportSources()
    writing = _Writing({"Service", "Stack"}, sources)
    blocks = []
    variables = []
    for service in stack.services:
        variable = _identifier(service.name)
        variables.append(variable)
        source = sources.env.get(service.name)
        blocks.append(f"{variable} = {_model(service, 0, writing, source)}\n")
    fields = [f"name={_string(stack.name)}", f"services=[{', '.join(variables)}]"]
    if stack.networks:
        fields.append(f"networks={_value(list(stack.networks), 1, writing, '')}")
    if stack.volumes:
        fields.append(f"volumes={_value(list(stack.volumes), 1, writing, '')}")
    for section in ("secrets", "configs"):
        if getattr(stack, section):
            fields.append(f"{section}={_value(list(getattr(stack, section)), 1, writing, '')}")
    if stack.labels:
        fields.append(f"labels={_value(stack.labels, 1, writing, '')}")
    body = ",\n".join(f"    {field}" for field in fields)
    used = writing.used
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
    text = (
        header + import_line + "\n" + variables_line + "\n".join(blocks)
        + f"\nstack = Stack(\n{body},\n)\n"
    )  # fmt: skip
    _refuse_leaks(stack, origin, text, sources)
    return text


def _refuse_leaks(stack: Stack, origin: str, text: str, sources: ImportSources) -> None:
    """The last guard: a value from outside the files that is still in the text (in a field
    that could not be written as a template) stops the import."""
    # A value the files spell themselves is no leak.
    leaked = sorted(
        value for value in sources.outside_values
        if outside.significant(value) and value in text and value not in sources.written
    )  # fmt: skip
    if not leaked:
        return
    where = sorted(
        {
            path
            for service in stack.services
            for value in leaked
            for path in outside.paths_holding(
                service.model_dump(mode="json"), value, f"services.{service.name}"
            )
        }
    )
    raise StackError(
        origin,
        [
            f"{path}: holds a value from the environment or an env file that stack.py "
            "cannot read again when it loads: import would write it into the file; write "
            "that field without ${...} in the Compose file, or set it in stack.py yourself"
            for path in where or ["(a field)"]
        ],
    )


def _identifier(name: str) -> str:
    text = "".join(ch if ch.isalnum() else "_" for ch in name)
    return f"service_{text}" if text[0].isdigit() or text in {"stack"} else text


def _model(
    model: BaseModel, indent: int, writing: _Writing, source: EnvSource | None = None
) -> str:
    writing.used.add(type(model).__name__)
    parts = []
    for name, info in type(model).model_fields.items():
        if info.exclude:
            continue
        value = getattr(model, name)
        default = info.get_default(call_default_factory=True)
        if value == default:
            continue
        if name == "env" and source and source.referenced:
            parts.append(f"env={_env(value, source, indent + 1, writing)}")
            continue
        parts.append(f"{name}={_value(value, indent + 1, writing, name)}")
    return _call(type(model).__name__, parts, indent)


def _env(env: Mapping[str, str], source: EnvSource, indent: int, writing: _Writing) -> str:
    writing.used.add("Variables")
    items = [f"**var.env_file({_string(path)})" for path in source.files]
    if source.bare:  # Compose's bare name: the deploying shell's value, left out when unset
        items.append(f"**var.pick({', '.join(_string(name) for name in source.bare)})")
    for key, value in env.items():
        if key in source.templates:
            items.append(f"{_string(key)}: var.substitute({_string(source.templates[key])})")
        elif key in source.explicit:
            items.append(f"{_string(key)}: {_value(value, indent + 1, writing, '')}")
    return _bracket("{", "}", items, indent)


def _call(name: str, parts: list[str], indent: int) -> str:
    one_line = f"{name}({', '.join(parts)})"
    if len(one_line) + 4 * indent <= WIDTH and "\n" not in one_line:
        return one_line
    pad = "    " * (indent + 1)
    return f"{name}(\n" + "".join(f"{pad}{part},\n" for part in parts) + "    " * indent + ")"


def _value(value: Any, indent: int, writing: _Writing, field: str) -> str:
    if isinstance(value, BaseModel):
        return _model(value, indent, writing)
    if isinstance(value, SecretStr):  # inline in the Compose file already
        return _value(value.get_secret_value(), indent, writing, field)
    if isinstance(value, Path):
        return _value(str(value), indent, writing, field)
    if isinstance(value, str) and (template := _template_of(value, writing.sources)):
        writing.used.add("Variables")
        return f"var.substitute({_string(template)})"
    if field == "mode" and isinstance(value, int):
        return oct(value)
    if isinstance(value, timedelta):
        return _string(_duration(value))
    if isinstance(value, int) and not isinstance(value, bool) and field in _SIZE_FIELDS:
        size = _size(value)
        return _string(size) if isinstance(size, str) else str(size)
    if isinstance(value, list | tuple) and _shell_words(value) in writing.sources.templates:
        # A command written as one string with ${...}: the model splits it again on load.
        writing.used.add("Variables")
        return f"var.substitute({_string(writing.sources.templates[_shell_words(value)])})"
    if isinstance(value, list | tuple):
        items = [_value(item, indent + 1, writing, "") for item in value]
        return _bracket("[", "]", items, indent)
    if isinstance(value, dict):
        items = [
            f"{_string(str(key))}: {_value(item, indent + 1, writing, '')}"
            for key, item in value.items()
        ]
        return _bracket("{", "}", items, indent)
    if isinstance(value, str):
        return _string(value)
    return repr(value)


def _template_of(value: str, sources: ImportSources) -> str:
    """The template to write for a value that came from outside the files ("" for none)."""
    return sources.templates.get(value) or sources.as_template(value) or ""


def _shell_words(value: list[Any] | tuple[Any, ...]) -> str:
    return shlex.join(value) if all(isinstance(item, str) for item in value) else ""


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
