"""Swarm reconcile: desired service specs against the live services -> a Plan. Pure.

A service differs when a part of its spec does (each part's digest is on its labels, so the
plan names what changed); replicas are compared apart, so scaling is an update of the count
alone. The swarm rolls tasks itself, so a service is created, updated or removed as a whole.
"""

from __future__ import annotations

from typing import Any

from deployer.core import hashing, labels
from deployer.core.plan import Action, Cause, CauseKind, Kind, Plan
from deployer.model.spec import Stack
from deployer.targets.swarm.state import SwarmObserved


def reconcile(
    stack: Stack,
    observed: SwarmObserved,
    desired: dict[str, dict[str, Any]],
    force: frozenset[str] = frozenset(),
) -> Plan:
    """`desired`: service name -> its labelled ServiceSpec; `force`: services whose tasks are
    replaced even when they match (up --force-recreate)."""
    actions: list[Action] = []
    unchanged: list[str] = []
    wanted_networks = {
        labels.engine_network(stack, n.name) for n in stack.all_networks() if not n.external
    }
    actions += [
        Action(Kind.CREATE_NETWORK, name, Cause(CauseKind.NOT_FOUND))
        for name in sorted(wanted_networks - set(observed.networks))
    ]
    for service in stack.services:
        spec = desired[service.name]
        live = observed.service(spec["Name"])
        if live is None:
            actions.append(Action(Kind.CREATE, spec["Name"], Cause(CauseKind.NOT_FOUND),
                                  service.name))  # fmt: skip
            continue
        old = hashing.parse_fields_label(live.labels.get(labels.CONFIG_FIELDS, ""))
        new = hashing.parse_fields_label(spec["Labels"][labels.CONFIG_FIELDS])
        changed = hashing.changed_fields(old, new)
        wanted_replicas = (spec["Mode"].get("Replicated") or {}).get("Replicas")
        if changed:
            cause = Cause(CauseKind.CONFIG_CHANGED, tuple(changed))
        elif wanted_replicas is not None and wanted_replicas != live.replicas:
            cause = Cause(CauseKind.SCALED, detail=f"{live.replicas} → {wanted_replicas}")
        elif service.name in force:
            cause = Cause(CauseKind.FORCED)
        else:
            unchanged.append(service.name)
            continue
        actions.append(Action(Kind.UPDATE, spec["Name"], cause, service.name,
                              object_id=live.id))  # fmt: skip
    names = {spec["Name"] for spec in desired.values()}
    actions += [
        Action(Kind.REMOVE, live.name, Cause(CauseKind.NO_LONGER_IN_STACK),
               live.labels.get(labels.SERVICE, ""), object_id=live.id)
        for live in observed.services
        if live.name not in names
    ]  # fmt: skip
    actions += [
        Action(Kind.REMOVE_NETWORK, name, Cause(CauseKind.NO_LONGER_IN_STACK),
               object_id=network_id)
        for name, network_id in sorted(observed.networks.items())
        if name not in wanted_networks
    ]  # fmt: skip
    return Plan(stack.name, actions, unchanged)


def rollback_plan(stack: str, observed: SwarmObserved) -> Plan:
    """Each service back to the spec its last update replaced (the swarm keeps it as the
    service's PreviousSpec); a service never updated, already there, or whose last update
    failed and was rolled back by the swarm stays as it runs."""
    actions: list[Action] = []
    unchanged: list[str] = []
    for live in observed.services:
        service = live.labels.get(labels.SERVICE, "")
        previous = live.previous_spec
        # After the swarm rolled a failed update back, PreviousSpec is that failed spec.
        if not previous or previous == live.spec or live.update_state == "rollback_completed":
            unchanged.append(service)
            continue
        old = hashing.parse_fields_label(live.labels.get(labels.CONFIG_FIELDS, ""))
        earlier = (previous.get("Labels") or {}).get(labels.CONFIG_FIELDS, "")
        changed = hashing.changed_fields(old, hashing.parse_fields_label(earlier))
        actions.append(Action(Kind.UPDATE, live.name, Cause(CauseKind.ROLLBACK, tuple(changed)),
                              service, object_id=live.id))  # fmt: skip
    return Plan(stack, actions, sorted(unchanged))
