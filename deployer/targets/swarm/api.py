"""The scripting API for a Swarm target: up, plan, status, down of a stack on a Swarm manager.

Two engines take part: the manager (DOCKER_HOST, or `manager=`) runs the services; the engine
where deployer runs (DEPLOYER_BUILD_HOST, else the local socket) builds the images and pushes
them to the registry (DEPLOYER_REGISTRY, or `registry=`) that every node pulls from.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from deployer.core.events import Note, PlanMade, Report, log
from deployer.core.plan import Plan
from deployer.core.status import Deployment, LogLine, ReplicaStatus, front_door, since_seconds
from deployer.deploy.lock import DeployLock
from deployer.engine import Engine
from deployer.engine.protocol import SwarmEngine
from deployer.images import build as images
from deployer.model.errors import StackError
from deployer.model.spec import Stack, stack_name
from deployer.stackfile import load
from deployer.targets.swarm import apply as swarm
from deployer.targets.swarm import logs as swarm_logs

LOCAL_ENGINE = "unix:///var/run/docker.sock"
LOCK_TIMEOUT = 600.0


def connect(docker_host: str | None = None) -> SwarmEngine:
    """The Swarm manager `docker_host` names (else DOCKER_HOST, else the Docker context);
    raises if it is none."""
    from deployer.engine.docker_engine import DockerEngine  # docker loads only when connecting
    from deployer.local.engine_address import chosen_address

    engine = DockerEngine(base_url=docker_host or chosen_address())
    swarm.check_target(engine)
    return engine


def build_engine() -> Engine:
    """Where images are built and pushed from: DEPLOYER_BUILD_HOST, else the local engine."""
    from deployer.engine.docker_engine import DockerEngine

    engine = DockerEngine(base_url=os.environ.get("DEPLOYER_BUILD_HOST") or LOCAL_ENGINE)
    engine.ping()
    return engine


def registry_of(registry: str | None) -> str:
    found = registry or os.environ.get("DEPLOYER_REGISTRY", "")
    if not found:
        raise StackError(
            "--registry",
            ["a swarm's nodes pull images from a registry: pass --registry HOST:PORT (or set "
             "DEPLOYER_REGISTRY); `python -m deployer cluster up` prints its own"],
        )  # fmt: skip
    return found.removeprefix("http://").removeprefix("https://").rstrip("/")


@dataclass(frozen=True)
class SwarmUpOptions:
    """How `up` goes about it on a swarm (the engine's flags of the same names)."""

    force_recreate: bool = False  # replace every task even when its service matches
    build: bool = True  # False: an image that needs building is an error
    pull: images.PullPolicy = "missing"
    bootstrap: bool = True  # build deployer's base images where deployer runs when missing


def up(
    stack: Stack,
    manager: SwarmEngine | None = None,
    builder: Engine | None = None,
    registry: str | None = None,
    report: Report = log,
    timeout: float | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    options: SwarmUpOptions = SwarmUpOptions(),
) -> Deployment:
    """Build, push and deploy `stack` onto the swarm; return once every changed service runs
    its tasks of the new spec, healthy. A failed update is rolled back by the swarm itself
    (update.failure_action) and raised as DeployFailed with the swarm's reason."""
    started = time.monotonic()
    stack = load.checked(stack, "stack")
    target_registry = registry_of(registry)
    manager = manager or connect()
    nodes = swarm.check_target(manager)
    swarm.validate(stack, nodes, report)
    builder = builder or build_engine()
    force = frozenset(s.name for s in stack.services) if options.force_recreate else frozenset()
    with DeployLock(stack.name, lock_timeout, report, manager, "up"):
        built = images.prepare(builder, stack, report, bootstrap=options.bootstrap,
                               build=options.build, pull=options.pull)  # fmt: skip
        # Images count by id in the plan: nothing to push when every service matches.
        the_plan = swarm.plan(stack, manager, built, target_registry, force)
        if the_plan.empty:
            report(PlanMade(the_plan))
        else:
            references = swarm.push_images(builder, stack, built, target_registry, report)
            the_plan = swarm.apply(stack, manager, built, references, report, timeout, force)
    made_from = {image.reference: image.id for image in built.values()}
    return _deployment(stack.name, the_plan, manager, started, front_door(stack), made_from)


def _deployment(
    name: str,
    the_plan: Plan,
    manager: SwarmEngine,
    started: float,
    front: str | None = None,
    built: dict[str, str] | None = None,
) -> Deployment:
    return Deployment(name, the_plan, swarm.status(manager, name), time.monotonic() - started,
                      front_door=front, target="swarm", built=built or {})  # fmt: skip


def rollback(
    stack: Stack | str,
    manager: SwarmEngine | None = None,
    report: Report = log,
    timeout: float | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> Deployment:
    """Every service back to the spec its last update replaced; returns once its tasks of that
    spec run healthy. Rolling back twice returns to the newer one."""
    started = time.monotonic()
    name = stack_name(stack)
    manager = manager or connect()
    with DeployLock(name, lock_timeout, report, manager, "rollback"):
        report(Note(f"rolling back stack {name} to its previous version on the swarm"))
        the_plan = swarm.rollback(manager, name, report, timeout)
    front = front_door(stack) if isinstance(stack, Stack) else None
    return _deployment(name, the_plan, manager, started, front)


def restart(
    stack: Stack | str,
    services: tuple[str, ...] = (),
    manager: SwarmEngine | None = None,
    report: Report = log,
    timeout: float | None = None,
) -> int:
    """Replace the services' tasks (all when none are named), rolled like an update."""
    name = stack_name(stack)
    manager = manager or connect()
    with DeployLock(name, LOCK_TIMEOUT, report, manager, "restart"):
        return swarm.restart(manager, name, services, report, timeout)


def logs(
    stack: Stack | str,
    services: list[str] | tuple[str, ...] = (),
    *,
    manager: SwarmEngine | None = None,
    follow: bool = False,
    since: str | None = None,
    tail: int | None = None,
    stop_event: threading.Event | None = None,
) -> Iterator[LogLine]:
    """Every task's lines, from every node, in time order; with `follow`, then live until
    `stop_event` (or the consumer stops iterating)."""
    name = stack_name(stack)
    manager = manager or connect()
    observed = swarm.observe(manager, name)
    wanted = swarm.named_services(observed, services)
    after = since_seconds(since)
    if not follow:
        yield from swarm_logs.backlog(manager, observed, wanted, after, tail)
        return
    stop_event = stop_event or threading.Event()
    try:
        yield from swarm_logs.follow(manager, observed, wanted, after, tail, stop_event)
    finally:
        stop_event.set()


def plan(
    stack: Stack,
    manager: SwarmEngine | None = None,
    builder: Engine | None = None,
    registry: str | None = None,
) -> Plan:
    """What `up` would do on the swarm; builds, pushes and changes nothing."""
    stack = load.checked(stack, "stack")
    manager = manager or connect()
    swarm.validate(stack, swarm.check_target(manager), log)
    resolved = images.resolve_without_building(builder or build_engine(), stack)
    return swarm.plan(stack, manager, resolved, registry_of(registry) if registry else "registry")


def status(stack: Stack | str, manager: SwarmEngine | None = None) -> list[ReplicaStatus]:
    """One row per task the swarm wants running, with its node."""
    name = stack_name(stack)
    return swarm.status(manager or connect(), name)


def down(
    stack: Stack | str,
    manager: SwarmEngine | None = None,
    report: Report = log,
    lock_timeout: float = LOCK_TIMEOUT,
) -> int:
    """Remove the stack's services (their tasks on every node), configs, secrets, networks."""
    name = stack_name(stack)
    manager = manager or connect()
    with DeployLock(name, lock_timeout, report, manager, "down"):
        return swarm.down(manager, name, report)


__all__ = [
    "Deployment",
    "ReplicaStatus",
    "SwarmUpOptions",
    "build_engine",
    "connect",
    "down",
    "logs",
    "plan",
    "restart",
    "rollback",
    "status",
    "up",
]
