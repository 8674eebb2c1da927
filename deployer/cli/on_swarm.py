"""The commands with --target swarm: the same verbs, printed per service and task."""

from __future__ import annotations

import json

from deployer import swarm
from deployer.cli.app import print_json
from deployer.cli.output import table
from deployer.cli.progress import progress
from deployer.model.spec import Stack
from deployer.swarm import TaskStatus


def task_table(tasks: list[TaskStatus]) -> str:
    headers = ["SERVICE", "SLOT", "NODE", "STATE", "HEALTH", "IMAGE", "CONTAINER", "CHANGED",
               "ERROR"]  # fmt: skip
    rows = [
        [t.service, str(t.slot or "-"), t.node, t.state, t.health or "-", t.image,
         t.container or "-", f"{t.since} ago" if t.since else "-", t.error or "-"]
        for t in tasks
    ]  # fmt: skip
    return table(headers, rows)


def up(stack: Stack, registry: str | None, timeout: float | None, json_output: bool) -> int:
    with progress(json_output) as report:
        deployment = swarm.up(stack, registry=registry, report=report, timeout=timeout)
    return _print(deployment, "is up on the swarm", json_output)


def rollback(stack_name: str, timeout: float | None, json_output: bool) -> int:
    with progress(json_output) as report:
        deployment = swarm.rollback(stack_name, report=report, timeout=timeout)
    return _print(deployment, "is back at its previous version on the swarm", json_output)


def _print(deployment: swarm.SwarmDeployment, done: str, json_output: bool) -> int:
    if json_output:
        print_json(deployment.as_data())
        return 0
    print(task_table(deployment.tasks))
    if deployment.plan.empty:
        print(f"\nstack {deployment.stack}: nothing to do; every service matches and runs")
    else:
        print(f"\nstack {deployment.stack} {done} in {deployment.seconds:.1f}s")
    return 0


def plan(stack: Stack, registry: str | None, json_output: bool) -> int:
    the_plan = swarm.plan(stack, registry=registry)
    print(json.dumps(the_plan.as_data(), indent=2) if json_output else the_plan.text())
    return 0


def status(stack_name: str, json_output: bool) -> str:
    tasks = swarm.status(stack_name)
    if json_output:
        return json.dumps([t.as_data() for t in tasks], indent=2)
    return task_table(tasks) if tasks else f"stack {stack_name}: no services on the swarm"


def down(stack_name: str, json_output: bool) -> int:
    with progress(json_output) as report:
        removed = swarm.down(stack_name, report=report)
    if json_output:
        print_json({"stack": stack_name, "removed": removed})
    else:
        print(f"stack {stack_name}: removed {removed} object(s) from the swarm" if removed
              else f"stack {stack_name}: nothing to remove")  # fmt: skip
    return 0
