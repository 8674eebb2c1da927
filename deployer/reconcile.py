"""desired Stack + ObservedState -> Plan. Pure: no engine, no clock, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from deployer import hashing, labels
from deployer.engine import ContainerInfo
from deployer.graph import levels
from deployer.observe import ObservedState, replica_of
from deployer.plan import Action, Kind, Plan
from deployer.spec import Service, Stack


@dataclass(frozen=True)
class Desired:
    """What each service's containers must carry: decided before reconciling (images built)."""

    config_hash: str
    config_fields: dict[str, str]


def service_order(stack: Stack) -> list[str]:
    edges = {s.name: [d.service for d in s.depends_on] for s in stack.services}
    return [name for level in levels(edges) for name in level]


def reconcile(stack: Stack, observed: ObservedState, desired: dict[str, Desired]) -> Plan:
    actions: list[Action] = []
    for network in stack.all_networks():
        if observed.network(network.name) is None:
            name = labels.network_name(stack.name, network.name)
            actions.append(Action(Kind.CREATE_NETWORK, name, "not found"))
    unchanged = []
    for name in service_order(stack):
        service_actions = _service_actions(
            stack.name, stack.service(name), observed.service_containers(name), desired[name]
        )
        actions += service_actions
        if not service_actions:
            unchanged.append(name)
    wanted = {service.name for service in stack.services}
    for container in observed.containers:
        service = container.labels.get(labels.SERVICE, "")
        if service not in wanted:
            actions.append(_remove(container, "no longer in stack"))
    wanted_networks = {network.name for network in stack.all_networks()}
    for live in observed.networks:
        if live.labels.get(labels.NETWORK) not in wanted_networks:
            actions.append(Action(Kind.REMOVE_NETWORK, live.name, "no longer in stack"))
    return Plan(stack=stack.name, actions=actions, unchanged=unchanged)


def _service_actions(
    stack: str, service: Service, existing: list[ContainerInfo], desired: Desired
) -> list[Action]:
    actions = []
    by_replica: dict[int, ContainerInfo] = {}
    for live in existing:
        replica = replica_of(live)
        if replica in by_replica or not 1 <= replica <= service.replicas:
            cause = f"replicas {len(existing)} → {service.replicas}"
            if replica in by_replica:
                cause = f"duplicate of replica {replica}"
            actions.append(_remove(live, cause))
        else:
            by_replica[replica] = live
    for replica in range(1, service.replicas + 1):
        name = labels.container_name(stack, service.name, replica)
        container = by_replica.get(replica)
        if container is None:
            cause = (
                "not found" if not existing else f"replicas {len(existing)} → {service.replicas}"
            )
            actions.append(Action(Kind.CREATE, name, cause, service.name, replica))
        elif container.labels.get(labels.CONFIG_HASH) != desired.config_hash:
            actions.append(
                Action(
                    Kind.RECREATE,
                    name,
                    _change_cause(container, desired, service),
                    service.name,
                    replica,
                    container.id,
                )
            )
        elif container.state not in {"running", "restarting"}:
            actions.append(
                Action(Kind.START, name, f"{container.state}", service.name, replica, container.id)
            )
    return actions


def _change_cause(container: ContainerInfo, desired: Desired, service: Service) -> str:
    old = hashing.parse_fields_label(container.labels.get(labels.CONFIG_FIELDS, ""))
    changed = hashing.changed_fields(old, desired.config_fields)
    if not old or not changed:
        return "config changed"
    if changed == ["image"]:
        return "image rebuilt" if service.build is not None else "image changed"
    return "config changed: " + ", ".join(changed)


def _remove(container: ContainerInfo, cause: str) -> Action:
    return Action(
        Kind.REMOVE,
        container.name,
        cause,
        container.labels.get(labels.SERVICE, ""),
        replica_of(container),
        container.id,
    )
