"""desired Stack + ObservedState -> Plan. Pure: no engine, no clock, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from deployer.core import hashing, labels
from deployer.core.graph import levels
from deployer.core.plan import Action, Cause, CauseKind, Kind, Plan
from deployer.core.state import ContainerInfo, ObservedState, replica_of
from deployer.model.spec import Service, Stack

NOT_FOUND = Cause(CauseKind.NOT_FOUND)
GONE = Cause(CauseKind.NO_LONGER_IN_STACK)
INTERRUPTED = Cause(CauseKind.INTERRUPTED)
NEVER_STARTED = Cause(CauseKind.NEVER_STARTED)


@dataclass(frozen=True)
class Desired:
    """What each service's containers must carry: decided before reconciling (images built)."""

    config_hash: str
    config_fields: dict[str, str]
    built: bool = False  # the image comes from a build (its change reads "image rebuilt")


def service_order(stack: Stack) -> list[str]:
    edges = {s.name: sorted(s.needs()) for s in stack.services}
    return [name for level in levels(edges) for name in level]


def stop_first_reason(service: Service) -> str | None:
    """Why a service cannot run old and new containers side by side, if it cannot."""
    fixed = [str(p.host) for p in service.ports if p.host]
    if fixed:
        return f"stop-first: fixed host port {', '.join(fixed)}"
    if service.update.order == "stop-first":
        return "stop-first: update.order"
    return None


def reconcile(
    stack: Stack,
    observed: ObservedState,
    desired: dict[str, Desired],
    only: set[str] | None = None,
    force: frozenset[str] = frozenset(),
) -> Plan:
    """The plan that makes `observed` match `stack`.

    With `only`, just those services are touched (and nothing is removed for being no longer in
    the stack: `up web` leaves the rest alone); services in `force` are recreated even when
    their containers match.
    """
    actions: list[Action] = []
    for network in stack.all_networks():
        if observed.network(network.name) is None and not network.external:
            name = labels.network_name(stack.name, network.name)
            actions.append(Action(Kind.CREATE_NETWORK, name, NOT_FOUND))
    live_volumes = {volume.name for volume in observed.volumes}
    sockets = [labels.socket_volume(stack.name, name) for name in stack.socket_upstreams()]
    sockets += [labels.config_volume(stack.name, s.name) for s in stack.services if s.proxy]
    data = [
        labels.data_volume(stack.name, volume.name)
        for volume in stack.volumes
        if not volume.external
    ]
    for volume in [*sockets, *data]:
        if volume not in live_volumes:
            actions.append(Action(Kind.CREATE_VOLUME, volume, NOT_FOUND))
    unchanged = []
    for name in service_order(stack):
        if only is not None and name not in only:
            continue
        service_actions = _service_actions(
            stack.name, stack.service(name), observed, desired[name], forced=name in force,
            job=name in stack.jobs(),
        )  # fmt: skip
        actions += service_actions
        if not service_actions:
            unchanged.append(name)
    if only is not None:
        return Plan(stack=stack.name, actions=actions, unchanged=unchanged)
    wanted = {service.name for service in stack.services}
    for container in observed.containers:
        if container.labels.get(labels.SERVICE, "") not in wanted:
            actions.append(_remove(container, GONE))
    wanted_networks = {n.name for n in stack.all_networks() if not n.external}
    for live in observed.networks:
        if live.labels.get(labels.NETWORK) not in wanted_networks:
            actions.append(Action(Kind.REMOVE_NETWORK, live.name, GONE))
    # Socket volumes are deployer's own; data volumes are kept until `down --volumes`.
    live_sockets = {
        v.name for v in observed.volumes if v.labels.get(labels.VOLUME_KIND, "socket") != "data"
    }
    for volume in sorted(live_sockets - set(sockets)):
        actions.append(Action(Kind.REMOVE_VOLUME, volume, GONE))
    return Plan(stack=stack.name, actions=actions, unchanged=unchanged)


def _service_actions(
    stack: str,
    service: Service,
    observed: ObservedState,
    desired: Desired,
    forced: bool = False,
    job: bool = False,
) -> list[Action]:
    existing = observed.service_containers(service.name)
    # Files are written between create and start: one never started may lack them.
    actions: list[Action] = [_remove(c, NEVER_STARTED) for c in existing if c.state == "created"]
    slots: dict[int, list[ContainerInfo]] = {}
    started = [c for c in existing if c.state != "created"]
    for live in started:
        slots.setdefault(replica_of(live), []).append(live)
    kept: list[ContainerInfo] = []
    for replica in sorted(slots):
        group = slots[replica]
        survivor = _survivor(group, desired.config_hash, stack, service.name)
        actions += [_remove(other, INTERRUPTED) for other in group if other is not survivor]
        kept.append(survivor)
    scale = Cause(CauseKind.SCALED, detail=f"{len(kept)} → {service.replicas}")
    actions += [_remove(extra, scale) for extra in kept[service.replicas :]]
    kept = kept[: service.replicas]
    for live in kept:
        actions += _keep_actions(stack, service, live, desired, forced, job)
        route = observed.route_problem(live, exact=True)
        if route and not forced and live.labels.get(labels.CONFIG_HASH) == desired.config_hash:
            name = labels.container_name(stack, service.name, replica_of(live))
            cause = Cause(CauseKind.ROUTE_MISSING, detail=route)
            actions.append(Action(Kind.ROUTE, name, cause, service.name, replica_of(live), live.id))
    taken = {replica_of(live) for live in kept}
    free = (n for n in range(1, service.replicas + len(taken) + 1) if n not in taken)
    for _ in range(service.replicas - len(kept)):
        replica = next(free)
        cause = NOT_FOUND if not started else scale
        name = labels.container_name(stack, service.name, replica)
        actions.append(Action(Kind.CREATE, name, cause, service.name, replica))
    return actions


def _survivor(
    group: list[ContainerInfo], wanted_hash: str, stack: str, service: str
) -> ContainerInfo:
    """Of several containers for one replica (an interrupted update), the one to keep."""

    def rank(live: ContainerInfo) -> tuple[bool, bool, bool]:
        canonical = labels.container_name(stack, service, replica_of(live))
        current = live.labels.get(labels.CONFIG_HASH) == wanted_hash
        return (
            current and live.state == "running",
            live.state == "running",
            live.name == canonical,
        )

    return max(group, key=rank)


def _keep_actions(
    stack: str,
    service: Service,
    live: ContainerInfo,
    desired: Desired,
    forced: bool,
    job: bool = False,
) -> list[Action]:
    replica = replica_of(live)
    canonical = labels.container_name(stack, service.name, replica)
    stale = live.labels.get(labels.CONFIG_HASH) != desired.config_hash
    if stale or forced:
        return [
            Action(
                Kind.RECREATE,
                canonical,
                _change_cause(live, desired) if stale else Cause(CauseKind.FORCED),
                service.name,
                replica,
                live.id,
                stop_first_reason(service) or "",
            )
        ]
    actions = []
    if live.name != canonical:
        actions.append(Action(Kind.RENAME, live.name, INTERRUPTED, service.name, replica, live.id))
    done = job and live.state == "exited" and live.exit_code == 0  # a job that completed
    if live.state not in {"running", "restarting"} and not done:
        stopped = Cause(CauseKind.STOPPED, detail=live.state)
        actions.append(Action(Kind.START, canonical, stopped, service.name, replica, live.id))
    return actions


def _change_cause(container: ContainerInfo, desired: Desired) -> Cause:
    old = hashing.parse_fields_label(container.labels.get(labels.CONFIG_FIELDS, ""))
    changed = hashing.changed_fields(old, desired.config_fields)
    if not old or not changed:
        return Cause(CauseKind.CONFIG_CHANGED)
    if changed == ["image"]:
        return Cause(CauseKind.IMAGE_REBUILT if desired.built else CauseKind.IMAGE_CHANGED)
    return Cause(CauseKind.CONFIG_CHANGED, changed=tuple(changed))


def _remove(container: ContainerInfo, cause: Cause) -> Action:
    return Action(
        Kind.REMOVE,
        container.name,
        cause,
        container.labels.get(labels.SERVICE, ""),
        replica_of(container),
        container.id,
    )
