"""Carries out a Plan on the engine: services in parallel along dependency edges, health-gated.

It makes no decisions: what to create, replace or remove is the plan's; how one service's
replicas are replaced is rollout.py's.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, wait

from deployer.core import labels, render
from deployer.core.events import ObjectCreated, ObjectRemoved, Report, quiet
from deployer.core.plan import Kind, Plan
from deployer.core.state import ObservedState
from deployer.engine import Engine
from deployer.model.errors import (
    DeployerError,
    DeployFailed,
    Interrupted,
    StackError,
)
from deployer.model.spec import Service
from deployer.targets.engine import health, replicas
from deployer.targets.engine.desired import DesiredStack
from deployer.targets.engine.remove import remove_containers, remove_network
from deployer.targets.engine.rollout import ServiceRun


class _Cancelled(DeployerError):
    """A dependency failed, so this service was not touched."""


class Apply:
    def __init__(
        self,
        engine: Engine,
        desired: DesiredStack,
        report: Report,
        timeout: float | None = None,
        only: set[str] | None = None,
        engine_health: bool = False,
    ) -> None:
        self.engine = engine
        # Also wait for the engine's own first verdict (one `interval` after a start) on every
        # container, not only for its healthcheck command to have passed once.
        self.engine_health = engine_health
        self.only = only  # the services this run touches; the others are left as they run
        self.desired = desired
        self.stack = desired.stack
        self.report = report
        self.timeout = timeout
        self.failed = threading.Event()
        self.cancelled = threading.Event()  # Ctrl-C: every wait gives up at once
        # Set under `changed`, which wakes the services waiting on their dependencies.
        self.changed = threading.Condition()
        self.started = {s.name: False for s in self.stack.services}
        self.healthy = {s.name: False for s in self.stack.services}  # or, for a job, completed
        self.jobs = self.stack.jobs()
        self.replaced: set[str] = set()  # services whose containers this run created anew

    def run(self, plan: Plan, observed: ObservedState) -> None:
        for action in plan.actions:
            if action.kind is Kind.CREATE_NETWORK:
                self._create_network(action.resource)
            if action.kind is Kind.CREATE_VOLUME:
                self._create_volume(action.resource)
        names = [service.name for service in self.stack.services]
        pool = ThreadPoolExecutor(max_workers=max(1, len(names)))
        try:
            futures = [pool.submit(self._service, name, plan, observed) for name in names]
            wait(futures)
        except KeyboardInterrupt:
            self.cancelled.set()
            self._mark(self.failed)
            pool.shutdown(wait=True)  # each worker's wait notices within one poll
            raise Interrupted(
                "interrupted: the deploy stopped where it was",
                hint="run `up` again: it repairs a half-done update",
            ) from None
        pool.shutdown(wait=True)
        errors = [
            error
            for future in futures
            if (error := future.exception()) is not None and not isinstance(error, _Cancelled)
        ]
        if errors:
            raise combined(errors)
        if self.engine_health:
            self._engine_verdicts()
        gone = [a for a in plan.actions if a.kind is Kind.REMOVE and a.service not in names]
        remove_containers(self.engine, gone, observed, self.report)
        for action in plan.actions:
            if action.kind is Kind.REMOVE_NETWORK:
                network = next(n for n in observed.networks if n.name == action.resource)
                remove_network(self.engine, network.id, self.report)
                self.report(ObjectRemoved("network", action.resource))
            if action.kind is Kind.REMOVE_VOLUME:
                self.engine.remove_volume(action.resource)
                self.report(ObjectRemoved("volume", action.resource))

    def _engine_verdicts(self) -> None:
        """Dependants went as soon as a probe passed; wait until the engine itself calls every
        container it touched healthy, so that `status` reads 'healthy' everywhere."""
        for service in self.stack.services:
            if service.name in self.jobs or (
                self.only is not None and service.name not in self.only
            ):
                continue
            self._wait_ready(service, quiet)

    def _create_volume(self, name: str) -> None:
        driver, options, kind, own = "local", labels.SOCKET_VOLUME_OPTIONS, "socket", {}
        proxies = {
            labels.config_volume(self.stack.name, s.name) for s in self.stack.services if s.proxy
        }
        if name in proxies:
            options, kind = {}, "config"
        for volume in self.stack.volumes:
            if labels.data_volume(self.stack.name, volume.name) == name:
                driver, options, kind, own = (
                    volume.driver,
                    volume.driver_opts,
                    "data",
                    volume.labels,
                )
        volume_labels = {
            **self.stack.labels,
            **own,
            **labels.volume_labels(self.stack.name, name, kind),
        }
        self.engine.create_volume(name, driver, dict(options), volume_labels)
        self.report(ObjectCreated("volume", name))

    def _create_network(self, name: str) -> None:
        for network in self.stack.all_networks():
            if labels.network_name(self.stack.name, network.name) == name:
                self.engine.create_network(
                    name,
                    driver=network.driver,
                    internal=network.internal,
                    ipam=render.ipam(network),
                    enable_ipv6=network.enable_ipv6,
                    labels={
                        **self.stack.labels,
                        **network.labels,
                        **labels.network_labels(self.stack.name, network.name),
                    },
                )
                self.report(ObjectCreated("network", name))

    def _mark(self, flags: dict[str, bool] | threading.Event, name: str = "") -> None:
        with self.changed:
            if isinstance(flags, threading.Event):
                flags.set()
            else:
                flags[name] = True
            self.changed.notify_all()

    def _service(self, name: str, plan: Plan, observed: ObservedState) -> None:
        service = self.stack.service(name)
        if self.only is not None and name not in self.only:
            self._mark(self.started, name)  # not ours to touch or wait for
            self._mark(self.healthy, name)
            return
        try:
            self._wait_for_dependencies(service)
            actions = plan.for_service(name)
            run = ServiceRun(
                self.engine, self.desired, service, observed, self.report, self.timeout,
                cancel=self.cancelled,
            )  # fmt: skip
            run.run(actions)
            if any(a.kind in {Kind.CREATE, Kind.RECREATE} for a in actions):
                with self.changed:
                    self.replaced.add(name)
            elif any(d.restart and d.service in self.replaced for d in service.depends_on):
                # Compose's depends_on restart: a dependency was replaced, this one kept.
                replicas.restart(self.engine, self.desired, observed, {name}, self.report)
            self._mark(self.started, name)
            live = observed.service_containers(name)
            if name in self.jobs:  # its run waited for what it started; not for what it found
                if not actions and not all(health.is_done(info) for info in live):
                    self._wait_ready(service)
            elif actions or not all(health.is_ready(info) for info in live):
                # After its run, which told of every container it started: only a failure.
                self._wait_ready(service, self.report if not actions else quiet, early=True)
            self._mark(self.healthy, name)
        except BaseException:
            self._mark(self.failed)
            raise

    def _wait_for_dependencies(self, service: Service) -> None:
        def ready() -> bool:
            return all(
                (self.healthy if healthy else self.started)[name]
                for name, healthy in service.needs().items()
            )

        with self.changed:
            self.changed.wait_for(lambda: ready() or self.failed.is_set())
            if not ready():
                raise _Cancelled(f"{service.name}: not touched, a dependency failed")

    def _wait_ready(
        self, service: Service, report: Report | None = None, early: bool = False
    ) -> None:
        selector = {
            "label": [f"{labels.STACK}={self.stack.name}", f"{labels.SERVICE}={service.name}"]
        }
        ids = [c.id for c in self.engine.containers(selector)]
        if ids and service.name in self.jobs:
            health.wait_completed(
                self.engine,
                ids,
                timeout=self.timeout or health.JOB_TIMEOUT,
                report=self.report,
                cancel=self.cancelled,
            )
        elif ids:
            health.wait_ready(
                self.engine,
                ids,
                timeout=self.timeout or health.wait_timeout(service),
                report=report or self.report,
                cancel=self.cancelled,
                early=early,
            )


def combined(errors: list[BaseException]) -> BaseException:
    """One error for all the services that failed, each with its own message."""
    if len(errors) == 1 or not all(isinstance(e, DeployerError) for e in errors):
        return errors[0]
    failures = [e for e in errors if isinstance(e, DeployerError)]
    kinds = {type(e) for e in failures}
    kind = failures[0].__class__ if len(kinds) == 1 and StackError not in kinds else DeployFailed
    message = f"{len(failures)} services failed:\n\n" + "\n\n".join(e.message for e in failures)
    return kind(message, hint=failures[0].hint)
