"""Carrying out one service's part of a plan: create, scale, and replace replicas.

Replacement is health-gated and, where the service can run old and new side by side, start-first:
the successor starts, becomes healthy, takes the predecessor's place behind the proxies, in-flight
requests drain, and only then does the predecessor stop. Predecessors are kept (stopped) until the
whole service is done, so a failure puts everything back as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from deployer.core import labels
from deployer.core.events import (
    ContainerCreated,
    ContainerRemoved,
    ContainerRenamed,
    ContainerStarted,
    Report,
    Restoring,
)
from deployer.core.plan import Action, CauseKind, Kind
from deployer.core.state import ContainerInfo, ObservedState, replica_of
from deployer.engine import Engine
from deployer.model.errors import DeployerError, DeployFailed, EngineError, Interrupted
from deployer.model.spec import Service
from deployer.targets.engine import health
from deployer.targets.engine.desired import DesiredStack
from deployer.targets.engine.proxy import Member, Upstream
from deployer.targets.engine.reconcile import INTERRUPTED


@dataclass
class _Swap:
    old: ContainerInfo
    new_id: str
    new_name: str

    @property
    def replica(self) -> int:
        return replica_of(self.old)


T = TypeVar("T")
R = TypeVar("R")


def parallel(work: Callable[[T], R], items: list[T]) -> list[R]:
    """`work` on every item at once (inline for one); the results in the items' order."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(work, items))


class ServiceRun:
    def __init__(
        self,
        engine: Engine,
        desired: DesiredStack,
        service: Service,
        observed: ObservedState,
        report: Report,
        timeout: float | None,
        cancel: threading.Event | None = None,
    ) -> None:
        live = observed.service_containers(service.name)
        self.cancel = cancel
        self.engine = engine
        self.desired = desired
        self.service = service
        self.live = {info.id: info for info in live}
        self.names = {info.id: info.name for info in live}  # and of the containers this run adds
        self.report = report
        self.timeout = timeout or health.wait_timeout(service)
        # A one-shot job: its new containers must run to completion rather than be healthy.
        self.job = service.name in desired.stack.jobs()
        self.job_timeout = timeout or health.JOB_TIMEOUT
        self.drain = service.update.drain_timeout.total_seconds()
        self.upstream = Upstream(engine, desired, service, observed, report)
        wanted = desired.services[service.name].config_hash
        self.previous_spec = _previous_spec(live, wanted)
        # The replicas the proxies send traffic to.
        self.serving: list[Member] = sorted(
            (replica_of(info), info.name) for info in live if info.state == "running"
        )

    def run(self, actions: list[Action]) -> None:
        if not actions:
            return  # matches already; proxies were told when it last changed
        of = {kind: [a for a in actions if a.kind is kind] for kind in Kind}
        # Routes first: a slot must reach its survivor before any leftover twin is removed.
        for action in of[Kind.ROUTE]:
            self.upstream.link(action.replica, action.object_id, self._socket(action.object_id))
        self._repair(of[Kind.REMOVE], of[Kind.RENAME])
        self._start_stopped(of[Kind.START])
        self._create(of[Kind.CREATE])
        self._replace(of[Kind.RECREATE])
        self._scale_down([a for a in of[Kind.REMOVE] if a.cause.kind not in _LEFTOVERS])
        if self.service.replicas:
            self.upstream.ensure(self._canonical_members(), self.drain)

    # -- steps ---------------------------------------------------------------------------------

    def _repair(self, removals: list[Action], renames: list[Action]) -> None:
        """Finish what an interrupted deploy left: duplicates go, successors get their names."""
        leftovers = [a for a in removals if a.cause.kind in _LEFTOVERS]
        if leftovers:
            ids = {a.object_id for a in leftovers}
            # Out of the proxies first, so their connections drain before the containers stop.
            self._serve([m for m in self.serving if m[1] not in {self.names[i] for i in ids}])
            self._remove(list(ids), INTERRUPTED.text())
        for action in renames:
            canonical = self._canonical(action.replica)
            self.engine.rename(action.object_id, canonical)
            self.serving = sorted(
                (r, canonical if n == action.resource else n) for r, n in self.serving
            )
            self.upstream.link(action.replica, action.object_id, self._socket(action.object_id))
            self.report(ContainerRenamed(action.resource, canonical))

    def _create(self, actions: list[Action]) -> None:
        if not actions:
            return
        # Replicas of one service start, are probed and are linked together.
        started = parallel(lambda a: self._start_new(a.replica, a.why()), actions)
        self._wait([container_id for container_id, _ in started])

        def link(new: tuple[Action, tuple[str, str]]) -> None:
            action, (container_id, name) = new
            self.upstream.link(action.replica, container_id, labels.socket_path(name))

        parallel(link, list(zip(actions, started, strict=True)))
        self._serve([*self.serving, *((a.replica, a.resource) for a in actions)])

    def _replace(self, actions: list[Action]) -> None:
        size = self.service.update.parallelism
        swaps: list[_Swap] = []
        for start in range(0, len(actions), size):
            batch = actions[start : start + size]
            stop_first = batch[0].stop_first
            olds = [self.live[a.object_id] for a in batch]
            leaving = {old.name for old in olds}
            news: list[_Swap] = []
            try:
                if stop_first:
                    self._serve([m for m in self.serving if m[1] not in leaving])
                    parallel(self.engine.stop, [o.id for o in olds])
                # Inside the undo: a successor the engine refuses must not strand the stopped.
                for action, old in zip(batch, olds, strict=True):
                    news.append(_Swap(old, *self._start_new(action.replica, action.why(), True)))
                self._wait([s.new_id for s in news])
                for swap in news:
                    self.upstream.link(swap.replica, swap.new_id, labels.socket_path(swap.new_name))
            except Interrupted:
                raise  # Ctrl-C: leave it; the next `up` repairs what is half done
            except DeployerError as failure:
                stopped = olds if stop_first else []
                raise self._undo(news, swaps, stopped, failure) from failure
            self._serve([*self.serving, *((s.replica, s.new_name) for s in news)])
            if not stop_first:
                self._serve([m for m in self.serving if m[1] not in leaving])
                parallel(self.engine.stop, [o.id for o in olds])
            swaps += news
        if swaps:
            self._remove([s.old.id for s in swaps], "replaced")
            canonical = {s.new_name: self._canonical(s.replica) for s in swaps}
            for swap in swaps:
                self.engine.rename(swap.new_id, canonical[swap.new_name])
            self.serving = sorted((r, canonical.get(n, n)) for r, n in self.serving)
            self.upstream.rename(self.serving)

    def _scale_down(self, actions: list[Action]) -> None:
        if not actions:
            return
        leaving = {a.resource for a in actions}
        self._serve([m for m in self.serving if m[1] not in leaving])
        self._remove([a.object_id for a in actions], actions[0].why())

    def _undo(
        self,
        failed: list[_Swap],
        done: list[_Swap],
        stopped: list[ContainerInfo],
        failure: DeployerError,
    ) -> DeployerError:
        """Remove the failed successors and bring every replaced predecessor back.

        `stopped`: the predecessors of the failed batch that were stopped first (stop-first).
        The error keeps the failure's kind: an engine refusal stays one (exit 6).
        """
        self.report(Restoring(self.service.name))
        stop_first = bool(stopped)
        self._serve([m for m in self.serving if m[1] not in {s.new_name for s in failed}])
        self._remove([s.new_id for s in failed], "failed health gate")
        try:
            if stopped:
                self._restore(stopped)
            for swap in reversed(done):
                if stop_first:
                    self._serve([m for m in self.serving if m[1] != swap.new_name])
                    self._remove([swap.new_id], "rolled back")
                    self._restore([swap.old])
                else:
                    self._restore([swap.old])
                    self._serve([m for m in self.serving if m[1] != swap.new_name])
                    self._remove([swap.new_id], "rolled back")
        except DeployerError as second:
            return DeployFailed(
                f"{failure.message}\n\nrestoring the previous version failed too: {second.message}",
                hint="run `up` again once the cause is fixed; it repairs the stack",
            )
        kind = EngineError if isinstance(failure, EngineError) else DeployFailed
        return kind(
            f"update of {self.service.name} stopped; the previous version keeps serving.\n"
            + failure.message,
            hint="fix the service and run `up` again; `plan` shows what would change",
        )

    # -- helpers -------------------------------------------------------------------------------

    def _start_stopped(self, actions: list[Action]) -> None:
        """Stopped replicas run again, and only once healthy are they back behind the proxy."""
        if not actions:
            return

        def start(action: Action) -> None:
            self.engine.start(action.object_id)
            self.report(ContainerStarted(action.resource, action.why()))

        parallel(start, actions)
        self._rejoin([self.live[a.object_id] for a in actions])

    def _restore(self, olds: list[ContainerInfo]) -> None:
        parallel(self.engine.start, [o.id for o in olds])
        self._rejoin(olds)

    def _rejoin(self, olds: list[ContainerInfo]) -> None:
        self._wait([o.id for o in olds])
        for old in olds:
            self.upstream.link(replica_of(old), old.id, self._socket(old.id))
        self._serve([*self.serving, *((replica_of(o), o.name) for o in olds)])

    def _start_new(self, replica: int, reason: str, successor: bool = False) -> tuple[str, str]:
        """Create and start a replica; returns its id and name."""
        wanted = self.desired.services[self.service.name].config_hash
        name = self._canonical(replica)
        if successor:
            stack = self.desired.stack.name
            created_as = {
                self._socket(known).rsplit("/", 1)[-1].removesuffix(".sock") for known in self.names
            }
            taken = frozenset(created_as | set(self.names.values()))
            name = labels.next_container_name(stack, self.service.name, replica, wanted, taken)
        plan = self.desired.container(self.service, replica, name, self.previous_spec)
        container_id = self.engine.create_container(plan)
        self.names[container_id] = name
        self.report(ContainerCreated(name))
        try:
            self.engine.start(container_id)
        except DeployerError:
            self.engine.remove_container(container_id)  # created, never started: not kept
            raise
        self.report(ContainerStarted(name, reason))
        return container_id, name

    def _wait(self, ids: list[str]) -> None:
        if self.job:
            health.wait_completed(
                self.engine, ids, timeout=self.job_timeout, report=self.report, cancel=self.cancel
            )
            return
        # Early: a new replica serves once its own probe passes, not at the engine's first
        # interval (whose verdict `status` shows when it comes).
        health.wait_ready(
            self.engine, ids, timeout=self.timeout, report=self.report, cancel=self.cancel,
            early=True,
        )  # fmt: skip

    def _serve(self, members: list[Member]) -> None:
        self.serving = sorted(set(members))
        if self.serving:
            self.upstream.serve(self.serving, self.drain)

    def _remove(self, ids: list[str], reason: str) -> None:
        def stop_and_remove(container_id: str) -> None:
            name = self.names.get(container_id, container_id[:12])
            self.engine.stop(container_id)
            self.engine.remove_container(container_id)
            self.report(ContainerRemoved(name, reason))

        parallel(stop_and_remove, ids)

    def _socket(self, container_id: str) -> str:
        info = self.live.get(container_id)
        if info is not None and info.labels.get(labels.SOCKET):
            return info.labels[labels.SOCKET]
        return labels.socket_path(self.names.get(container_id, ""))

    def _canonical(self, replica: int) -> str:
        return labels.container_name(self.desired.stack.name, self.service.name, replica)

    def _canonical_members(self) -> list[Member]:
        return sorted((replica, self._canonical(replica)) for replica, _ in self.serving)


# What an interrupted deploy left: removed before anything is created in its place.
_LEFTOVERS = {CauseKind.INTERRUPTED, CauseKind.NEVER_STARTED}


def _previous_spec(live: list[ContainerInfo], wanted_hash: str) -> str:
    """What a new container of this service replaces: the stale containers' spec, if any."""
    for info in live:
        if info.labels.get(labels.CONFIG_HASH) != wanted_hash and info.env.get(labels.SPEC_ENV):
            return info.env[labels.SPEC_ENV]
    for info in live:
        if info.env.get(labels.PREVIOUS_SPEC_ENV):
            return info.env[labels.PREVIOUS_SPEC_ENV]
    return ""
