"""docs/reference.md, generated from the models themselves: every field of every model a stack
is written with, its type, its default and the comment the source gives it.

    .venv/bin/python -m tests.docs.reference  (writes docs/reference.md and docs/index.md)
"""

from __future__ import annotations

import inspect
import re
import types
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

import deployer
from deployer.model import spec

# In the order a reader meets them: the stack, a service, then what a service is made of.
MODELS = [
    "Stack", "Service", "Build", "Port", "Healthcheck", "HttpProbe", "Resources", "Reservations",
    "DependsOn", "Mount", "Volume", "Network", "NetworkAttachment", "File", "Secret", "SecretUse",
    "Config", "ConfigUse", "Proxy", "RateLimit", "UpdatePolicy", "RollbackPolicy", "Placement",
    "Ulimit", "Logging", "Watch", "WatchExec",
]  # fmt: skip


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment lines right above each field in the class's source (with its bases')."""
    found: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        pending: list[str] = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("#"):
                pending.append(stripped.lstrip("# ").strip())
                continue
            field = re.match(r"^\s{4}(\w+)\s*:", line)
            if field and field.group(1) in model.model_fields and pending:
                found[field.group(1)] = " ".join(pending)
            pending = []
    return found


def _type(annotation: Any) -> str:
    return _spelled(annotation).replace("|", "\\|")


def _spelled(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _spelled(args[0])
    if origin in (Union, types.UnionType):
        return " | ".join(_spelled(arg) for arg in args)
    if origin is Literal:
        return " | ".join(repr(arg) for arg in args)
    if origin is not None:
        inner = ", ".join("..." if arg is Ellipsis else _spelled(arg) for arg in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "None"
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _default(info: Any) -> str:
    if info.is_required():
        return "required"
    value = info.default_factory() if info.default_factory is not None else info.default
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return f"`{type(value).__name__}()`"
    if isinstance(value, timedelta):
        return f"`{value.total_seconds():g}s`"
    text = repr(value)
    return f"`{text}`" if len(text) < 40 else "(see the model)"


def render() -> str:
    out = [
        "# Stack reference",
        "",
        "<!-- Generated from the models by `python -m tests.docs.reference`: do not edit -->",
        "",
        "Every model a stack is written with (`from deployer import ...`), generated from the",
        "models themselves, so it cannot drift (`tests/docs` fails when it does). Every model is",
        'frozen and refuses unknown fields; durations are written like `"5s"` or `"1m30s"`,',
        'sizes like `"512m"`.',
        "",
    ]
    for name in MODELS:
        model = getattr(deployer, name)
        assert issubclass(model, spec.Model), name
        comments = _comments(model)
        out += [f"## {name}", ""]
        doc = inspect.getdoc(model)
        if doc and doc != inspect.getdoc(spec.Model):
            out += [doc, ""]
        out += ["| field | type | default | notes |", "|---|---|---|---|"]
        for field, info in model.model_fields.items():
            if info.exclude:
                continue
            note = comments.get(field, "").replace("|", "\\|")
            out.append(f"| `{field}` | {_type(info.annotation)} | {_default(info)} | {note} |")
        out.append("")
    return "\n".join(out)


def index(readme: str) -> str:
    """docs/index.md: the README, its links made relative to docs/."""
    text = readme.replace("](docs/", "](").replace("[bench/README.md](bench/README.md)",
                                                    "`bench/README.md`")  # fmt: skip
    return (
        "<!-- Generated from README.md by `python -m tests.docs.reference`: do not edit. -->\n\n"
        + text
    )


MATRIX_START = "<!-- generated: the support tables, by `python -m tests.docs.reference` -->"
MATRIX_END = "<!-- end of generated -->"
# The commands that act on a target, in the order `--help` shows the daily ones.
TARGET_COMMANDS = ("up", "plan", "status", "logs", "exec", "run", "restart", "stop", "start",
                   "rollback", "down", "ls", "build", "pull", "images", "watch", "gc",
                   "tunnel")  # fmt: skip


def command_params(app: Any, command: str) -> list[Any]:
    """A command's parameters; a group's (`images`): those of its commands."""
    found = app.commands[command]
    if hasattr(found, "commands"):
        return [p for sub in found.commands.values() for p in sub.params]
    return list(found.params)


def support_matrix() -> str:
    """Every command on every target, from each target's own support table."""
    import typer

    from deployer.cli.main import build_app
    from deployer.targets.base import ANY_TARGET, Support
    from deployer.targets.engine.target import SUPPORT as ENGINE
    from deployer.targets.kubernetes.target import RENDER_ONLY
    from deployer.targets.swarm.target import SUPPORT as SWARM

    app = typer.main.get_command(build_app())

    def cell(command: str, support: Support) -> str:
        if support.refusal:
            return f"refused: {support.refusal}".replace("|", "\\|")
        params = {
            p.name: max(p.opts, key=len) if p.param_type_name == "option" else p.name.upper()
            for p in command_params(app, command)
            if p.name and p.name not in ANY_TARGET
        }
        refused = sorted(name for name in params if name not in support.options)
        if not refused:
            return "yes"
        return "yes; refuses " + ", ".join(f"`{params[name]}`" for name in refused)

    rows = ["| command | engine | swarm | kubernetes |", "|---|---|---|---|"]
    for command in TARGET_COMMANDS:
        rows.append(
            f"| `{command}` | {cell(command, ENGINE[command])} | {cell(command, SWARM[command])} "
            "| refused |"
        )
    rows += ["", f"kubernetes refuses every command: {RENDER_ONLY}."]
    return "\n".join([MATRIX_START, *rows, MATRIX_END])


def with_matrix(page: str) -> str:
    """docs/targets.md with its generated table brought up to date."""
    before, start, rest = page.partition(MATRIX_START)
    _, end, after = rest.partition(MATRIX_END)
    assert start and end, "docs/targets.md lost its markers for the support table"
    return before + support_matrix() + after


if __name__ == "__main__":
    ROOT = Path(__file__).parents[2]
    (ROOT / "docs" / "reference.md").write_text(render())
    (ROOT / "docs" / "index.md").write_text(index((ROOT / "README.md").read_text()))
    targets = ROOT / "docs" / "targets.md"
    targets.write_text(with_matrix(targets.read_text()))
