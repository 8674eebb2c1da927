"""The daily operations on a running stack, for scripts as for the CLI: logs, exec, one-off runs,
stop/start/restart, every stack on the engine, builds and pulls, the resolved configuration.
"""

from __future__ import annotations

import dataclasses
import secrets
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from deployer import api
from deployer.core import labels
from deployer.core.events import ContainerRemoved, ContainerStarted, Report, log
from deployer.core.render import ContainerPlan
from deployer.core.state import ContainerInfo, replica_of
from deployer.core.status import LogLine, StackSummary
from deployer.deploy.lock import DeployLock
from deployer.engine import Engine
from deployer.engine.protocol import ContainerStats
from deployer.images import build as images
from deployer.model.errors import NotFound
from deployer.model.spec import Stack, stack_name
from deployer.targets.engine import attach, replicas
from deployer.targets.engine import logs as log_streams
from deployer.targets.engine.desired import DesiredStack
from deployer.targets.engine.observe import named_services, observe
from deployer.targets.engine.observe import stacks as every_stack

__all__ = [
    "LogLine",
    "ReplicaStats",
    "StackSummary",
    "build",
    "exec_command",
    "logs",
    "pull",
    "restart",
    "run_once",
    "stacks",
    "start",
    "stats",
    "stop",
]


def logs(
    stack: Stack | str,
    services: list[str] | tuple[str, ...] = (),
    *,
    follow: bool = False,
    since: str | None = None,
    tail: int | None = None,
    engine: Engine | None = None,
    stop_event: threading.Event | None = None,
) -> Iterator[LogLine]:
    """Every replica's log lines in time order; with `follow`, then live until `stop_event`
    (or the consumer stops iterating), taking in replicas that appear meanwhile."""
    return log_streams.stack_lines(
        engine or api.connect(stack), stack_name(stack), services,
        follow=follow, since=since, tail=tail, stop_event=stop_event,
    )  # fmt: skip


def _replica(engine: Engine, stack: str, service: str, index: int) -> ContainerInfo:
    observed = observe(engine, stack)
    named_services(observed, [service])
    for container in observed.service_containers(service):
        if replica_of(container) == index and container.state == "running":
            return container
    raise NotFound(
        f"replica {index} of {service} in stack {stack} is not running",
        hint=f"`python -m deployer status --name {stack}` lists the replicas",
    )


def exec_command(
    stack: Stack | str,
    service: str,
    command: list[str],
    *,
    index: int = 1,
    tty: bool | None = None,
    interactive: bool = True,
    user: str | None = None,
    workdir: str | None = None,
    env: dict[str, str] | None = None,
    engine: Engine | None = None,
) -> int:
    """Run `command` in a running replica, wired to this process's stdio; its exit code.

    `tty` defaults to whether stdin is a terminal: raw mode and window size then, plain pipes
    otherwise (stdin forwarded until it ends when `interactive`).
    """
    engine = engine or api.connect(stack)
    container = _replica(engine, stack_name(stack), service, index)
    use_tty = sys.stdin.isatty() if tty is None else tty
    session = engine.exec_session(
        container.id, command, tty=use_tty, stdin=interactive, user=user, workdir=workdir,
        env=env,
    )  # fmt: skip
    attach.pump(engine, session, container.id, forward_stdin=interactive)
    return engine.exec_exit_code(session)


def run_once(
    stack: Stack,
    service: str,
    command: list[str] | None = None,
    *,
    remove: bool = True,
    deps: bool = True,
    env: dict[str, str] | None = None,
    tty: bool | None = None,
    interactive: bool = True,
    engine: Engine | None = None,
    report: Report = log,
) -> int:
    """A one-off container of `service` (its image, env, mounts and networks; no published
    ports, not behind the proxy, not a replica), wired to this process's stdio; its exit code.

    Its dependencies are brought up first unless `deps` is False; `remove` leaves nothing.
    """
    engine = engine or api.connect(stack)
    chosen = api.selected(stack, [service], deps)
    needed = chosen - {service}
    built = images.prepare(engine, stack, report, services=chosen)
    desired = DesiredStack(stack, built)
    with DeployLock(stack.name, api.LOCK_TIMEOUT, report, engine, "run"):
        api.converge(stack, engine, desired, report, only=needed)
    use_tty = sys.stdin.isatty() if tty is None else tty
    plan = one_off_plan(desired, service, command, env or {}, use_tty, interactive)
    container_id = engine.create_container(plan)
    try:
        session = engine.attach_session(container_id, tty=use_tty)
        engine.start(container_id)
        report(ContainerStarted(plan.name, "run"))
        attach.pump(engine, session, container_id, forward_stdin=interactive)
        return engine.wait(container_id)
    finally:
        if remove:
            engine.remove_container(container_id)
            report(ContainerRemoved(plan.name, "run --rm"))


def one_off_plan(
    desired: DesiredStack,
    service_name: str,
    command: list[str] | None,
    env: dict[str, str],
    tty: bool,
    interactive: bool,
) -> ContainerPlan:
    """The service's create body, made a one-off: no replica labels, ports, healthcheck or
    restart policy; its own name; stdio attachable."""
    service = desired.stack.service(service_name)
    suffix = secrets.token_hex(4)
    name = labels.one_off_name(desired.stack.name, service_name, suffix)
    plan = desired.container(service, 0, name)
    body = dict(plan.body)
    keep = {k: v for k, v in body["Labels"].items() if not k.startswith(labels.PREFIX + ".")}
    body["Labels"] = {
        **keep,
        labels.STACK: desired.stack.name,
        labels.ONE_OFF: service_name,
        labels.VERSION: labels.FORMAT_VERSION,
        # a throwaway's session label survives: its reaper removes its one-offs too
        **{k: v for k, v in body["Labels"].items() if k in {labels.SESSION, labels.THROWAWAY}},
    }
    body["Env"] = sorted([*body["Env"], *(f"{k}={v}" for k, v in env.items())])
    body.pop("Healthcheck", None)
    body.pop("ExposedPorts", None)
    host = dict(body["HostConfig"])
    host["PortBindings"] = {}
    host["RestartPolicy"] = {"Name": ""}
    body["HostConfig"] = host
    if command:
        body["Cmd"] = list(command)
    body.update(Tty=tty, OpenStdin=interactive, StdinOnce=interactive, AttachStdin=interactive,
                AttachStdout=True, AttachStderr=True)  # fmt: skip
    return dataclasses.replace(plan, body=body)


def stop(
    stack: Stack | str,
    services: list[str] | tuple[str, ...] = (),
    *,
    engine: Engine | None = None,
    report: Report = log,
) -> int:
    """Stop running replicas (dependants first), each with its grace period. Docker will not
    restart them; `start` or `up` does. Returns how many stopped."""
    engine = engine or api.connect(stack)
    observed = observe(engine, stack_name(stack))
    with DeployLock(observed.stack, api.LOCK_TIMEOUT, report, engine, "stop"):
        return replicas.stop(engine, observed, named_services(observed, services), report)


def start(
    stack: Stack | str,
    services: list[str] | tuple[str, ...] = (),
    *,
    engine: Engine | None = None,
    report: Report = log,
    timeout: float = 120.0,
) -> int:
    """Start stopped replicas (dependencies first) and wait until they are healthy."""
    engine = engine or api.connect(stack)
    observed = observe(engine, stack_name(stack))
    with DeployLock(observed.stack, api.LOCK_TIMEOUT, report, engine, "start"):
        return replicas.start(engine, observed, named_services(observed, services), report, timeout)


def restart(
    stack: Stack,
    services: list[str] | tuple[str, ...] = (),
    *,
    engine: Engine | None = None,
    report: Report = log,
) -> int:
    """Restart running replicas one at a time; behind a proxy, out of rotation meanwhile."""
    engine = engine or api.connect(stack)
    with DeployLock(stack.name, api.LOCK_TIMEOUT, report, engine, "restart"):
        observed = observe(engine, stack.name)
        chosen = named_services(observed, services)
        desired = DesiredStack(stack, images.resolve_without_building(engine, stack))
        return replicas.restart(engine, desired, observed, chosen, report)


def stacks(engine: Engine | None = None) -> list[StackSummary]:
    """Every stack on the engine, from its containers' labels alone."""
    return every_stack(engine or api.connect())


@dataclass(frozen=True)
class ReplicaStats:
    container: str
    stats: ContainerStats


def stats(stack: Stack | str, engine: Engine | None = None) -> list[ReplicaStats]:
    """CPU and memory of every running replica (sampled by the engine, in parallel)."""
    engine = engine or api.connect(stack)
    running = [c for c in observe(engine, stack_name(stack)).containers if c.state == "running"]
    if not running:
        return []
    with ThreadPoolExecutor(max_workers=len(running)) as pool:
        sampled = list(pool.map(lambda c: engine.stats(c.id), running))
    return [ReplicaStats(c.name, s) for c, s in zip(running, sampled, strict=True)]


def build(
    stack: Stack,
    services: list[str] | tuple[str, ...] = (),
    *,
    no_cache: bool = False,
    engine: Engine | None = None,
    report: Report = log,
) -> dict[str, str]:
    """Build the services' images (those with `build`); service -> image reference."""
    engine = engine or api.connect(stack)
    chosen = api.selected(stack, list(services), deps=False) if services else None
    built = images.prepare(engine, stack, report, services=chosen, no_cache=no_cache)
    return {
        s.name: built[s.name].reference
        for s in stack.services
        if s.build is not None and (chosen is None or s.name in chosen)
    }


def pull(
    stack: Stack,
    services: list[str] | tuple[str, ...] = (),
    *,
    engine: Engine | None = None,
    report: Report = log,
) -> dict[str, str]:
    """Pull the services' images (those with `image`); deployer's own bases are bootstrapped,
    since no registry serves them. Service -> image id."""
    engine = engine or api.connect(stack)
    chosen = api.selected(stack, list(services), deps=False) if services else None
    found = {}
    for service in stack.services:
        if service.image is None or (chosen is not None and service.name not in chosen):
            continue
        found[service.name] = images.ensure_present(
            engine, service.image, report, bootstrap=True, pull="always"
        )
    return found
