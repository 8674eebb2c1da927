"""The scripting API: up, down, status, plan. Results are typed; failures are DeployerErrors."""

from __future__ import annotations

import time
from dataclasses import dataclass

from deployer.core import labels
from deployer.core.events import Note, PlanMade, Report, log
from deployer.core.plan import Plan
from deployer.core.state import ContainerInfo, ObservedState
from deployer.core.status import Deployment, ReplicaStatus, front_door
from deployer.deploy.lock import DeployLock
from deployer.engine import Engine
from deployer.images import build as images
from deployer.model.errors import NotFound, StackError
from deployer.model.spec import Placement, Service, Stack, stack_name
from deployer.stackfile import load
from deployer.targets.engine import health, remove, rules
from deployer.targets.engine.apply import Apply
from deployer.targets.engine.desired import DesiredStack
from deployer.targets.engine.observe import observe, statuses
from deployer.targets.engine.reconcile import reconcile

LOCK_TIMEOUT = 600.0  # seconds a deploy waits for another one of the same stack


def connect(stack: Stack | str | None = None) -> Engine:
    """The engine a stack's `engine` names, else the one -H chose, else DOCKER_HOST's (or the
    Docker context's, or the default socket); raises if none answers."""
    from deployer.engine.docker_engine import connect  # docker loads only when connecting

    return connect(stack.engine if isinstance(stack, Stack) else None)


def checked(stack: Stack, source: str = "stack") -> Stack:
    """The rules every target shares and one engine's own; StackError listing every problem."""
    load.checked(stack, source)
    found = rules.problems(stack)
    if found:
        raise StackError(source, found)
    return stack


def plan(stack: Stack, engine: Engine | None = None, report: Report = log) -> Plan:
    """What `up` would do. Builds nothing and changes nothing; unbuilt images count as rebuilt."""
    engine = engine or connect(stack)
    stack = checked(stack)
    resolved = images.resolve_without_building(engine, stack)
    desired = DesiredStack(stack, resolved)
    return reconcile(stack, observe(engine, stack.name), desired.services)


@dataclass(frozen=True)
class UpOptions:
    """How `up` goes about it (Compose's flags of the same names)."""

    services: tuple[str, ...] = ()  # only these (and what they depend on); empty = all
    no_deps: bool = False  # with services: not their dependencies
    force_recreate: bool = False  # replace containers even when they match
    build: bool = True  # False: an image that needs building is an error
    pull: images.PullPolicy = "missing"
    # Return only once the engine itself calls every new container healthy (its first check
    # runs one `interval` after the start), not as soon as each healthcheck command passed.
    engine_health: bool = False


def up(
    stack: Stack,
    engine: Engine | None = None,
    report: Report = log,
    timeout: float | None = None,
    bootstrap: bool = True,
    lock_timeout: float = LOCK_TIMEOUT,
    options: UpOptions = UpOptions(),
) -> Deployment:
    """Converge the engine to `stack` and return once every container is healthy."""
    stack = checked(stack)
    engine = engine or connect(stack)
    with DeployLock(stack.name, lock_timeout, report, engine, "up"):
        return _up(stack, engine, report, timeout, bootstrap, options)


def selected(stack: Stack, services: tuple[str, ...] | list[str], deps: bool = True) -> set[str]:
    """The named services, plus (with `deps`) everything they depend on, transitively."""
    unknown = sorted(set(services) - {s.name for s in stack.services})
    if unknown:
        raise NotFound(
            f"stack {stack.name} has no service {', '.join(unknown)}",
            hint=f"its services: {', '.join(s.name for s in stack.services)}",
        )
    chosen = set(services)
    pending = list(services) if deps else []
    while pending:
        for dep in stack.service(pending.pop()).needs():
            if dep not in chosen:
                chosen.add(dep)
                pending.append(dep)
    return chosen


def _up(
    stack: Stack,
    engine: Engine,
    report: Report,
    timeout: float | None,
    bootstrap: bool,
    options: UpOptions = UpOptions(),
) -> Deployment:
    started = time.monotonic()
    for service in stack.services:
        if service.mode == "global" or service.placement != Placement() or service.rollback:
            report(
                Note(
                    f"services.{service.name}: mode, placement and rollback are Swarm "
                    f"settings; one engine runs its {service.replicas} replica(s) here"
                )
            )
    only = selected(stack, options.services, not options.no_deps) if options.services else None
    built = images.prepare(
        engine, stack, report, bootstrap=bootstrap, services=only, build=options.build,
        pull=options.pull,
    )  # fmt: skip
    desired = DesiredStack(stack, built)
    forced = frozenset(only or {s.name for s in stack.services}) if options.force_recreate else None
    the_plan, observed = converge(
        stack, engine, desired, report, only, forced, timeout, options.engine_health
    )
    return Deployment(
        stack=stack.name,
        plan=the_plan,
        # Nothing changed: what was observed is the status (no second round of inspections).
        replicas=_statuses(observed) if the_plan.empty else status(stack.name, engine),
        seconds=time.monotonic() - started,
        front_door=front_door(stack),
    )


def converge(
    stack: Stack,
    engine: Engine,
    desired: DesiredStack,
    report: Report,
    only: set[str] | None = None,
    force: frozenset[str] | None = None,
    timeout: float | None = None,
    engine_health: bool = False,
) -> tuple[Plan, ObservedState]:
    """Observe, plan and apply (the caller holds the deploy lock); the plan and what it saw."""
    observed = observe(engine, stack.name)
    the_plan = reconcile(stack, observed, desired.services, only, force or frozenset())
    report(PlanMade(the_plan))
    Apply(engine, desired, report, timeout, only, engine_health).run(the_plan, observed)
    return the_plan, observed


def rollback(
    stack: Stack,
    engine: Engine | None = None,
    report: Report = log,
    timeout: float | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> Deployment:
    """Return each service to the version its running containers replaced (zero-downtime).

    The previous version is read from the containers' labels; its image is still tagged. Services
    with no previous version stay as they run now. Rolling back twice returns to the newer one.
    """
    stack = checked(stack)
    engine = engine or connect(stack)
    with DeployLock(stack.name, lock_timeout, report, engine, "rollback"):
        observed = observe(engine, stack.name)
        services = []
        found_previous = False
        for service in stack.services:
            live = observed.service_containers(service.name)
            previous = _env_of(live, labels.PREVIOUS_SPEC_ENV)
            found_previous = found_previous or previous is not None
            spec_text = previous or _env_of(live, labels.SPEC_ENV)
            services.append(Service.model_validate_json(spec_text) if spec_text else service)
        if not found_previous:
            raise NotFound(
                f"stack {stack.name} has no previous version to roll back to",
                hint="a previous version is recorded when `up` replaces containers",
            )
        report(Note(f"rolling back stack {stack.name} to its previous version"))
        target = stack.model_copy(update={"services": tuple(services)})
        return _up(checked(target, "rollback"), engine, report, timeout, bootstrap=False)


def _env_of(containers: list[ContainerInfo], key: str) -> str | None:
    values = sorted({c.env[key] for c in containers if c.env.get(key)})
    return values[0] if values else None


def gc(engine: Engine | None = None, report: Report = log, everything: bool = False) -> int:
    """Remove throwaway stacks that no live test session holds (all of them with `everything`).

    A session is live while its reaper container runs. Only objects that carry the throwaway
    label and the dead session's label go: a stack of the same name that is not a throwaway,
    or another session's, is not touched. Returns how many objects were removed.
    """
    engine = engine or connect()
    throwaway = {"label": [f"{labels.THROWAWAY}=1"]}
    live = (
        set()
        if everything
        else {
            c.labels.get(labels.REAPER, "")
            for c in engine.containers({"label": [labels.REAPER]})
            if c.state == "running"
        }
    )
    found: list[dict[str, str]] = [
        *(c.labels for c in engine.containers(throwaway)),
        *(n.labels for n in engine.networks(throwaway)),
        *(v.labels for v in engine.volumes(throwaway)),
    ]
    dead = sorted(
        {
            (found_labels.get(labels.STACK, ""), found_labels.get(labels.SESSION, ""))
            for found_labels in found
            if found_labels.get(labels.SESSION) not in live
        }
    )
    removed = 0
    for name, session in dead:
        report(Note(f"removing throwaway stack {name}"))
        only = {labels.THROWAWAY: "1", labels.SESSION: session}
        with DeployLock(name, LOCK_TIMEOUT, report, engine, "gc"):
            how = remove.Removal(stop_timeout=0, remove_volumes=True, only=only)
            removed += remove.down(name, engine, report, how)
    return removed


def status(stack: Stack | str, engine: Engine | None = None) -> list[ReplicaStatus]:
    """One entry per container of the stack, read from labels (stack.py is not needed)."""
    name = stack_name(stack)
    engine = engine or connect(stack)
    return _statuses(observe(engine, name))


def _statuses(observed: ObservedState) -> list[ReplicaStatus]:
    return statuses(observed, health.passed_early)


def down(
    stack: Stack | str,
    engine: Engine | None = None,
    report: Report = log,
    stop_timeout: int | None = None,
    remove_images: bool = False,
    lock_timeout: float = LOCK_TIMEOUT,
    remove_volumes: bool = False,
) -> int:
    """Stop and remove every container and network of the stack. Returns how many objects.

    Named data volumes stay unless `remove_volumes`; with `remove_images`, the images deployer
    built for the stack go too.
    """
    name = stack_name(stack)
    engine = engine or connect(stack)
    how = remove.Removal(stop_timeout, remove_images, remove_volumes, lock_timeout)
    return remove.down(name, engine, report, how)


__all__ = [
    "LOCK_TIMEOUT",
    "Deployment",
    "ReplicaStatus",
    "UpOptions",
    "checked",
    "connect",
    "converge",
    "down",
    "gc",
    "plan",
    "rollback",
    "selected",
    "status",
    "up",
]
