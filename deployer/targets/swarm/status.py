"""A stack's tasks on a swarm as status rows, in the shape every target reports (pure)."""

from __future__ import annotations

from datetime import datetime

from deployer.core import labels
from deployer.core.state import PublishedPort
from deployer.core.status import ReplicaStatus, StackSummary
from deployer.core.swarm_objects import ServiceInfo, TaskInfo
from deployer.targets.swarm.state import SwarmObserved

# A task that ended by itself: its slot's next task is, to the user, a restart.
_ENDED = {"failed", "rejected", "complete", "orphaned"}


def current_tasks(service: ServiceInfo, tasks: list[TaskInfo]) -> list[TaskInfo]:
    """The tasks the swarm wants running now (one per slot or node), newest first."""
    wanted = [t for t in tasks if t.service_id == service.id and t.desired_state == "running"]
    return sorted(wanted, key=lambda t: t.timestamp, reverse=True)


def task_health(service: ServiceInfo, task: TaskInfo) -> str:
    """The swarm holds a task with a healthcheck `starting` until its check passes, and
    reports it `running` only then: the task's state is its health."""
    container = (service.spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    test = (container.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return ""
    return {"running": "healthy", "starting": "starting"}.get(task.state, "")


def moment(timestamp: str) -> datetime | None:
    # The engine writes nanoseconds ("...:34.579950039Z"); Python reads at most microseconds.
    whole, _, fraction = timestamp.rstrip("Z").partition(".")
    try:
        return datetime.fromisoformat(f"{whole}.{(fraction or '0')[:6]}+00:00")
    except ValueError:
        return None


def published(service: ServiceInfo) -> list[PublishedPort]:
    """A swarm publishes a service's ports on every node (in host mode, where a task runs)."""
    ports = (service.spec.get("EndpointSpec") or {}).get("Ports") or []
    return [
        PublishedPort(
            "0.0.0.0",
            int(p.get("PublishedPort") or 0),
            int(p.get("TargetPort") or 0),
            p.get("Protocol") or "tcp",
        )
        for p in ports
    ]


def rows(observed: SwarmObserved, now: datetime) -> list[ReplicaStatus]:
    found = []
    for service in observed.services:
        name = service.labels.get(labels.SERVICE, service.name)
        ports = published(service)
        tasks = observed.tasks_of(service)
        for task in current_tasks(service, observed.tasks):
            place = task.slot or task.node_id  # a replicated task's slot, a global one's node
            same_place = [t for t in tasks if t.id != task.id and (t.slot or t.node_id) == place]
            started = moment(task.timestamp) if task.state == "running" else None
            found.append(
                ReplicaStatus(
                    stack=observed.stack,
                    service=name,
                    replica=task.slot,
                    container=f"{service.name}.{task.slot or task.node_id[:12]}",
                    id=task.container_id[:12],
                    state=task.state,
                    health=task_health(service, task) or "none",
                    ports=ports if task.state == "running" else [],
                    image=task.image.rpartition("@")[2][:19] or task.image,
                    restart_count=sum(t.state in _ENDED for t in same_place),
                    uptime_seconds=(now - started).total_seconds() if started else None,
                    problem=task.error,
                    node=observed.hostname(task.node_id),
                )
            )
    return sorted(found, key=lambda r: (r.service, r.replica, r.node))


def summaries(observed: SwarmObserved) -> list[StackSummary]:
    """Every deployer stack among `observed` (read across stacks): tasks per service, ports."""
    grouped: dict[str, list[ServiceInfo]] = {}
    for service in observed.services:
        grouped.setdefault(service.labels.get(labels.STACK, ""), []).append(service)
    found = []
    for name, services in sorted(grouped.items()):
        counts: dict[str, tuple[int, int, int]] = {}
        ports: set[str] = set()
        for service in services:
            tasks = current_tasks(service, observed.tasks)
            running = sum(t.state == "running" for t in tasks)  # running is healthy here
            wanted = service.replicas if service.replicas is not None else len(tasks)
            counts[service.labels.get(labels.SERVICE, service.name)] = (running, running, wanted)
            ports |= {f"*:{p.host_port}->{p.container_port}" for p in published(service)}
        found.append(StackSummary(name, counts, sorted(ports)))
    return found
