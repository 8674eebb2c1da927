"""watch: the inner loop. `up`, then every save sets off the services' watch rules (sync into
the running replicas, restart them one by one, or rebuild and roll out start-first) until
Ctrl-C, which is exit 0."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated

import typer

from deployer.cli.app import (
    FilesOption,
    JsonOption,
    ProjectOption,
    ServicesArgument,
    TargetOption,
    chosen_target,
    source,
)
from deployer.cli.progress import progress
from deployer.targets.base import Request, Target

if TYPE_CHECKING:  # a type only: --help never loads the models
    from deployer.model.spec import Stack

commands = typer.Typer(rich_markup_mode=None)  # put on the root app by deployer.cli.main


@commands.command()
def watch(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
    no_up: Annotated[
        bool, typer.Option("--no-up", help="do not bring the stack up first; watch only")
    ] = False,
    target_name: TargetOption = None,
) -> int:
    """Bring the stack up, then apply its watch rules (develop.watch) to every file change."""
    target = chosen_target(ctx, "watch")
    stack = source(ctx, files, project).stack()
    if not no_up:
        with progress(json_output) as report:
            target.up(stack, Request(), report)
    return watch_until_interrupted(target, stack, Request(services=tuple(services or ())),
                                   json_output)  # fmt: skip


def watch_until_interrupted(target: Target, stack: Stack, request: Request, as_json: bool) -> int:
    stop = threading.Event()
    with progress(as_json) as report:
        try:
            return target.watch(stack, request, report, stop)
        except KeyboardInterrupt:
            stop.set()
            return 0
