"""logs, exec and run: a stack's output, and processes wired to this terminal."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deployer.cli.app import (
    FilesOption,
    JsonOption,
    NameOption,
    ProjectOption,
    ServicesArgument,
    TargetOption,
    chosen_target,
    complete_services,
    source,
)
from deployer.cli.progress import progress
from deployer.targets.base import Request

if TYPE_CHECKING:
    from deployer.core.status import LogLine

commands = typer.Typer(rich_markup_mode=None)  # put on the root app by deployer.cli.main

# One colour per container on a terminal, by the order containers first appear.
_COLOURS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")

# In `logs`, -f is Compose's --follow: the stack file is --file here (or -f before `logs`).
LogsFilesOption = Annotated[
    list[Path] | None,
    typer.Option("--file", metavar="FILE", show_default=False, help="stack file (as -f elsewhere)"),
]
EnvOption = Annotated[
    list[str] | None,
    typer.Option("-e", "--env", metavar="KEY=VALUE", help="set an environment variable"),
]
ServiceArgument = Annotated[
    str, typer.Argument(help="the service", autocompletion=complete_services, show_default=False)
]
CommandArgument = Annotated[
    list[str] | None, typer.Argument(help="the command and its arguments (after --)")
]
_PASS_THROUGH = {"allow_interspersed_args": False}


def _command(words: list[str] | None) -> list[str]:
    """The command after the service; a `--` that separates them is not part of it."""
    words = list(words or [])
    return words[1:] if words[:1] == ["--"] else words


def _env(pairs: list[str] | None) -> dict[str, str]:
    found = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not key or not sep:
            raise typer.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="-e")
        found[key] = value
    return found


class LogPrinter:
    """Log lines for people (prefixed, coloured on a terminal) or as JSON lines."""

    def __init__(self, timestamps: bool, prefix: bool, as_json: bool) -> None:
        self.timestamps = timestamps
        self.prefix = prefix
        self.as_json = as_json
        self.colour = sys.stdout.isatty()
        self.seen: dict[str, str] = {}
        self.width = 0

    def __call__(self, line: LogLine) -> None:
        if self.as_json:
            print(json.dumps(line.as_data()), flush=True)
            return
        parts = []
        if self.prefix:
            self.width = max(self.width, len(line.container))
            colour = self.seen.setdefault(line.container, _COLOURS[len(self.seen) % len(_COLOURS)])
            label = f"{line.container:<{self.width}} | "
            parts.append(f"\x1b[{colour}m{label}\x1b[0m" if self.colour else label)
        if self.timestamps and line.time is not None:
            parts.append(line.time.isoformat(timespec="milliseconds") + " ")
        parts.append(line.text)
        print("".join(parts), flush=True)


@commands.command()
def logs(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: LogsFilesOption = None,
    project: ProjectOption = None,
    name: NameOption = None,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="keep printing new lines")] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="from a time: 10m (ago), an RFC 3339 or Unix time"),
    ] = None,
    tail: Annotated[
        int | None, typer.Option("--tail", "-n", help="the last N lines of each container")
    ] = None,
    timestamps: Annotated[bool, typer.Option("-t", "--timestamps", help="show times")] = False,
    no_prefix: Annotated[bool, typer.Option("--no-prefix", help="no container names")] = False,
    json_output: JsonOption = False,
    target_name: TargetOption = None,
) -> int:
    """Every replica's output, interleaved in time order; -f follows (Ctrl-C ends, exit 0)."""
    target = chosen_target(ctx, "logs")
    stack_name = name or source(ctx, files, project).name()
    show = LogPrinter(timestamps, not no_prefix, json_output)
    stop = threading.Event()
    request = Request(services=tuple(services or ()), follow=follow, since=since, tail=tail)
    lines = target.logs(stack_name, request, stop)
    try:
        for line in lines:
            show(line)
    except KeyboardInterrupt:
        stop.set()
    except BrokenPipeError:  # `logs | head`: the reader is gone
        stop.set()
    return 0


@commands.command("exec", context_settings=_PASS_THROUGH)
def exec_command(
    ctx: typer.Context,
    service: ServiceArgument,
    command: CommandArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    name: NameOption = None,
    index: Annotated[int, typer.Option("--index", help="which replica")] = 1,
    no_tty: Annotated[bool, typer.Option("-T", "--no-tty", help="no pseudo-terminal")] = False,
    user: Annotated[str | None, typer.Option("-u", "--user", help="run as this user")] = None,
    workdir: Annotated[str | None, typer.Option("-w", "--workdir", help="in this folder")] = None,
    env: EnvOption = None,
    target_name: TargetOption = None,
) -> int:
    """Run a command in a running replica; its exit code is deployer's."""
    chosen_target(ctx, "exec")  # the engine's own: any other target refuses
    words = _command(command)
    if not words:
        raise typer.BadParameter("give the command to run, e.g. `exec web -- sh`")
    stack_name = name or source(ctx, files, project).name()
    from deployer import operate  # only for the engine's own commands

    return operate.exec_command(
        stack_name, service, words, index=index,
        tty=False if no_tty else None, user=user, workdir=workdir, env=_env(env),
    )  # fmt: skip


@commands.command(context_settings=_PASS_THROUGH)
def run(
    ctx: typer.Context,
    service: ServiceArgument,
    command: CommandArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    remove: Annotated[bool, typer.Option("--rm", help="remove the container afterwards")] = False,
    no_deps: Annotated[bool, typer.Option("--no-deps", help="do not start dependencies")] = False,
    no_tty: Annotated[bool, typer.Option("-T", "--no-tty", help="no pseudo-terminal")] = False,
    env: EnvOption = None,
    target_name: TargetOption = None,
) -> int:
    """A one-off container of a service (not a replica, not behind the proxy); its exit code."""
    chosen_target(ctx, "run")  # the engine's own: any other target refuses
    stack = source(ctx, files, project).stack()
    with progress(quiet=True) as report:
        from deployer import operate

        return operate.run_once(
            stack, service, _command(command) or None, remove=remove, deps=not no_deps,
            env=_env(env), tty=False if no_tty else None, report=report,
        )  # fmt: skip
