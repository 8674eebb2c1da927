"""The swarm target: a Docker Swarm manager (DOCKER_HOST) runs the stack as services; images are
built where deployer runs and pushed to a registry every node pulls from. The swarm rolls its own
tasks; deployer configures it, watches it, and refuses what a swarm cannot be asked to do."""

from __future__ import annotations

from collections.abc import Iterator

from deployer.core.events import Report, log
from deployer.core.plan import Plan
from deployer.core.status import Deployment, LogLine, ReplicaStatus, StackSummary
from deployer.engine.protocol import Engine, SwarmEngine
from deployer.images import build as images
from deployer.model.errors import NotFound
from deployer.model.spec import Stack
from deployer.stackfile import validate
from deployer.targets.base import Request, Show, Stopper, Support, TargetName
from deployer.targets.swarm import api, apply, render
from deployer.unchanged import answer as unchanged

_NODES = "tasks run on the swarm's nodes, not on the engine deployer talks to"
SUPPORT = {
    "up": Support.of(
        "scale",
        "force_recreate",
        "no_build",
        "pull",
        "no_bootstrap",
        "timeout",
        "lock_timeout",
        "registry",
        why_not={
            "services": "a swarm deploys the whole stack: every service is updated or left as "
            "it runs, so naming some would remove the others",
            "no_deps": "a swarm starts services in no order; there are no dependencies to leave",
            "engine_health": "the swarm's own healthchecks gate every task already",
            "attach": "a swarm runs its tasks on its nodes: follow them with "
            "`logs -f --target swarm`",
            "abort_on_exit": "a swarm replaces a task that exits; it never stops a service for it",
            "exit_code_from": "a swarm replaces a task that exits; run the check on an engine "
            "(`up --target engine --exit-code-from SERVICE`)",
            "watch": "the inner loop runs on one engine: `up --watch --target engine`",
        },
    ),
    "plan": Support.of("registry"),
    "rollback": Support.of("timeout", "lock_timeout"),
    "down": Support.of(
        "lock_timeout",
        why_not={
            "volumes": "named volumes live on each node; remove them there (`docker volume rm` "
            "against each node's engine)",
            "rmi": "images live on each node and in the registry; remove them there",
            "timeout": "a swarm stops each task with its service's stop_grace_period; set that "
            "in the stack",
        },
    ),
    "status": Support.of(
        "watch",
        "interval",
        why_not={"with_stats": "tasks run on the nodes; `docker stats` against each node's engine"},
    ),
    "logs": Support.of("services", "follow", "since", "tail", "timestamps", "no_prefix"),
    "restart": Support.of("services"),
    "stop": Support.refused(
        "a swarm keeps every service's tasks running; scale one to zero instead "
        "(`up --target swarm --scale web=0`) or remove the stack (`down --target swarm`)"
    ),
    "start": Support.refused(
        "a swarm starts tasks by itself; `up --target swarm` brings every service to its replicas"
    ),
    "exec": Support.refused(
        f"{_NODES}: `status --target swarm` shows each task's node and container; run "
        "`docker exec` against that node's engine"
    ),
    "run": Support.refused(
        "one-off tasks are not run on a swarm; run the service once on an engine "
        "(`run --target engine`), where its image and networks can be made locally"
    ),
    "ls": Support.of(),
    "build": Support.of("services", "no_cache", "registry"),
    "pull": Support.refused(
        "every node pulls the images from the registry during `up --target swarm`; "
        "nothing is pulled where deployer runs"
    ),
    # Base images are made where deployer builds (the local engine or DEPLOYER_BUILD_HOST).
    "images": Support.of("which", "force"),
    "watch": Support.refused(
        "the inner loop syncs and rebuilds on one engine, next to your files: "
        "`watch --target engine` (or `up --watch --target engine`)"
    ),
    "gc": Support.refused(
        "gc removes throwaway stacks of dead test sessions from one engine; run it there"
    ),
    "tunnel": Support.refused(
        f"{_NODES}: a task's port is published on its node (`status --target swarm` names it); "
        "forward it with `ssh -L PORT:127.0.0.1:PORT NODE`"
    ),
}


class SwarmTarget:
    name: TargetName = "swarm"

    def __init__(self, manager: SwarmEngine | None = None, builder: Engine | None = None) -> None:
        self._manager = manager
        self._builder = builder

    @property
    def manager(self) -> SwarmEngine:
        if self._manager is None:
            self._manager = api.connect()
        return self._manager

    def builder(self) -> Engine:
        if self._builder is None:
            self._builder = api.build_engine()
        return self._builder

    def engine_address(self) -> str:
        return self.manager.where()

    def support(self, command: str) -> Support:
        return SUPPORT.get(command) or Support.refused("not a command of this target")

    def check(self, stack: Stack) -> list[str]:
        nodes = apply.check_target(self.manager)
        return validate.problems(stack) + [
            p for service in stack.services for p in render.problems(stack, service, nodes)
        ]

    def plan(self, stack: Stack, request: Request) -> Plan:
        return api.plan(stack, self.manager, self._builder, request.registry)

    def up(self, stack: Stack, request: Request, report: Report) -> Deployment:
        options = api.SwarmUpOptions(force_recreate=request.force_recreate, build=request.build,
                                     pull=request.pull, bootstrap=request.bootstrap)  # fmt: skip
        deployment = api.up(
            stack, self.manager, self._builder, request.registry, report, request.timeout,
            request.lock_timeout, options,
        )  # fmt: skip
        # The record that lets the next unchanged `up` answer fast (only while the command line
        # records: a plain `up` or `plan`, deployer.unchanged).
        if unchanged.recording_now():  # (the builder is only connected for the record)
            summary = unchanged.deployment_summary(deployment, self.engine_address())
            builder = self.builder()
            unchanged.remember(self.manager, deployment.stack, summary, builder, deployment.built)
        return deployment

    def rollback(self, stack: Stack, request: Request, report: Report) -> Deployment:
        return api.rollback(stack, self.manager, report, request.timeout, request.lock_timeout)

    def down(self, stack: str, request: Request, report: Report) -> int:
        return api.down(stack, self.manager, report, request.lock_timeout)

    def status(self, stack: str) -> list[ReplicaStatus]:
        return api.status(stack, self.manager)

    def logs(self, stack: str, request: Request, stop: Stopper) -> Iterator[LogLine]:
        return api.logs(
            stack, request.services, follow=request.follow, since=request.since,
            tail=request.tail, manager=self.manager, stop_event=stop,  # type: ignore[arg-type]
        )  # fmt: skip

    def restart(self, stack: Stack, request: Request, report: Report) -> int:
        return api.restart(stack, request.services, self.manager, report, request.timeout)

    def stop(self, stack: str, request: Request, report: Report) -> int:
        raise AssertionError("refused by support()")

    def start(self, stack: str, request: Request, report: Report) -> int:
        raise AssertionError("refused by support()")

    def stacks(self) -> list[StackSummary]:
        return apply.stacks(self.manager)

    def build(self, stack: Stack, request: Request, report: Report = log) -> dict[str, str]:
        """Build where deployer runs and push to the registry the nodes pull from: service ->
        the reference the swarm's tasks will run."""
        registry = api.registry_of(request.registry)
        names = {s.name for s in stack.services}
        unknown = sorted(set(request.services) - names)
        if unknown:
            raise NotFound(f"stack {stack.name} has no service {', '.join(unknown)}",
                           hint=f"its services: {', '.join(sorted(names))}")  # fmt: skip
        chosen = set(request.services) or names
        built = images.prepare(self.builder(), stack, report, services=chosen,
                               no_cache=request.no_cache)  # fmt: skip
        wanted = stack.model_copy(
            update={"services": tuple(s for s in stack.services if s.name in chosen)}
        )
        return apply.push_images(self.builder(), wanted, built, registry, report)

    def pull(self, stack: Stack, request: Request, report: Report) -> dict[str, str]:
        raise AssertionError("refused by support()")

    def attach(self, stack: str, request: Request, show: Show, report: Report) -> int:
        raise AssertionError("refused by support()")

    def watch(self, stack: Stack, request: Request, report: Report, stop: Stopper) -> int:
        raise AssertionError("refused by support()")
