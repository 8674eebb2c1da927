"""The kubernetes target: render-only. `export kubernetes` writes the manifests; every command
that would act on a cluster refuses (exit 64) and says how to apply them instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn

from deployer.core.events import Report
from deployer.core.plan import Plan
from deployer.core.status import Deployment, LogLine, ReplicaStatus, StackSummary
from deployer.engine.protocol import Engine
from deployer.model.errors import StackError
from deployer.model.spec import Stack
from deployer.stackfile import validate
from deployer.targets.base import Request, Show, Stopper, Support, TargetName, refuse
from deployer.targets.kubernetes import render

RENDER_ONLY = (
    "deployer renders Kubernetes manifests and does not talk to a cluster: "
    "`deployer export kubernetes -o DIR`, then `kubectl apply -f DIR` (and kubectl for the rest)"
)


class KubernetesTarget:
    name: TargetName = "kubernetes"

    def support(self, command: str) -> Support:
        return Support.refused(RENDER_ONLY)

    def check(self, stack: Stack) -> list[str]:
        """The shared rules, and what the manifests cannot say (each naming its field)."""
        found = validate.problems(stack)
        try:
            render.export(stack, render.Options())
        except StackError as error:
            found += error.problems
        return found

    def _refused(self, command: str) -> NoReturn:
        raise refuse(self.name, command, RENDER_ONLY)

    def plan(self, stack: Stack, request: Request) -> Plan:
        self._refused("plan")

    def up(self, stack: Stack, request: Request, report: Report) -> Deployment:
        self._refused("up")

    def rollback(self, stack: Stack, request: Request, report: Report) -> Deployment:
        self._refused("rollback")

    def down(self, stack: str, request: Request, report: Report) -> int:
        self._refused("down")

    def status(self, stack: str) -> list[ReplicaStatus]:
        self._refused("status")

    def logs(self, stack: str, request: Request, stop: Stopper) -> Iterator[LogLine]:
        self._refused("logs")

    def restart(self, stack: Stack, request: Request, report: Report) -> int:
        self._refused("restart")

    def stop(self, stack: str, request: Request, report: Report) -> int:
        self._refused("stop")

    def start(self, stack: str, request: Request, report: Report) -> int:
        self._refused("start")

    def stacks(self) -> list[StackSummary]:
        self._refused("ls")

    def build(self, stack: Stack, request: Request, report: Report) -> dict[str, str]:
        self._refused("build")

    def pull(self, stack: Stack, request: Request, report: Report) -> dict[str, str]:
        self._refused("pull")

    def builder(self) -> Engine:
        self._refused("images")

    def engine_address(self) -> str:
        return ""  # rendered only: nothing of it runs anywhere deployer knows

    def attach(self, stack: str, request: Request, show: Show, report: Report) -> int:
        self._refused("up")

    def watch(self, stack: Stack, request: Request, report: Report, stop: Stopper) -> int:
        self._refused("watch")
