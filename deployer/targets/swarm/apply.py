"""Deploying onto a Docker Swarm: observe services by label, reconcile, apply, and watch the
swarm roll its own tasks. Images are built where deployer runs, pushed to a registry every node
reaches, and run by digest, so every node runs exactly what was built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deployer.core import labels
from deployer.core.events import Note, ObjectCreated, ObjectRemoved, PlanMade, Report
from deployer.core.plan import CauseKind, Kind, Plan
from deployer.core.state import ServiceImage
from deployer.core.status import ReplicaStatus, StackSummary
from deployer.core.swarm_objects import ServiceInfo, TaskInfo
from deployer.engine import Engine
from deployer.engine.protocol import SwarmEngine
from deployer.local import keys
from deployer.model.errors import DeployFailed, EngineError, NotFound, StackError
from deployer.model.spec import Stack
from deployer.targets.swarm import render as swarm_render
from deployer.targets.swarm.reconcile import reconcile, rollback_plan
from deployer.targets.swarm.state import SwarmObserved
from deployer.targets.swarm.status import current_tasks, rows, summaries

KINDS = ("config", "secret")
CONVERGE_TIMEOUT = 300.0
POLL_SECONDS = 0.5
UNSCHEDULABLE_SECONDS = 15.0
_NO_NODE = "no suitable node"
_FAILED_UPDATE = {"paused", "rollback_started", "rollback_paused", "rollback_completed"}


def observe(engine: SwarmEngine, stack: str) -> SwarmObserved:
    selector = labels.stack_filter(stack)
    services = engine.services(selector)
    return SwarmObserved(
        stack=stack,
        services=services,
        tasks=engine.tasks([s.id for s in services]),
        networks={n.name: n.id for n in engine.networks(selector)},
        configs=engine.swarm_objects("config", selector),
        secrets=engine.swarm_objects("secret", selector),
        nodes=engine.nodes(),
    )


def stacks(engine: SwarmEngine) -> list[StackSummary]:
    """Every deployer stack on the swarm, from its services' labels and their tasks."""
    services = engine.services({"label": [labels.STACK]})
    every = SwarmObserved(stack="", services=services, tasks=engine.tasks([s.id for s in services]))
    return summaries(every)


def check_target(engine: SwarmEngine) -> int:
    """The number of nodes; an error unless the engine is a swarm manager."""
    info = engine.swarm()
    if info.state != "active" or not info.manager:
        raise EngineError(
            "the engine DOCKER_HOST names is not a Swarm manager (--target swarm)",
            hint="point DOCKER_HOST at a manager (`python -m deployer cluster up` starts a "
            "local test swarm and prints its DOCKER_HOST), or deploy with --target engine",
        )
    return info.nodes


@dataclass
class DesiredServices:
    """Every service's labelled spec and files, for given images."""

    stack: Stack
    images: dict[str, ServiceImage]
    references: dict[str, str]  # service -> what the tasks run (a digest reference)
    edge: bool
    # This user's key for the secrets' and configs' names (deployer.local.keys).
    object_key: bytes = field(default_factory=keys.object_key)
    files: dict[str, list[swarm_render.SwarmFile]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service in self.stack.services:
            template = (
                self.stack.resolve(service.proxy.template).read_text() if service.proxy else None
            )
            self.files[service.name] = swarm_render.files(
                self.stack, service, template, self.object_key
            )

    def spec(self, name: str, object_ids: dict[str, str] | None = None) -> dict[str, Any]:
        service = self.stack.service(name)
        body = swarm_render.service_spec(self.stack, service, self.references[name],
                                         self.files[name], object_ids or {}, self.edge)  # fmt: skip
        return swarm_render.labelled(body, self.stack.name, name, self.images[name].id)

    def specs(self) -> dict[str, dict[str, Any]]:
        return {service.name: self.spec(service.name) for service in self.stack.services}


def validate(stack: Stack, nodes: int, report: Report) -> None:
    problems = [p for s in stack.services for p in swarm_render.problems(stack, s, nodes)]
    if problems:
        raise StackError(f"stack {stack.name} on a {nodes}-node swarm", problems)
    for service in stack.services:
        for note in swarm_render.notes(stack, service):
            report(Note(f"swarm: {note}"))


def push_images(
    builder: Engine, stack: Stack, images: dict[str, ServiceImage], registry: str, report: Report
) -> dict[str, str]:
    """Push each image (once per image id); service -> `registry/repo@digest`."""
    pushed: dict[str, str] = {}
    references: dict[str, str] = {}
    for service in stack.services:
        image = images[service.name]
        if image.id not in pushed:
            repository = f"{registry}/{labels.image_repository(stack.name, service.name)}"
            tag = image.id.removeprefix("sha256:")[:12]
            report(Note(f"pushing {image.reference} to {repository}:{tag}"))
            digest = builder.push(image.id, repository, tag)
            pushed[image.id] = f"{repository}@{digest}"
        references[service.name] = pushed[image.id]
    return references


def plan(
    stack: Stack,
    engine: SwarmEngine,
    images: dict[str, ServiceImage],
    registry: str,
    force: frozenset[str] = frozenset(),
) -> Plan:
    observed = observe(engine, stack.name)
    # Before a push no digest is known: the plan compares image ids, so any reference does.
    references = {s.name: f"{registry}/{images[s.name].id}" for s in stack.services}
    desired = DesiredServices(stack, images, references, _has_edge(observed))
    return reconcile(stack, observed, desired.specs(), force)


def _has_edge(observed: SwarmObserved) -> bool:
    return any(node.labels.get(labels.EDGE_NODE) == "true" for node in observed.nodes)


def apply(
    stack: Stack,
    engine: SwarmEngine,
    images: dict[str, ServiceImage],
    references: dict[str, str],
    report: Report,
    timeout: float | None = None,
    force: frozenset[str] = frozenset(),
) -> Plan:
    observed = observe(engine, stack.name)
    desired = DesiredServices(stack, images, references, _has_edge(observed))
    the_plan = reconcile(stack, observed, desired.specs(), force)
    report(PlanMade(the_plan))
    if the_plan.empty:
        return the_plan
    for action in the_plan.actions:
        if action.kind is Kind.CREATE_NETWORK:
            engine.create_network(action.resource, "overlay", False,
                                  labels.network_labels(stack.name, action.resource),
                                  attachable=True)  # fmt: skip
            report(ObjectCreated("network", action.resource))
    object_ids = _ensure_objects(engine, stack, desired, observed, report)
    started = time.monotonic()
    changed: list[str] = []
    # The last update's start, per service: its outcome (say, rolled back) is not this one's.
    before = {s.name: s.update_started for s in observed.services}
    for action in the_plan.actions:
        if action.kind is Kind.CREATE:
            engine.create_service(desired.spec(action.service, object_ids))
            report(ObjectCreated("service", action.resource))
            changed.append(action.service)
        elif action.kind is Kind.UPDATE:
            live = observed.service(action.resource)
            assert live is not None
            spec = desired.spec(action.service, object_ids)
            if action.cause.kind is CauseKind.FORCED:
                spec = forced(spec, live)
            engine.update_service(live.id, live.version, spec)
            report(Note(f"service {action.resource} updating ({action.why()})"))
            changed.append(action.service)
        elif action.kind is Kind.REMOVE:
            engine.remove_service(action.object_id)
            report(ObjectRemoved("service", action.resource))
    limit = timeout or CONVERGE_TIMEOUT
    wait_converged(engine, stack.name, changed, report, limit, started, before)
    for action in the_plan.actions:
        if action.kind is Kind.REMOVE_NETWORK:
            _wait_tasks_gone(engine, [a.object_id for a in the_plan.actions
                                      if a.kind is Kind.REMOVE])  # fmt: skip
            engine.remove_network(action.object_id)
            report(ObjectRemoved("network", action.resource))
    _remove_unused_objects(engine, stack.name, report)
    return the_plan


def rollback(engine: SwarmEngine, stack: str, report: Report, timeout: float | None = None) -> Plan:
    """Every service back to the spec its last update replaced, rolled by the swarm like any
    update (start-first, health-monitored); rolling back twice returns to the newer spec."""
    observed = observe(engine, stack)
    the_plan = rollback_plan(stack, observed)
    if the_plan.empty:
        raise NotFound(
            f"stack {stack} has no previous version on the swarm to roll back to",
            hint="a previous version is kept when `up --target swarm` updates a service",
        )
    report(PlanMade(the_plan))
    started = time.monotonic()
    before = {s.name: s.update_started for s in observed.services}
    for action in the_plan.actions:
        live = observed.service(action.resource)
        assert live is not None and live.previous_spec is not None
        engine.update_service(live.id, live.version, live.previous_spec)
        report(Note(f"service {action.resource} rolling back ({action.why()})"))
    changed = [action.service for action in the_plan.actions]
    wait_converged(engine, stack, changed, report, timeout or CONVERGE_TIMEOUT, started, before)
    return the_plan


def forced(spec: dict[str, Any], live: ServiceInfo) -> dict[str, Any]:
    """`spec` with a ForceUpdate counter past the live one's: the swarm replaces every task
    (`docker service update --force`), rolled as its update_config says."""
    count = int((live.spec.get("TaskTemplate") or {}).get("ForceUpdate") or 0)
    return {**spec, "TaskTemplate": {**spec["TaskTemplate"], "ForceUpdate": count + 1}}


def restart(
    engine: SwarmEngine,
    stack: str,
    services: tuple[str, ...],
    report: Report,
    timeout: float | None = None,
) -> int:
    """Replace every task of the services (all when none are named) as a rolling update of the
    same spec, out of DNS while they start; returns how many tasks were replaced."""
    observed = observe(engine, stack)
    present = named_services(observed, services)
    started = time.monotonic()
    before = {s.name: s.update_started for s in observed.services}
    replaced: set[str] = set()
    for live in present.values():
        engine.update_service(live.id, live.version, forced(live.spec, live))
        report(Note(f"service {live.name} restarting its tasks"))
        replaced |= {task.id for task in current_tasks(live, observed.tasks)}
    limit = timeout or CONVERGE_TIMEOUT
    wait_converged(engine, stack, list(present), report, limit, started, before,
                   frozenset(replaced))  # fmt: skip
    return len(replaced)


def named_services(observed: SwarmObserved, services: tuple[str, ...] | list[str]
                   ) -> dict[str, ServiceInfo]:  # fmt: skip
    """The stack's services by name: those named (all when none are), or NotFound (exit 7)."""
    present = {s.labels.get(labels.SERVICE, ""): s for s in observed.services}
    unknown = sorted(set(services) - set(present))
    if unknown:
        raise NotFound(
            f"stack {observed.stack} runs no service {', '.join(unknown)} on the swarm",
            hint=f"it runs: {', '.join(sorted(present)) or 'nothing'}",
        )
    return {name: present[name] for name in (services or sorted(present))}


def _ensure_objects(
    engine: SwarmEngine,
    stack: Stack,
    desired: DesiredServices,
    observed: SwarmObserved,
    report: Report,
) -> dict[str, str]:
    """Configs and secrets the specs use, created when missing: name -> id."""
    existing = {o.name: o.id for o in [*observed.configs, *observed.secrets]}
    for files in desired.files.values():
        for file in files:
            if file.name in existing:
                continue
            object_labels = {**stack.labels, labels.STACK: stack.name}
            existing[file.name] = engine.create_swarm_object(
                file.kind, file.name, file.data, object_labels
            )
            report(ObjectCreated(file.kind, file.name))
    return existing


def _remove_unused_objects(engine: SwarmEngine, stack: str, report: Report) -> None:
    """Configs and secrets no service (nor its rollback spec) refers to any more."""
    services = engine.services(labels.stack_filter(stack))
    used: set[str] = set()
    for service in services:
        for spec in (service.spec, service.previous_spec or {}):
            container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
            used |= {ref.get("ConfigID", "") for ref in container.get("Configs") or []}
            used |= {ref.get("SecretID", "") for ref in container.get("Secrets") or []}
    for kind in KINDS:
        for item in engine.swarm_objects(kind, labels.stack_filter(stack)):
            if item.id not in used:
                engine.remove_swarm_object(kind, item.id)
                report(ObjectRemoved(kind, item.name))


def wait_converged(
    engine: SwarmEngine,
    stack: str,
    names: list[str],
    report: Report,
    timeout: float,
    started: float,
    before: dict[str, str] | None = None,
    replaced: frozenset[str] = frozenset(),
) -> None:
    """Until every changed service runs its desired count of tasks of its new spec (running
    means healthy: a task with a healthcheck is `starting` until it passes), and its update is
    complete. A rolled-back or paused update is a failure, with the swarm's own words.
    `replaced`: tasks that do not count although they run the same spec (a forced update's:
    the swarm may not yet say the update began when it is first asked)."""
    pending = set(names)
    shown: dict[str, str] = {}
    unschedulable: dict[str, float] = {}  # task id -> when the scheduler first found no node
    deadline = started + timeout
    while pending:
        observed = observe(engine, stack)
        for name in sorted(pending):
            service = observed.service(labels.swarm_service_name(stack, name))
            if service is None:
                raise DeployFailed(f"service {name} vanished while it was being deployed")
            this_update = service.update_started != (before or {}).get(service.name, "")
            if this_update and service.update_state in _FAILED_UPDATE:
                raise DeployFailed(_failure(service, observed, name))
            tasks = current_tasks(service, observed.tasks)
            _check_schedulable(name, tasks, unschedulable)
            wanted_hash = service.labels.get(labels.CONFIG_HASH, "")
            running = [
                t for t in tasks
                if t.state == "running" and t.config_hash == wanted_hash and t.id not in replaced
            ]  # fmt: skip
            wanted = service.replicas if service.replicas is not None else len(tasks)
            line = f"{name}: {len(running)}/{wanted} tasks running"
            if shown.get(name) != line:
                report(Note(f"[{time.monotonic() - started:5.1f}s] {line}"))
                shown[name] = line
            # A rolling update is over when the swarm says so (after its monitor window).
            settled = service.update_state == "completed" if this_update else True
            if len(running) >= wanted and len(tasks) == wanted and settled:
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            observed = observe(engine, stack)
            details = [
                _failure(service, observed, name)
                for name in sorted(pending)
                if (service := observed.service(labels.swarm_service_name(stack, name)))
            ]
            raise DeployFailed(f"not converged after {timeout:.0f}s:\n" + "\n".join(details))
        if pending:
            time.sleep(POLL_SECONDS)


def _check_schedulable(name: str, tasks: list[TaskInfo], since: dict[str, float]) -> None:
    """A task no node can take (a host port in use everywhere, constraints no node meets)
    rarely becomes schedulable by itself: fail after a short while with the scheduler's words
    rather than wait out the whole timeout."""
    for task in tasks:
        if task.state != "pending" or _NO_NODE not in task.error:
            since.pop(task.id, None)
            continue
        first = since.setdefault(task.id, time.monotonic())
        if time.monotonic() - first >= UNSCHEDULABLE_SECONDS:
            raise DeployFailed(
                f"service {name}: no node can run task {task.slot or ''}: {task.error}",
                hint="another stack may publish the same port on the node (`python -m deployer "
                "status --target swarm --name STACK`), or no node meets the placement",
            )


def _failure(service: ServiceInfo, observed: SwarmObserved, name: str) -> str:
    lines = [f"service {name}: update {service.update_state or 'not finished'}"]
    if service.update_message:
        lines.append(f"  swarm: {service.update_message}")
    recent = sorted(observed.tasks_of(service), key=lambda t: t.timestamp, reverse=True)[:5]
    for task in recent:
        why = task.error or task.message
        lines.append(f"  task {task.slot or observed.hostname(task.node_id)} on "
                     f"{observed.hostname(task.node_id)}: {task.state} ({why})")  # fmt: skip
    return "\n".join(lines)


def _wait_tasks_gone(engine: SwarmEngine, service_ids: list[str], timeout: float = 120.0) -> None:
    """Removed services' containers go away on their nodes a little later; their networks
    can be removed only then."""
    deadline = time.monotonic() + timeout
    while engine.tasks(service_ids) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)


def down(engine: SwarmEngine, stack: str, report: Report) -> int:
    observed = observe(engine, stack)
    for service in observed.services:
        engine.remove_service(service.id)
        report(ObjectRemoved("service", service.name))
    _wait_tasks_gone(engine, [s.id for s in observed.services])
    for kind, items in (("config", observed.configs), ("secret", observed.secrets)):
        for item in items:
            engine.remove_swarm_object(kind, item.id)
            report(ObjectRemoved(kind, item.name))
    for name, network_id in observed.networks.items():
        _remove_network(engine, network_id)
        report(ObjectRemoved("network", name))
    _wait_networks_gone(engine, stack)
    return (
        len(observed.services)
        + len(observed.configs)
        + len(observed.secrets)
        + len(observed.networks)
    )


def _wait_networks_gone(engine: SwarmEngine, stack: str, timeout: float = 60.0) -> None:
    """A removed overlay network is only marked for deletion; the manager deletes it a few
    seconds later. Until then its name is taken, and an `up` right after `down` would find it
    and attach services to a network that is about to vanish."""
    deadline = time.monotonic() + timeout
    while engine.networks(labels.stack_filter(stack)):
        if time.monotonic() > deadline:
            raise EngineError(
                f"the swarm still holds networks of {stack} {timeout:.0f}s after removing them"
            )
        time.sleep(POLL_SECONDS)


def _remove_network(engine: SwarmEngine, network_id: str, timeout: float = 30.0) -> None:
    """An overlay network is busy until the last task's endpoint on it is released."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            engine.remove_network(network_id)
            return
        except EngineError:
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_SECONDS)


def status(engine: SwarmEngine, stack: str) -> list[ReplicaStatus]:
    """One row per task the swarm wants running, with its node and state (running = healthy
    for a service with a healthcheck: the swarm holds a task `starting` until it passes)."""
    return rows(observe(engine, stack), datetime.now(UTC))
