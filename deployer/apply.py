"""Carries out a Plan on the engine: parallel along dependency edges, health-gated.

It makes no decisions: what to create, recreate or remove is the plan's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from deployer import health, labels
from deployer.engine import Engine
from deployer.errors import DeployerError, DeployFailed
from deployer.graph import levels
from deployer.observe import ObservedState
from deployer.plan import Action, Kind, Plan
from deployer.render import ContainerPlan
from deployer.spec import Service, Stack

Report = Callable[[str], None]
# How a replica is created: rendered by the caller, which knows images, hashes and files.
RenderReplica = Callable[[Service, int], ContainerPlan]


@dataclass
class _Gate:
    """Per-service signals that dependents wait on."""

    started: threading.Event
    healthy: threading.Event


class Apply:
    def __init__(
        self,
        engine: Engine,
        stack: Stack,
        render_replica: RenderReplica,
        report: Report,
        timeout: float | None = None,
    ) -> None:
        self.engine = engine
        self.stack = stack
        self.render_replica = render_replica
        self.report = report
        self.timeout = timeout
        self.failed = threading.Event()
        self.gates = {s.name: _Gate(threading.Event(), threading.Event()) for s in stack.services}

    def run(self, plan: Plan, observed: ObservedState) -> None:
        for action in plan.actions:
            if action.kind is Kind.CREATE_NETWORK:
                self._create_network(action.resource)
        services = [service.name for service in self.stack.services]
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=max(1, len(services))) as pool:
            futures = [pool.submit(self._service, name, plan) for name in services]
            for future in futures:
                error = future.exception()
                if error is not None and not isinstance(error, _Cancelled):
                    errors.append(error)
        if errors:
            raise errors[0]
        removals = [a for a in plan.actions if a.kind is Kind.REMOVE and a.service not in services]
        remove_containers(self.engine, removals, observed, self.report)
        for action in plan.actions:
            if action.kind is Kind.REMOVE_NETWORK:
                network = next(n for n in observed.networks if n.name == action.resource)
                self.engine.remove_network(network.id)
                self.report(f"network {action.resource} removed")

    def _create_network(self, name: str) -> None:
        for network in self.stack.all_networks():
            if labels.network_name(self.stack.name, network.name) == name:
                self.engine.create_network(
                    name,
                    driver=network.driver,
                    internal=network.internal,
                    labels={
                        **network.labels,
                        **labels.network_labels(self.stack.name, network.name),
                    },
                )
                self.report(f"network {name} created")

    def _service(self, name: str, plan: Plan) -> None:
        service = self.stack.service(name)
        try:
            self._wait_for_dependencies(service)
            actions = plan.for_service(name)
            with ThreadPoolExecutor(max_workers=max(1, len(actions))) as pool:
                list(pool.map(lambda action: self._replica(service, action), actions))
            self.gates[name].started.set()
            self._wait_ready(service)
            self.gates[name].healthy.set()
        except BaseException:
            self.failed.set()
            raise

    def _wait_for_dependencies(self, service: Service) -> None:
        for dep in service.depends_on:
            gate = self.gates[dep.service]
            event = gate.healthy if dep.condition == "healthy" else gate.started
            while not event.wait(0.05):
                if self.failed.is_set():
                    raise _Cancelled(f"{service.name}: not started, a dependency failed")

    def _replica(self, service: Service, action: Action) -> None:
        if action.kind in {Kind.REMOVE, Kind.RECREATE}:
            self.engine.stop(action.container_id)
            self.engine.remove_container(action.container_id)
            if action.kind is Kind.REMOVE:
                self.report(f"{action.resource} removed ({action.cause})")
                return
        if action.kind is Kind.START:
            self.engine.start(action.container_id)
            self.report(f"{action.resource} started ({action.cause})")
            return
        container_id = self.engine.create_container(self.render_replica(service, action.replica))
        self.engine.start(container_id)
        self.report(f"{action.resource} started ({action.cause})")

    def _wait_ready(self, service: Service) -> None:
        selector = {
            "label": [f"{labels.STACK}={self.stack.name}", f"{labels.SERVICE}={service.name}"]
        }
        ids = [c.id for c in self.engine.containers(selector)]
        if not ids:
            return
        health.wait_ready(
            self.engine,
            ids,
            service=service,
            timeout=self.timeout or health.wait_timeout(service),
            on_ready=lambda info, seconds: self.report(
                f"{info.name} {info.health or 'running'} after {seconds:.1f}s"
            ),
        )


class _Cancelled(DeployerError):
    """A dependency failed, so this service never started."""


def remove_containers(
    engine: Engine,
    actions: list[Action],
    observed: ObservedState,
    report: Report,
    stop_timeout: int | None = None,
) -> None:
    """Stop and remove containers in reverse dependency order, in parallel within a level."""
    from deployer.observe import dependency_edges

    edges = dependency_edges(observed)
    by_service: dict[str, list[Action]] = {}
    for action in actions:
        by_service.setdefault(action.service, []).append(action)
    order = levels({s: [d for d in edges.get(s, []) if d in by_service] for s in by_service})
    for level in reversed(order):
        batch = [action for service in level for action in by_service[service]]

        def stop_and_remove(action: Action) -> None:
            engine.stop(action.container_id, stop_timeout)
            engine.remove_container(action.container_id)
            report(f"{action.resource} removed ({action.cause})")

        with ThreadPoolExecutor(max_workers=max(1, len(batch))) as pool:
            list(pool.map(stop_and_remove, batch))


__all__ = ["Apply", "DeployFailed", "remove_containers"]
