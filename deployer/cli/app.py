"""The Typer app, the options every command shares, and how a command finds its stack.

-f/-p may stand before the command (as with `docker compose -f x up`) or after it; after wins.
Without -f: $DEPLOYER_FILE, ./stack.py, $COMPOSE_FILE, then Compose's default file names.
Without -p: $DEPLOYER_PROJECT_NAME, or (reading a Compose file) $COMPOSE_PROJECT_NAME.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deployer.local import engine_address as address
from deployer.model.errors import StackError
from deployer.model.names import NAME_MAX_LENGTH, NAME_PATTERN
from deployer.stackfile import discover
from deployer.stackfile.compose_options import ComposeOptions

if TYPE_CHECKING:
    from deployer.model.spec import Stack
    from deployer.targets.base import Target


def _warn(message: str) -> None:
    from deployer.core.events import Warning  # the events load with the first stack

    print(Warning(message).text(), file=sys.stderr)


@dataclass
class StackSource:
    """Which stack a command is about: files and a project name, from options or environment."""

    files: list[Path] | None = None
    project: str | None = None
    env_files: list[Path] | None = None  # Compose's --env-file
    profiles: list[str] | None = None  # Compose's --profile
    target_name: str | None = None  # --target before the command

    def paths(self) -> tuple[list[Path], bool]:
        """The stack files, and whether they are Compose files by where they came from."""
        found, compose = discover.stack_files([str(f) for f in self.files or []])
        return [Path(f) for f in found], compose

    def project_name(self, compose: bool) -> str | None:
        name = self.project or os.environ.get("DEPLOYER_PROJECT_NAME")
        if not name and compose:
            name = os.environ.get("COMPOSE_PROJECT_NAME")
        if name and not (re.match(NAME_PATTERN, name) and len(name) <= NAME_MAX_LENGTH):
            raise StackError(
                f"-p {name}",
                ["a stack name is lowercase letters, digits, '-' and '_', starting with a letter "
                 "or digit"],
            )  # fmt: skip
        return name or None

    def stack(self) -> Stack:
        from deployer.stackfile import load  # pydantic's models load with the first stack

        paths, compose = self.paths()
        compose = compose or len(paths) > 1 or any(load.is_compose(p) for p in paths)
        options = ComposeOptions(
            env_files=tuple(self.env_files or ()), profiles=tuple(self.profiles or ())
        )
        stack = load.load_files(
            paths, _warn, as_compose=compose and paths[0].suffix != ".py", options=options
        )
        name = self.project_name(compose)
        if name and name != stack.name:
            stack = stack.model_copy(update={"name": name})
        address.choose(stack.engine)  # unless -H chose already
        return stack

    def text(self) -> str:
        """The stack files as written: what they spell is configuration, not a secret."""
        paths, _ = self.paths()
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in paths)

    def outside_values(self) -> frozenset[str]:
        """The values the YAML files' templates and env files read from outside them (none for
        stack.py, whose env values are judged by `text`)."""
        from deployer.stackfile import compose, sources

        paths, _ = self.paths()
        if paths[0].suffix == ".py":
            return frozenset()
        options = ComposeOptions(
            env_files=tuple(self.env_files or ()), profiles=tuple(self.profiles or ())
        )
        environment = compose.environment_for(paths[0], options)
        return sources.import_sources(paths, environment).outside_values

    def name(self) -> str:
        """The stack's name, without reading a file when -p (or its variable) gives it, or
        when the record of the last `up` from here holds it and nothing it read has changed
        (deployer.unchanged)."""
        named = self.project_name(compose=False)
        if named:
            return named
        from deployer.unchanged.answer import recorded_stack
        from deployer.unchanged.invocation import Invocation

        recorded = recorded_stack(Invocation(
            "status", tuple(str(f) for f in self.files or ()), None,
            tuple(str(f) for f in self.env_files or ()), tuple(self.profiles or ()),
            self.target_name or os.environ.get("DEPLOYER_TARGET") or "engine",
        ))  # fmt: skip
        return recorded or self.stack().name


def source(ctx: typer.Context, files: list[Path] | None, project: str | None) -> StackSource:
    """The command's -f/-p, else the ones given before the command."""
    outer = ctx.find_object(StackSource) or StackSource()
    return StackSource(
        files=files or outer.files, project=project or outer.project,
        env_files=outer.env_files, profiles=outer.profiles, target_name=outer.target_name,
    )  # fmt: skip


def complete_services(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion: the services of the stack file the command line names."""
    files = ctx.params.get("files") or None
    try:
        stack = source(ctx, files, ctx.params.get("project")).stack()
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [s.name for s in stack.services if s.name.startswith(incomplete)]


FilesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "-f", "--file", metavar="FILE", show_default=False,
        help="stack file: stack.py, a .yaml stack, or Compose files (repeatable: merged in order)",
    ),
]  # fmt: skip
ProjectOption = Annotated[
    str | None,
    typer.Option(
        "-p", "--project-name", metavar="NAME", help="the stack's name (overrides the file's)"
    ),
]
NameOption = Annotated[
    str | None,
    typer.Option("--name", metavar="STACK", help="the stack's name; no stack file is read"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]
LockOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout", metavar="S", help="seconds to wait while another deploy of the stack runs"
    ),
]
ServicesArgument = Annotated[
    list[str] | None,
    typer.Argument(help="services (default: all)", autocompletion=complete_services,
                   show_default=False),
]  # fmt: skip


EnvFileOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--env-file", metavar="FILE", show_default=False,
        help="Compose files: variables for ${VAR} (repeatable, later wins; replaces ./.env)",
    ),
]  # fmt: skip
ProfileOption = Annotated[
    list[str] | None,
    typer.Option(
        "--profile", metavar="NAME", show_default=False,
        help="Compose files: also run the services of this profile (repeatable; "
        "default $COMPOSE_PROFILES)",
    ),
]  # fmt: skip


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"deployer {version('deployer')}")
        except PackageNotFoundError:  # a checkout on sys.path, not installed
            print("deployer (not installed: run scripts/host-setup)")
        raise typer.Exit()


def _global(
    ctx: typer.Context,
    files: FilesOption = None,
    project: ProjectOption = None,
    env_files: EnvFileOption = None,
    profiles: ProfileOption = None,
    host: Annotated[
        str | None,
        typer.Option(
            "-H",
            "--host",
            metavar="ADDRESS",
            show_default=False,
            help="the Docker engine: unix://PATH, tcp://HOST:PORT or ssh://USER@HOST[:PORT] "
            "(default: the stack's `engine`, else $DOCKER_HOST, else the Docker context)",
        ),
    ] = None,
    target_name: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="engine|swarm|kubernetes",
            show_default=False,
            help="where the stack runs, for every command (default $DEPLOYER_TARGET, else the "
            "engine)",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Deploy typed Python stacks (or Compose files) onto a Docker engine."""
    address.choose(host, from_command_line=True)
    address.prestart_from_environment()
    ctx.obj = StackSource(
        files=files, project=project, env_files=env_files, profiles=profiles,
        target_name=target_name,
    )  # fmt: skip


def root() -> typer.Typer:
    """An empty root app: the global options and settings; commands are added to it."""
    made = typer.Typer(
        rich_markup_mode=None,  # plain help: Rich's costs ~0.1 s of start-up
        name="deployer",
        help="Deploy typed Python stacks (or Compose files) onto a Docker engine.",
        epilog="Exit codes: 2 invalid stack, 3 no engine, 4 image problem, 5 deploy failed, "
        "6 engine refused, 7 not found, 8 another deploy holds the lock, 9 unsafe or unreadable "
        "local file, 64 usage, "
        "130 interrupted.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    made.callback()(_global)
    return made


def print_json(data: Any) -> None:
    import json

    print(json.dumps(data, indent=2, default=str))


def print_data(target: Target, data: dict[str, Any]) -> None:
    """A command's --json answer: versioned, and saying which target answered."""
    from deployer.targets.base import SCHEMA_VERSION

    print_json({"schema_version": SCHEMA_VERSION, "target": target.name, **data})


TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        envvar="DEPLOYER_TARGET",
        metavar="engine|swarm|kubernetes",
        show_default=False,
        help="where the stack runs: one Docker engine (default), the Swarm DOCKER_HOST manages, "
        "or kubernetes (rendered only: `export kubernetes`)",
    ),
]
RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar="DEPLOYER_REGISTRY",
        metavar="HOST:PORT",
        help="--target swarm: the registry images are pushed to and every node pulls from",
    ),
]


def chosen_target(ctx: typer.Context, command: str) -> Target:
    """The target this command acts on, read once: the command's --target, else the one given
    before the command, else $DEPLOYER_TARGET, else the engine. Raises NotOnTarget (exit 64)
    when that target cannot run the command or does not honour an option given to it."""
    from deployer.targets.base import check_support
    from deployer.targets.registry import choose

    def typed(name: str) -> bool:  # given on the command line (not a default, not a variable)
        found = ctx.get_parameter_source(name)
        return found is not None and found.name == "COMMANDLINE"

    here = ctx.params.get("target_name")
    outer = (ctx.find_object(StackSource) or StackSource()).target_name
    target = choose((here if typed("target_name") else outer or here) or "engine")
    given = {
        param.name: " ".join(param.opts)
        if param.param_type_name == "option"
        else param.name.upper()
        for param in ctx.command.params
        if param.name and typed(param.name)
    }
    check_support(target, command, given)
    return target
