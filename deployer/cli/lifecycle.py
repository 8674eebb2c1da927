"""up, down, plan, status (ps), rollback, restart/stop/start, ls, config, build, pull."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from deployer import api
from deployer.cli.app import (
    FilesOption,
    JsonOption,
    LockOption,
    NameOption,
    PlatformOption,
    ProjectOption,
    RegistryOption,
    ServicesArgument,
    Target,
    on_swarm,
    print_json,
    target,
)
from deployer.cli.output import stack_list_table, stats_table, status_table
from deployer.cli.progress import progress
from deployer.core.events import Report
from deployer.model.spec import Stack

commands = typer.Typer()  # put on the root app by deployer.cli.main

TimeoutOption = Annotated[
    float | None, typer.Option("--timeout", help="seconds to wait for health (default: derived)")
]


def _print_deployment(deployment: api.Deployment, as_json: bool) -> None:
    if as_json:
        print_json(deployment.as_data())
        return
    print(status_table(deployment.replicas))
    if deployment.plan.empty:
        print(f"\nstack {deployment.stack}: nothing to do; every container is healthy")
    else:
        print(f"\nstack {deployment.stack} is up and healthy in {deployment.seconds:.1f}s")
    probed = sum(r.probed for r in deployment.replicas)
    if probed:
        print(
            f"  ({probed} container(s) passed their healthcheck when deployer ran it; "
            "Docker's own verdict follows at its first interval)"
        )
    for service, url in deployment.urls().items():
        print(f"  {service}: {url}")


def _scaled(stack: Stack, scale: list[str]) -> Stack:
    """--scale web=3 (repeatable): replicas as given, for this run."""
    counts: dict[str, int] = {}
    for item in scale:
        service, _, count = item.partition("=")
        if not count.isdigit():
            raise typer.BadParameter(f"{item!r}: expected SERVICE=NUMBER", param_hint="--scale")
        counts[service] = int(count)
    api.selected(stack, list(counts), deps=False)  # unknown names are an error
    services = tuple(
        s.model_copy(update={"replicas": counts[s.name]}) if s.name in counts else s
        for s in stack.services
    )
    return stack.model_copy(update={"services": services})


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
    lock_timeout: LockOption = api.LOCK_TIMEOUT,
    engine_health: Annotated[
        bool,
        typer.Option(
            "--engine-health",
            help="also wait for Docker's own first healthcheck of each new container "
            "(it runs one interval after the start)",
        ),
    ] = False,
    platform: PlatformOption = "engine",
    registry: RegistryOption = None,
) -> int:
    """Build, create and start the stack (or some services); wait until healthy."""
    if on_swarm(platform):
        from deployer.cli import on_swarm as swarm_cli

        return swarm_cli.up(target(ctx, files, project).stack(), registry, timeout, json_output)
    if pull not in {"always", "missing", "never"}:
        raise typer.BadParameter(f"{pull!r}: choose always, missing or never", param_hint="--pull")
    policy: Literal["always", "missing", "never"] = pull  # type: ignore[assignment]
    stack = _scaled(target(ctx, files, project).stack(), scale or [])
    options = api.UpOptions(
        services=tuple(services or ()), no_deps=no_deps, force_recreate=force_recreate,
        build=not no_build, pull=policy, engine_health=engine_health,
    )  # fmt: skip
    with progress(json_output) as report:
        deployment = api.up(
            stack, report=report, timeout=timeout, bootstrap=not no_bootstrap,
            lock_timeout=lock_timeout, options=options,
        )  # fmt: skip
    _print_deployment(deployment, json_output)
    return 0


@commands.command()
def rollback(
    ctx: typer.Context,
    files: FilesOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = None,
    lock_timeout: LockOption = api.LOCK_TIMEOUT,
    platform: PlatformOption = "engine",
) -> int:
    """Return every service to the version its containers replaced."""
    if on_swarm(platform):
        from deployer.cli import on_swarm as swarm_cli

        return swarm_cli.rollback(target(ctx, files, project).name(), timeout, json_output)
    stack = target(ctx, files, project).stack()
    with progress(json_output) as report:
        deployment = api.rollback(stack, report=report, timeout=timeout, lock_timeout=lock_timeout)
    _print_deployment(deployment, json_output)
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
    lock_timeout: LockOption = api.LOCK_TIMEOUT,
    platform: PlatformOption = "engine",
) -> int:
    """Stop and remove the stack's containers, networks and deployer's own volumes."""
    stack_name = name or target(ctx, files, project).name()
    if on_swarm(platform):
        from deployer.cli import on_swarm as swarm_cli

        if volumes or rmi:
            # A swarm's volumes and images live on each node: the manager cannot remove them.
            raise typer.BadParameter(
                "not on a swarm: named volumes and images live on each node; remove them there "
                "(`docker volume rm`, `docker image rm` against each node's engine)",
                param_hint="--volumes" if volumes else "--rmi",
            )
        return swarm_cli.down(stack_name, json_output)
    with progress(json_output) as report:
        removed = api.down(
            stack_name, report=report, stop_timeout=timeout, remove_images=rmi,
            lock_timeout=lock_timeout, remove_volumes=volumes,
        )  # fmt: skip
    if json_output:
        print_json({"stack": stack_name, "removed": removed})
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
    platform: PlatformOption = "engine",
    registry: RegistryOption = None,
) -> int:
    """What `up` would do, and why; changes nothing."""
    if on_swarm(platform):
        from deployer.cli import on_swarm as swarm_cli

        return swarm_cli.plan(target(ctx, files, project).stack(), registry, json_output)
    the_plan = api.plan(target(ctx, files, project).stack())
    if json_output:
        print_json(the_plan.as_data())
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
    platform: PlatformOption = "engine",
) -> int:
    """Every replica of the stack: state, health, ports, image, restarts, uptime."""
    from deployer import operate  # off the start-up path of `up`

    stack_name = name or target(ctx, files, project).name()

    def render() -> str:
        if on_swarm(platform):
            from deployer.cli import on_swarm as swarm_cli

            return swarm_cli.status(stack_name, json_output)
        replicas = api.status(stack_name)
        if json_output:
            data = [r.as_data() for r in replicas]
            if with_stats:
                sampled = {s.container: s.stats for s in operate.stats(stack_name)}
                for row in data:
                    found = sampled.get(str(row["container"]))
                    row["stats"] = found.__dict__ if found else None
            return json.dumps(data, indent=2)
        if not replicas:
            return f"stack {stack_name}: no containers"
        text = status_table(replicas)
        if with_stats:
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
    verb: str, action: Callable[[Report], int], json_output: bool, stack_name: str
) -> int:
    with progress(json_output) as report:
        count = action(report)
    if json_output:
        print_json({"stack": stack_name, verb: count})
    else:
        print(f"stack {stack_name}: {verb} {count} container(s)")
    return 0


@commands.command()
def restart(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> int:
    """Restart replicas one at a time; behind nginx, out of rotation while they restart."""
    from deployer import operate  # off the start-up path of `up`

    stack = target(ctx, files, project).stack()
    return _one_by_one(
        "restarted",
        lambda report: operate.restart(stack, tuple(services or ()), report=report),
        json_output,
        stack.name,
    )


@commands.command()
def stop(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    name: NameOption = None,
    json_output: JsonOption = False,
) -> int:
    """Stop replicas (each with its grace period); `start` or `up` starts them again."""
    from deployer import operate  # off the start-up path of `up`

    stack_name = name or target(ctx, files, project).name()
    return _one_by_one(
        "stopped",
        lambda report: operate.stop(stack_name, tuple(services or ()), report=report),
        json_output,
        stack_name,
    )


@commands.command()
def start(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    name: NameOption = None,
    json_output: JsonOption = False,
) -> int:
    """Start stopped replicas and wait until they are healthy."""
    from deployer import operate  # off the start-up path of `up`

    stack_name = name or target(ctx, files, project).name()
    return _one_by_one(
        "started",
        lambda report: operate.start(stack_name, tuple(services or ()), report=report),
        json_output,
        stack_name,
    )


@commands.command("ls")
def list_stacks(json_output: JsonOption = False) -> int:
    """Every stack on the engine (from labels): services, replicas running/healthy, ports."""
    from deployer import operate  # off the start-up path of `up`

    found = operate.stacks()
    if json_output:
        print_json([s.as_data() for s in found])
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
    chosen = target(ctx, files, project)
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


def _concealed(chosen: Target, data: dict[str, Any]) -> dict[str, Any]:
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
) -> int:
    """Build the images of the services that have `build`."""
    from deployer import operate  # off the start-up path of `up`

    stack = target(ctx, files, project).stack()
    with progress(json_output) as report:
        built = operate.build(stack, tuple(services or ()), no_cache=no_cache, report=report)
    return _per_service(built, json_output)


def _per_service(results: dict[str, str], json_output: bool) -> int:
    """service -> image reference or id, as JSON or one line each."""
    if json_output:
        print_json(results)
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
) -> int:
    """Pull the images of the services that have `image` (deployer's own bases: bootstrap)."""
    from deployer import operate  # off the start-up path of `up`

    stack = target(ctx, files, project).stack()
    with progress(json_output) as report:
        pulled = operate.pull(stack, tuple(services or ()), report=report)
    if not json_output:
        pulled = {name: image.removeprefix("sha256:")[:12] for name, image in pulled.items()}
    return _per_service(pulled, json_output)
