"""Reading a stack's live state from the engine: its objects by label, and the proxy's routes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import repeat

from deployer.core import labels
from deployer.core.state import ContainerInfo, ObservedState, Route, replica_of
from deployer.core.status import ReplicaStatus, StackSummary
from deployer.engine import Engine
from deployer.model.errors import DeployerError, NotFound


def observe(engine: Engine, stack: str, only: dict[str, str] | None = None) -> ObservedState:
    """Every object of the stack (carrying the `only` labels too, when given). The route check
    (an exec in the proxy, ~50 ms) runs while networks and volumes are listed: a no-op `up`
    pays for the slowest, not the sum."""
    selector = labels.stack_filter(stack)
    selector["label"] += [f"{key}={value}" for key, value in sorted((only or {}).items())]
    found = sorted(engine.containers(selector), key=lambda c: c.name)
    containers = [c for c in found if labels.ONE_OFF not in c.labels]
    with ThreadPoolExecutor(max_workers=3) as pool:
        routes = pool.submit(_routes, engine, containers)
        networks = pool.submit(engine.networks, selector)
        volumes = pool.submit(engine.volumes, selector)
        return ObservedState(
            stack=stack,
            containers=containers,
            one_offs=[c for c in found if labels.ONE_OFF in c.labels],
            networks=sorted(networks.result(), key=lambda n: n.name),
            volumes=sorted(volumes.result(), key=lambda v: v.name),
            routes=routes.result(),
        )


def observe_for_removal(
    engine: Engine, stack: str, only: dict[str, str] | None = None
) -> ObservedState:
    """What `down` needs: the stack's objects as one list call each knows them (no container
    is inspected, no route read)."""
    selector = labels.stack_filter(stack)
    selector["label"] += [f"{key}={value}" for key, value in sorted((only or {}).items())]
    found = sorted(engine.listed_containers(selector), key=lambda c: c.name)
    return ObservedState(
        stack=stack,
        containers=[c for c in found if labels.ONE_OFF not in c.labels],
        one_offs=[c for c in found if labels.ONE_OFF in c.labels],
        networks=sorted(engine.networks(selector), key=lambda n: n.name),
        volumes=sorted(engine.volumes(selector), key=lambda v: v.name),
    )


def _routes(engine: Engine, containers: list[ContainerInfo]) -> dict[str, dict[int, Route]]:
    """The slot links as a running socket proxy sees them: the engine stats each slot and its
    target (no process runs in the proxy for it), all at once."""
    found: dict[str, dict[int, Route]] = {}
    for proxy in containers:
        upstream = proxy.labels.get(labels.ROUTES)
        if not upstream or upstream in found or proxy.state != "running":
            continue
        replicas = sorted(
            {replica_of(c) for c in containers if c.labels.get(labels.SERVICE) == upstream}
        )
        try:
            with ThreadPoolExecutor(max_workers=max(1, len(replicas))) as pool:
                routes = list(pool.map(_route, repeat(engine), repeat(proxy.id), replicas))
        except DeployerError:
            continue  # the proxy went away meanwhile: its routes are unknown, not broken
        found[upstream] = {r: route for r, route in zip(replicas, routes, strict=True) if route}
    return found


def _route(engine: Engine, proxy_id: str, replica: int) -> Route | None:
    slot = engine.path_stat(proxy_id, labels.slot_path(replica))
    if slot is None or not slot.link_target:
        return None
    live = engine.path_stat(proxy_id, slot.link_target) is not None
    return Route(target=slot.link_target.rsplit("/", 1)[-1], live=live)


def statuses(
    observed: ObservedState, probed: Callable[[ContainerInfo], bool] = lambda _: False
) -> list[ReplicaStatus]:
    """A row per replica; `probed`: whether deployer's own early probe passed (known only in
    the process that ran it)."""
    now = datetime.now(UTC)
    found = [
        ReplicaStatus.of(info, now, observed.route_problem(info), probed(info))
        for info in observed.containers
    ]
    return sorted(found, key=lambda r: (r.service, r.replica))


def stacks(engine: Engine) -> list[StackSummary]:
    """Every stack on the engine, from its containers' labels alone (a swarm's tasks on it are
    the swarm's: `ls --target swarm` counts them)."""
    grouped: dict[str, list[ContainerInfo]] = {}
    # A list call's view is enough for a summary: one request, whatever the number of replicas.
    for container in engine.listed_containers({"label": [labels.STACK]}):
        if labels.ONE_OFF not in container.labels and labels.SWARM_TASK not in container.labels:
            grouped.setdefault(container.labels[labels.STACK], []).append(container)
    found = []
    for name, containers in sorted(grouped.items()):
        services: dict[str, tuple[int, int, int]] = {}
        ports: list[str] = []
        for c in containers:
            running, healthy, total = services.get(c.labels.get(labels.SERVICE, ""), (0, 0, 0))
            services[c.labels.get(labels.SERVICE, "")] = (
                running + (c.state == "running"),
                healthy + (c.state == "running" and c.health in {"healthy", ""}),
                total + 1,
            )
            ports += [f"{p.host_ip}:{p.host_port}->{p.container_port}" for p in c.ports]
        found.append(StackSummary(name, services, sorted(set(ports))))
    return found


def named_services(observed: ObservedState, services: list[str] | tuple[str, ...]) -> set[str]:
    """The named services (all the stack runs when none are named), or NotFound (exit 7)."""
    present = {c.labels.get(labels.SERVICE, "") for c in observed.containers}
    unknown = sorted(set(services) - present)
    if unknown:
        raise NotFound(
            f"stack {observed.stack} runs no service {', '.join(unknown)}",
            hint=f"it runs: {', '.join(sorted(present)) or 'nothing'}",
        )
    return set(services) or present
