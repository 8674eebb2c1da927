"""The engine target: one Docker engine (DOCKER_HOST, a context, or the local socket), where
deployer rolls replicas itself behind its proxy. Its pipeline is the scripting API (deployer.api,
deployer.operate); this class is how every command reaches it through the one seam."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from deployer.core.status import Deployment, LogLine, ReplicaStatus, StackSummary
from deployer.engine import Engine
from deployer.targets.base import Request, Show, Stopper, Support, TargetName
from deployer.targets.engine.observe import named_services, observe, stacks, statuses
from deployer.unchanged import answer as unchanged

if TYPE_CHECKING:  # types only: status, ls and down never load the models
    from deployer.core.events import Report
    from deployer.core.plan import Plan
    from deployer.model.spec import Stack

_UP = ("services", "no_deps", "force_recreate", "no_build", "pull", "scale", "no_bootstrap",
       "timeout", "lock_timeout", "engine_health", "attach", "abort_on_exit",
       "exit_code_from", "watch")  # fmt: skip
SUPPORT = {
    "up": Support.of(*_UP),
    "plan": Support.of(),
    "rollback": Support.of("timeout", "lock_timeout"),
    "down": Support.of("rmi", "volumes", "timeout", "lock_timeout"),
    "status": Support.of("watch", "with_stats", "interval"),
    "logs": Support.of("services", "follow", "since", "tail", "timestamps", "no_prefix"),
    "restart": Support.of("services"),
    "stop": Support.of("services"),
    "start": Support.of("services"),
    "exec": Support.of("service", "command", "index", "no_tty", "user", "workdir", "env"),
    "run": Support.of("service", "command", "remove", "no_deps", "no_tty", "env"),
    "ls": Support.of(),
    "build": Support.of("services", "no_cache"),
    "pull": Support.of("services"),
    "gc": Support.of("everything"),
    "watch": Support.of("services", "no_up"),
    "images": Support.of("which", "force"),
    "tunnel": Support.of("services"),
}


class EngineTarget:
    name: TargetName = "engine"

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The engine, connected at the first command that needs it (a refusal never does)."""
        if self._engine is None:
            from deployer.engine.docker_engine import connect  # docker loads only here

            self._engine = connect()
        return self._engine

    def support(self, command: str) -> Support:
        return SUPPORT.get(command) or Support.refused("not a command of this target")

    def check(self, stack: Stack) -> list[str]:
        from deployer.stackfile import validate
        from deployer.targets.engine import rules

        return validate.problems(stack) + rules.problems(stack)

    def plan(self, stack: Stack, request: Request) -> Plan:
        from deployer import api  # the engine's pipeline: only commands that deploy load it

        return api.plan(stack, self.engine)

    def up(self, stack: Stack, request: Request, report: Report) -> Deployment:
        from deployer import api  # the engine's pipeline: only commands that deploy load it

        options = api.UpOptions(
            services=request.services, no_deps=request.no_deps,
            force_recreate=request.force_recreate, build=request.build, pull=request.pull,
            engine_health=request.engine_health,
        )  # fmt: skip
        deployment = api.up(
            stack, self.engine, report=report, timeout=request.timeout, bootstrap=request.bootstrap,
            lock_timeout=request.lock_timeout, options=options,
        )  # fmt: skip
        # The record that lets the next unchanged `up` answer fast (only while the command line
        # records: a plain `up` or `plan`, deployer.unchanged).
        if unchanged.recording_now():
            summary = unchanged.deployment_summary(deployment, self.engine_address())
            unchanged.remember(self.engine, deployment.stack, summary)
        return deployment

    def rollback(self, stack: Stack, request: Request, report: Report) -> Deployment:
        from deployer import api  # the engine's pipeline: only commands that deploy load it

        return api.rollback(
            stack,
            self.engine,
            report=report,
            timeout=request.timeout,
            lock_timeout=request.lock_timeout,
        )

    def down(self, stack: str, request: Request, report: Report) -> int:
        from deployer.targets.engine import remove  # only `down` removes

        how = remove.Removal(request.stop_timeout, request.remove_images,
                             request.remove_volumes, request.lock_timeout)  # fmt: skip
        return remove.down(stack, self.engine, report, how)

    def status(self, stack: str) -> list[ReplicaStatus]:
        return statuses(observe(self.engine, stack))

    def logs(self, stack: str, request: Request, stop: Stopper) -> Iterator[LogLine]:
        from deployer.targets.engine import logs

        return logs.stack_lines(
            self.engine, stack, request.services, follow=request.follow, since=request.since,
            tail=request.tail, stop_event=stop,  # type: ignore[arg-type]
        )  # fmt: skip

    def restart(self, stack: Stack, request: Request, report: Report) -> int:
        from deployer import operate  # not on `up`'s path

        return operate.restart(stack, request.services, engine=self.engine, report=report)

    def stop(self, stack: str, request: Request, report: Report) -> int:
        from deployer import operate  # not on `up`'s path

        return operate.stop(stack, request.services, engine=self.engine, report=report)

    def start(self, stack: str, request: Request, report: Report) -> int:
        from deployer import operate  # not on `up`'s path

        return operate.start(stack, request.services, engine=self.engine, report=report)

    def stacks(self) -> list[StackSummary]:
        return stacks(self.engine)

    def build(self, stack: Stack, request: Request, report: Report) -> dict[str, str]:
        from deployer import operate  # not on `up`'s path

        return operate.build(
            stack, request.services, no_cache=request.no_cache, engine=self.engine, report=report
        )

    def pull(self, stack: Stack, request: Request, report: Report) -> dict[str, str]:
        from deployer import operate  # not on `up`'s path

        return operate.pull(stack, request.services, engine=self.engine, report=report)

    def builder(self) -> Engine:
        return self.engine

    def engine_address(self) -> str:
        return self.engine.where()

    def attach(self, stack: str, request: Request, show: Show, report: Report) -> int:
        from deployer.targets.engine import attached  # stops replicas: not on ls's path

        how = attached.Attach(abort_on_exit=request.abort_on_exit or bool(request.exit_code_from),
                              exit_code_from=request.exit_code_from)  # fmt: skip
        return attached.attach(self.engine, stack, request.since, how, show, report)

    def watch(self, stack: Stack, request: Request, report: Report, stop: Stopper) -> int:
        from deployer import api, operate
        from deployer.targets.engine.watch import Watcher

        engine = self.engine
        names = list(request.services) or [s.name for s in stack.services if s.watch]
        api.selected(stack, names, deps=False)  # an unknown name is exit 7

        def rebuild(current: Stack, name: str) -> None:
            options = api.UpOptions(services=(name,), no_deps=True)
            api.up(current, engine, report, request.timeout, options=options)

        def restart(current: Stack, name: str) -> None:
            operate.restart(current, [name], engine=engine, report=report)

        named_services(observe(engine, stack.name), names)  # they run: `up` first otherwise
        watcher = Watcher(engine, stack, names, report, rebuild, restart)
        watcher.initial_sync()
        watcher.run(stop)  # type: ignore[arg-type]
        return 0
