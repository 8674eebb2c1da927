"""up, down, plan, status (ps), rollback, restart/stop/start, ls, config, build, pull.

Each command reads its target once (chosen_target), which refuses what that target cannot do;
then it asks the target and prints the answer, in one shape whatever the target."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from deployer.cli.app import (
    FilesOption,
    JsonOption,
    LockOption,
    NameOption,
    ProjectOption,
    RegistryOption,
    ServicesArgument,
    StackSource,
    TargetOption,
    chosen_target,
    print_data,
    print_json,
    source,
)
from deployer.cli.output import stack_list_table, stats_table, status_table
from deployer.cli.progress import progress
from deployer.targets.base import SCHEMA_VERSION, Request, Target

if TYPE_CHECKING:  # a type only: the models load with the first stack
    from deployer.core.events import Report
    from deployer.core.status import Deployment
    from deployer.model.spec import Stack

LOCK_TIMEOUT = Request.lock_timeout

commands = typer.Typer(rich_markup_mode=None)  # put on the root app by deployer.cli.main

TimeoutOption = Annotated[
    float | None, typer.Option("--timeout", help="seconds to wait for health (default: derived)")
]


def _noun(target: Target) -> str:
    """What a replica is on the target, in the words its own tools use."""
    from deployer.unchanged.answer import replica_noun

    return replica_noun(target.name)


def _print_deployment(target: Target, deployment: Deployment, as_json: bool) -> None:
    from deployer.core.status import addresses
    from deployer.unchanged import answer as unchanged

    reach = addresses(deployment.replicas, target.engine_address())
    if as_json:
        print_data(target, {**deployment.as_data(), "addresses": [a.as_data() for a in reach]})
        return
    probed = sum(r.probed for r in deployment.replicas)
    lines = [a.text() for a in reach]
    if deployment.plan.empty:
        # Nothing new: a table would only repeat "running, healthy" (`status` shows it). The
        # fast answer of an unchanged `up` prints the same (deployer.unchanged).
        print(unchanged.up_summary(deployment.stack, lines, target.name, probed))
        return
    where = unchanged.on_target(target.name)
    print(status_table(deployment.replicas))
    print(f"\nstack {deployment.stack} is up and healthy{where} in {deployment.seconds:.1f}s")
    said = unchanged.notes(lines, probed)
    if said:
        print(said)


def _scaled(stack: Stack, scale: list[str]) -> Stack:
    """--scale web=3 (repeatable): replicas as given, for this run, validated as the model is."""
    from pydantic import ValidationError

    from deployer.model.errors import NotFound

    for item in scale:
        service, _, count = item.partition("=")
        if not count.isdigit():
            raise typer.BadParameter(f"{item!r}: expected SERVICE=NUMBER", param_hint="--scale")
        if service not in {s.name for s in stack.services}:
            raise NotFound(
                f"--scale {item}: stack {stack.name} has no service {service}",
                hint=f"its services: {', '.join(s.name for s in stack.services)}",
            )
        try:
            stack = stack.with_service(service, replicas=int(count))
        except ValidationError as error:
            why = "; ".join(e["msg"] for e in error.errors())
            raise typer.BadParameter(f"{item!r}: {why}", param_hint="--scale") from None
    return stack


@commands.command()
def up(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = None,
    no_deps: Annotated[
        bool, typer.Option("--no-deps", help="not the services' dependencies")
    ] = False,
    force_recreate: Annotated[
        bool, typer.Option("--force-recreate", help="replace containers even if they match")
    ] = False,
    no_build: Annotated[
        bool, typer.Option("--no-build", help="fail instead of building an image")
    ] = False,
    pull: Annotated[
        str, typer.Option("--pull", help="always | missing | never", show_default=True)
    ] = "missing",
    scale: Annotated[
        list[str] | None, typer.Option("--scale", metavar="SERVICE=N", help="replicas for this up")
    ] = None,
    no_bootstrap: Annotated[
        bool, typer.Option("--no-bootstrap", help="fail instead of building deployer base images")
    ] = False,
    lock_timeout: LockOption = LOCK_TIMEOUT,
    engine_health: Annotated[
        bool,
        typer.Option(
            "--engine-health",
            help="also wait for Docker's own first healthcheck of each new container "
            "(it runs one interval after the start)",
        ),
    ] = False,
    attach: Annotated[
        bool,
        typer.Option(
            "--attach",
            help="then stream the stack's lines until Ctrl-C (the stack keeps running)",
        ),
    ] = False,
    abort_on_exit: Annotated[
        bool,
        typer.Option(
            "--abort-on-container-exit",
            help="attached; once a container exits, stop every replica and exit with its code",
        ),
    ] = False,
    exit_code_from: Annotated[
        str | None,
        typer.Option(
            "--exit-code-from",
            metavar="SERVICE",
            help="attached, as --abort-on-container-exit; SERVICE's exit code is deployer's",
        ),
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="then apply the watch rules to file changes")
    ] = False,
    target_name: TargetOption = None,
    registry: RegistryOption = None,
) -> int:
    """Build, create and start the stack (or some services); wait until healthy."""
    target = chosen_target(ctx, "up")
    if pull not in {"always", "missing", "never"}:
        raise typer.BadParameter(f"{pull!r}: choose always, missing or never", param_hint="--pull")
    policy: Literal["always", "missing", "never"] = pull  # type: ignore[assignment]
    if watch and (attach or abort_on_exit or exit_code_from):
        raise typer.BadParameter("watch or attach, not both: each follows until Ctrl-C",
                                 param_hint="--watch")  # fmt: skip
    stack = _scaled(source(ctx, files, project).stack(), scale or [])
    if exit_code_from is not None and exit_code_from not in {s.name for s in stack.services}:
        from deployer.model.errors import NotFound

        raise NotFound(
            f"--exit-code-from {exit_code_from}: stack {stack.name} has no such service",
            hint=f"its services: {', '.join(s.name for s in stack.services)}",
        )
    request = Request(
        services=tuple(services or ()), no_deps=no_deps, force_recreate=force_recreate,
        build=not no_build, pull=policy, bootstrap=not no_bootstrap, timeout=timeout,
        lock_timeout=lock_timeout, engine_health=engine_health, registry=registry,
        attach=attach, abort_on_exit=abort_on_exit, exit_code_from=exit_code_from,
        since=str(time.time()),  # an attached up shows every line from here on
    )  # fmt: skip
    with progress(json_output) as report:
        deployment = target.up(stack, request, report)
    _print_deployment(target, deployment, json_output)
    if watch:
        from deployer.cli.watch import watch_until_interrupted

        return watch_until_interrupted(target, stack, Request(), json_output)
    if not (attach or abort_on_exit or exit_code_from):
        return 0
    from deployer.cli.operations import LogPrinter

    sys.stdout.flush()
    with progress(json_output) as report:
        return target.attach(stack.name, request, LogPrinter(False, True, json_output), report)


@commands.command()
def rollback(
    ctx: typer.Context,
    files: FilesOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = None,
    lock_timeout: LockOption = LOCK_TIMEOUT,
    target_name: TargetOption = None,
) -> int:
    """Return every service to the version its containers replaced."""
    target = chosen_target(ctx, "rollback")
    stack = source(ctx, files, project).stack()
    request = Request(timeout=timeout, lock_timeout=lock_timeout)
    with progress(json_output) as report:
        deployment = target.rollback(stack, request, report)
    _print_deployment(target, deployment, json_output)
    return 0


@commands.command()
def down(
    ctx: typer.Context,
    files: FilesOption = None,
    project: ProjectOption = None,
    name: NameOption = None,
    json_output: JsonOption = False,
    rmi: Annotated[bool, typer.Option("--rmi", help="also the images built for it")] = False,
    volumes: Annotated[
        bool, typer.Option("-v", "--volumes", help="also the stack's named volumes")
    ] = False,
    timeout: Annotated[
        int | None,
        typer.Option(
            "--timeout", help="stop timeout in seconds (default: each service's stop_grace_period)"
        ),
    ] = None,
    lock_timeout: LockOption = LOCK_TIMEOUT,
    target_name: TargetOption = None,
) -> int:
    """Stop and remove the stack's containers, networks and deployer's own volumes."""
    target = chosen_target(ctx, "down")
    stack_name = name or source(ctx, files, project).name()
    request = Request(stop_timeout=timeout, remove_images=rmi, remove_volumes=volumes,
                      lock_timeout=lock_timeout)  # fmt: skip
    with progress(json_output) as report:
        removed = target.down(stack_name, request, report)
    if json_output:
        print_data(target, {"stack": stack_name, "removed": removed})
    elif removed:
        print(f"stack {stack_name}: removed {removed} object(s)")
    else:
        print(f"stack {stack_name}: nothing to remove")
    return 0


@commands.command()
def plan(
    ctx: typer.Context,
    files: FilesOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
    target_name: TargetOption = None,
    registry: RegistryOption = None,
) -> int:
    """What `up` would do, and why; changes nothing."""
    target = chosen_target(ctx, "plan")
    the_plan = target.plan(source(ctx, files, project).stack(), Request(registry=registry))
    if json_output:
        print_data(target, the_plan.as_data())
    else:
        print(the_plan.text())
    return 0


@commands.command()
def status(
    ctx: typer.Context,
    files: FilesOption = None,
    project: ProjectOption = None,
    name: NameOption = None,
    json_output: JsonOption = False,
    watch: Annotated[bool, typer.Option("--watch", help="refresh until Ctrl-C")] = False,
    with_stats: Annotated[bool, typer.Option("--stats", help="CPU and memory per replica")] = False,
    interval: Annotated[float, typer.Option("--interval", help="--watch: seconds")] = 2.0,
    target_name: TargetOption = None,
) -> int:
    """Every replica of the stack: state, health, ports, image, restarts, uptime (and node)."""
    target = chosen_target(ctx, "status")
    stack_name = name or source(ctx, files, project).name()
    from deployer.unchanged.answer import on_target

    where = on_target(target.name)

    def render() -> str:
        replicas = target.status(stack_name)
        if json_output:
            data = [r.as_data() for r in replicas]
            if with_stats:
                from deployer import operate  # off the start-up path of `up`

                sampled = {s.container: s.stats for s in operate.stats(stack_name)}
                for row in data:
                    found = sampled.get(str(row["container"]))
                    row["stats"] = found.__dict__ if found else None
            return json.dumps(
                {"schema_version": SCHEMA_VERSION, "target": target.name, "stack": stack_name,
                 "replicas": data},
                indent=2,
            )  # fmt: skip
        if not replicas:
            return f"stack {stack_name}: no {_noun(target)}s" + where
        from deployer.core.status import addresses

        text = status_table(replicas)
        reach = addresses(replicas, target.engine_address())
        if any(address.server for address in reach):  # a server's ports: say how to get there
            text += "\n\n" + "\n".join(address.text() for address in reach)
        if with_stats:
            from deployer import operate

            text += "\n\n" + stats_table(operate.stats(stack_name))
        return text

    if not watch:
        print(render())
        return 0
    return _watch(render, interval)


def _watch(render: Callable[[], str], interval: float) -> int:
    """Redraw in place on a terminal (plain repeats elsewhere) until Ctrl-C, which is exit 0."""
    try:
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            with Live(Text(render()), console=Console(), auto_refresh=False) as live:
                while True:
                    time.sleep(interval)
                    live.update(Text(render()), refresh=True)
        while True:
            print(render(), flush=True)
            print(flush=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0


commands.command("ps", hidden=True, help="The same as status (docker compose ps).")(status)


def _one_by_one(
    target: Target, verb: str, action: Callable[[Report], int], json_output: bool, stack: str
) -> int:
    with progress(json_output) as report:
        count = action(report)
    if json_output:
        print_data(target, {"stack": stack, verb: count})
    else:
        print(f"stack {stack}: {verb} {count} {_noun(target)}(s)")
    return 0


@commands.command()
def restart(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
    target_name: TargetOption = None,
) -> int:
    """Restart replicas one at a time; behind nginx, out of rotation while they restart."""
    target = chosen_target(ctx, "restart")
    stack = source(ctx, files, project).stack()
    request = Request(services=tuple(services or ()))
    return _one_by_one(target, "restarted", lambda report: target.restart(stack, request, report),
                       json_output, stack.name)  # fmt: skip


@commands.command()
def stop(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    name: NameOption = None,
    json_output: JsonOption = False,
    target_name: TargetOption = None,
) -> int:
    """Stop replicas (each with its grace period); `start` or `up` starts them again."""
    target = chosen_target(ctx, "stop")
    stack_name = name or source(ctx, files, project).name()
    request = Request(services=tuple(services or ()))
    return _one_by_one(target, "stopped", lambda report: target.stop(stack_name, request, report),
                       json_output, stack_name)  # fmt: skip


@commands.command()
def start(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    name: NameOption = None,
    json_output: JsonOption = False,
    target_name: TargetOption = None,
) -> int:
    """Start stopped replicas and wait until they are healthy."""
    target = chosen_target(ctx, "start")
    stack_name = name or source(ctx, files, project).name()
    request = Request(services=tuple(services or ()))
    return _one_by_one(target, "started", lambda report: target.start(stack_name, request, report),
                       json_output, stack_name)  # fmt: skip


@commands.command("ls")
def list_stacks(
    ctx: typer.Context, json_output: JsonOption = False, target_name: TargetOption = None
) -> int:
    """Every stack on the target (from labels): services, replicas running/healthy, ports."""
    target = chosen_target(ctx, "ls")
    found = target.stacks()
    if json_output:
        print_data(target, {"stacks": [s.as_data() for s in found]})
    elif found:
        print(stack_list_table(found))
    else:
        print("no stacks")
    return 0


@commands.command()
def config(
    ctx: typer.Context,
    files: FilesOption = None,
    project: ProjectOption = None,
    output_format: Annotated[
        str, typer.Option("--format", help="yaml | json", show_default=True)
    ] = "yaml",
    show_values: Annotated[
        bool,
        typer.Option(
            "--show-values",
            help="print values from the environment and env files (hidden by default: they "
            "may be secrets)",
        ),
    ] = False,
) -> int:
    """The stack as deployer will deploy it: files merged, names resolved, defaults filled in."""
    if output_format not in {"yaml", "json"}:
        raise typer.BadParameter(f"{output_format!r}: choose yaml or json", param_hint="--format")
    chosen = source(ctx, files, project)
    stack = chosen.stack()
    data = stack.model_dump(mode="json", exclude_defaults=False)
    if not show_values:
        data = _concealed(chosen, data)
    if output_format == "json":
        print_json(data)
    else:
        import yaml  # only this command prints YAML

        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    return 0


def _concealed(chosen: StackSource, data: dict[str, Any]) -> dict[str, Any]:
    from deployer.stackfile import conceal

    return conceal.concealed(data, chosen.text(), chosen.outside_values())


@commands.command()
def build(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="build every step again")] = False,
    json_output: JsonOption = False,
    target_name: TargetOption = None,
    registry: RegistryOption = None,
) -> int:
    """Build the images of the services that have `build` (on a swarm: and push them)."""
    target = chosen_target(ctx, "build")
    stack = source(ctx, files, project).stack()
    request = Request(services=tuple(services or ()), no_cache=no_cache, registry=registry)
    with progress(json_output) as report:
        built = target.build(stack, request, report)
    return _per_service(target, built, json_output)


def _per_service(target: Target, results: dict[str, str], json_output: bool) -> int:
    """service -> image reference or id, as JSON ("images") or one line each."""
    if json_output:
        print_data(target, {"images": results})
    else:
        for service, value in results.items():
            print(f"{service}: {value}")
    return 0


@commands.command()
def pull(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
    target_name: TargetOption = None,
) -> int:
    """Pull the images of the services that have `image` (deployer's own bases: bootstrap)."""
    target = chosen_target(ctx, "pull")
    stack = source(ctx, files, project).stack()
    with progress(json_output) as report:
        pulled = target.pull(stack, Request(services=tuple(services or ())), report)
    if not json_output:
        pulled = {name: image.removeprefix("sha256:")[:12] for name, image in pulled.items()}
    return _per_service(target, pulled, json_output)
