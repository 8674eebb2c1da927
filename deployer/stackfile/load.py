"""stack.py / stack.yaml -> a validated Stack, or one StackError that names the file and fields."""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from deployer.model.errors import StackError
from deployer.model.spec import Config, Network, Secret, Service, Stack, Volume
from deployer.stackfile import validate
from deployer.stackfile.compose_options import ComposeOptions
from deployer.stackfile.messages import explain


def load(
    path: str | Path,
    warn: Callable[[str], None] | None = None,
    options: ComposeOptions | None = None,
) -> Stack:
    """Load and validate the stack at `path`: .py, .yaml/.yml, or a Compose file.

    A file whose name contains "compose" is read as a Compose file; its unsupported keys go to
    `warn` (Python warnings by default).
    """
    file = Path(path)
    if not file.is_file():
        raise StackError(str(file), ["file not found: pass the stack file with -f FILE"])
    if file.suffix == ".py":
        stack = _load_python(file)
    elif is_compose(file):
        from deployer.stackfile import compose  # only for Compose files: most runs never need it

        stack = compose.load_compose(file, warn or _python_warning, options)
    elif file.suffix in {".yaml", ".yml"}:
        stack = _load_yaml(file, warn or _python_warning, options or ComposeOptions())
    else:
        raise StackError(str(file), ["unknown file type: use a .py, .yaml or .yml file"])
    if stack.root == Path("."):
        # Relative paths are relative to the file that made the stack (a stack.py that builds
        # on a stack loaded from elsewhere keeps that one's folder).
        stack = stack.model_copy(update={"root": file.parent.resolve()})
    return checked(stack, str(file))


def load_files(
    paths: list[Path],
    warn: Callable[[str], None] | None = None,
    as_compose: bool = False,
    options: ComposeOptions | None = None,
) -> Stack:
    """One stack file, or several Compose files merged in order (later ones override).

    `as_compose` reads a single file as Compose whatever its name (from COMPOSE_FILE, say).
    """
    if len(paths) == 1 and not as_compose:
        return load(paths[0], warn, options)
    for file in paths:
        if not file.is_file():
            raise StackError(str(file), ["file not found: check the -f arguments"])
        if file.suffix not in {".yaml", ".yml"}:
            raise StackError(
                str(file),
                ["several -f files are merged as Compose files; a stack.py stands alone: "
                 "give it as the only -f"],
            )  # fmt: skip
    from deployer.stackfile import compose

    stack = compose.load_compose_files(paths, warn or _python_warning, options)
    return checked(stack.model_copy(update={"root": paths[0].parent.resolve()}), str(paths[0]))


# Keys only one of the two YAML dialects has: how a file's content tells them apart.
_COMPOSE_ONLY_TOP = {"version", "include", "secrets", "configs"}
_COMPOSE_ONLY_SERVICE = {
    "environment", "env_file", "volumes", "deploy", "container_name", "mem_limit",
    "mem_reservation", "cpus", "pids_limit", "profiles", "extends", "secrets", "configs",
    "platform", "pull_policy", "network_mode", "extra_hosts", "hostname",
}  # fmt: skip
_DEPLOYER_ONLY_SERVICE = {"env", "files", "mounts", "proxy", "replicas", "resources", "update"}


def is_compose(path: Path) -> bool:
    """Read as a Compose file (rather than deployer's own YAML)?

    A name with "compose" in it says so; otherwise the content decides: keys that only Compose
    has, or only deployer has. A file with both is refused with what to do about it.
    """
    if path.suffix not in {".yaml", ".yml"}:
        return False
    if "compose" in path.name:
        return True
    compose_keys, deployer_keys = _dialect_keys(path)
    if compose_keys and deployer_keys:
        raise StackError(
            str(path),
            [f"mixes Compose keys ({', '.join(compose_keys[:3])}) with deployer's own "
             f"({', '.join(deployer_keys[:3])}): name the file compose.yaml (or pass it with "
             "COMPOSE_FILE) to read it as Compose, or use only deployer's fields"],
        )  # fmt: skip
    return bool(compose_keys)


def _dialect_keys(path: Path) -> tuple[list[str], list[str]]:
    import yaml  # only for YAML files

    from deployer.stackfile.compose_merge import Loader  # Compose's tags read, not refused

    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return [], []  # the loader that reads it reports the problem
    if not isinstance(document, dict):
        return [], []
    compose_keys = [
        str(key) for key in document if key in _COMPOSE_ONLY_TOP or str(key).startswith("x-")
    ]
    deployer_keys: list[str] = []
    services = document.get("services")
    for name, body in (services or {}).items() if isinstance(services, dict) else []:
        if not isinstance(body, dict):
            continue
        compose_keys += [f"services.{name}.{k}" for k in body if k in _COMPOSE_ONLY_SERVICE]
        deployer_keys += [f"services.{name}.{k}" for k in body if k in _DEPLOYER_ONLY_SERVICE]
        check = body.get("healthcheck")
        if isinstance(check, dict):
            compose_keys += [f"services.{name}.healthcheck.{k}" for k in check if k == "test"]
            deployer_keys += [
                f"services.{name}.healthcheck.{k}" for k in check if k in {"command", "http"}
            ]
    return compose_keys, deployer_keys


def _python_warning(message: str) -> None:
    import warnings

    warnings.warn(message, UserWarning, stacklevel=3)


def checked(stack: Stack, source: str) -> Stack:
    """Run the whole-stack rules; raise one StackError listing every problem."""
    found = validate.problems(stack)
    if found:
        raise StackError(source, found)
    return stack


def _load_python(file: Path) -> Stack:
    source = file.read_text(encoding="utf-8")
    try:
        code = compile(source, str(file), "exec")
    except SyntaxError as error:
        raise StackError(str(file), [f"line {error.lineno}: syntax error: {error.msg}"]) from None
    namespace: dict[str, Any] = {"__name__": "__deployer_stack__", "__file__": str(file)}
    folder = str(file.parent.resolve())
    sys.path.insert(0, folder)  # so stack.py can import helpers that sit beside it
    try:
        exec(code, namespace)
    except ValidationError as error:
        where = _line_in(error, file)
        raise StackError(str(file), [f"{where}{msg}" for msg in _messages(error)]) from None
    except Exception as error:
        where = _line_in(error, file)
        raise StackError(str(file), [f"{where}{type(error).__name__}: {error}"]) from None
    finally:
        sys.path.remove(folder)
    stack = namespace.get("stack")
    if stack is None:
        raise StackError(
            str(file),
            ["no variable named 'stack' is defined: end the file with stack = Stack(...)"],
        )
    if not isinstance(stack, Stack):
        raise StackError(str(file), [f"'stack' is a {type(stack).__name__}, not a deployer.Stack"])
    return stack


def _line_in(error: BaseException, file: Path) -> str:
    """'line N: ' for the deepest frame of the stack file in the traceback, if any."""
    target = str(file)
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == target]
    return f"line {lines[-1]}: " if lines else ""


def _messages(error: ValidationError, prefix: str = "") -> list[str]:
    messages = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        where = f"{prefix}{path}" if prefix else f"{error.title}.{path}" if path else error.title
        messages.append(f"{where}: {explain(item)}")
    return messages


def _load_yaml(file: Path, warn: Callable[[str], None], options: ComposeOptions) -> Stack:
    import yaml  # only for YAML stacks: most runs never need it

    from deployer.stackfile.compose import environment_for
    from deployer.stackfile.compose_merge import BoundedLoader
    from deployer.stackfile.interpolate import interpolate, unset_message

    try:
        document = yaml.load(file.read_text(encoding="utf-8"), Loader=BoundedLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise StackError(str(file), [f"{where}invalid YAML: {error}"]) from None
    if not isinstance(document, dict):
        raise StackError(str(file), ["the file must be a mapping with 'name' and 'services'"])
    # ${VAR} as in Compose files: the shell, then --env-file or the .env beside the file.
    problems: list[str] = []
    document = interpolate(
        document, environment_for(file, options),
        lambda at, why: problems.append(f"{at}: {why}"),
        lambda at, name: warn(unset_message(str(file), at, name)),
    )  # fmt: skip
    if problems:
        raise StackError(str(file), problems)
    return stack_from_mapping(document, str(file), default_name=file.parent.resolve().name)


def stack_from_mapping(document: dict[str, Any], source: str, default_name: str) -> Stack:
    """Build a Stack from Compose-shaped data: `services` and `networks` map names to bodies."""
    problems: list[str] = []
    known = {"name", "services", "networks", "volumes", "secrets", "configs"}
    problems += [
        f"{key}: unknown top-level field; remove it" for key in sorted(set(document) - known)
    ]
    services = _named_items(document.get("services"), "services", Service, problems)
    networks = _named_items(document.get("networks") or {}, "networks", Network, problems)
    volumes = _named_items(document.get("volumes") or {}, "volumes", Volume, problems)
    secrets = _named_items(document.get("secrets") or {}, "secrets", Secret, problems)
    configs = _named_items(document.get("configs") or {}, "configs", Config, problems)
    if problems:
        raise StackError(source, problems)
    name = document.get("name") or re.sub(r"[^a-z0-9_-]", "", default_name.lower()) or "stack"
    try:
        return Stack(
            name=name, services=tuple(services), networks=tuple(networks), volumes=tuple(volumes),
            secrets=tuple(secrets), configs=tuple(configs),
        )  # fmt: skip
    except ValidationError as error:
        raise StackError(source, _messages(error, prefix="")) from None


def _named_items(
    section: Any, label: str,
    model: type[Service] | type[Network] | type[Volume] | type[Secret] | type[Config],
    problems: list[str],
) -> list[Any]:  # fmt: skip
    if not isinstance(section, dict) or (label == "services" and not section):
        problems.append(f"{label}: must be a mapping from {label[:-1]} name to its settings")
        return []
    items = []
    for name, body in section.items():
        try:
            items.append(model.model_validate({**(body or {}), "name": name}))
        except ValidationError as error:
            problems += _messages(error, prefix=f"{label}.{name}.")
        except TypeError:
            problems.append(f"{label}.{name}: must be a mapping of settings")
    return items
