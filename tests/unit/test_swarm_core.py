"""The Swarm renderer and reconcile, pure: specs as the Engine API reads them, plans with causes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deployer.core import labels
from deployer.core.plan import Kind
from deployer.core.swarm_objects import NodeInfo, ServiceInfo, TaskInfo
from deployer.model.spec import Mount, Placement, Port, RollbackPolicy, Stack
from deployer.stackfile import codegen
from deployer.stackfile.load import load
from deployer.targets.swarm import logs as swarm_logs
from deployer.targets.swarm import render as swarm_render
from deployer.targets.swarm.reconcile import reconcile, rollback_plan
from deployer.targets.swarm.state import SwarmObserved
from deployer.targets.swarm.status import task_health

ROOT = Path(__file__).parents[2]
KEY = b"k" * 32  # the user's key for secret names (deployer.local.keys)


@pytest.fixture
def stack() -> Stack:
    return load(ROOT / "stack.py")


def _specs(stack: Stack, edge: bool = True) -> dict[str, dict[str, object]]:
    template = (ROOT / "nginx/nginx.conf.template").read_text()
    found = {}
    for service in stack.services:
        files = swarm_render.files(stack, service, template if service.proxy else None, KEY)
        body = swarm_render.service_spec(stack, service, f"reg/{service.name}@sha256:1", files,
                                         {}, edge)  # fmt: skip
        found[service.name] = swarm_render.labelled(body, stack.name, service.name, "sha256:1")
    return found


def _live(specs: dict[str, dict[str, object]]) -> SwarmObserved:
    services = [
        ServiceInfo(f"id-{name}", str(spec["Name"]), 1, dict(spec["Labels"]), spec)  # type: ignore[call-overload]
        for name, spec in specs.items()
    ]
    return SwarmObserved("demo", services, networks={"demo_default": "net1"})


def test_the_default_stack_renders_as_engine_api_service_specs(stack: Stack) -> None:
    web = _specs(stack)["web"]
    task = web["TaskTemplate"]
    container = task["ContainerSpec"]  # type: ignore[index]
    assert web["Name"] == "demo_web"
    assert web["Mode"] == {"Replicated": {"Replicas": 2}}
    assert web["EndpointSpec"] == {"Mode": "dnsrr", "Ports": []}
    assert container["User"] == "10001:10001" and container["ReadOnly"] is True
    assert container["CapabilityDrop"] == ["ALL"]
    assert container["Healthcheck"]["Interval"] == 2_000_000_000
    assert {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": 64 * 2**20}} in (
        container["Mounts"]
    )
    assert task["Resources"]["Limits"] == {  # type: ignore[index]
        "NanoCPUs": 1_000_000_000, "MemoryBytes": 256 * 2**20, "Pids": 256,
    }  # fmt: skip
    assert web["UpdateConfig"]["Order"] == "start-first"  # type: ignore[index]
    assert web["UpdateConfig"]["FailureAction"] == "rollback"  # type: ignore[index]
    assert task["Networks"] == [{"Target": "demo_default", "Aliases": ["web"]}]  # type: ignore[index]


def test_a_service_with_published_ports_goes_to_edge_nodes_in_host_mode(stack: Stack) -> None:
    nginx = _specs(stack)["nginx"]
    assert nginx["EndpointSpec"]["Ports"] == [  # type: ignore[index]
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "host"}
    ]
    constraints = nginx["TaskTemplate"]["Placement"]["Constraints"]  # type: ignore[index]
    assert constraints == [f"node.labels.{labels.EDGE_NODE}==true"]
    # A host port is held by its task: an update must stop it first (else it stays pending).
    assert nginx["UpdateConfig"]["Order"] == "stop-first"  # type: ignore[index]
    no_edge = _specs(stack, edge=False)["nginx"]
    assert no_edge["TaskTemplate"]["Placement"]["Constraints"] == []  # type: ignore[index]


def test_the_proxy_reaches_every_task_by_dns_at_request_time(stack: Stack) -> None:
    template = (ROOT / "nginx/nginx.conf.template").read_text()
    config = swarm_render.proxy_config(stack, stack.service("nginx"), template)
    assert "resolver 127.0.0.11 valid=1s ipv6=off;" in config
    assert "default tasks.web:8000;" in config
    assert "proxy_pass http://$deployer_upstream;" in config
    assert "proxy_pass http://$deployer_upstream/health;" in config
    assert "proxy_pass http://web" not in config
    files = swarm_render.files(stack, stack.service("nginx"), template, KEY)
    assert [(f.kind, f.path) for f in files] == [("config", labels.PROXY_CONFIG)]


def test_what_a_swarm_cannot_express_is_named_by_field(stack: Stack) -> None:
    web = stack.service("web").model_copy(
        update={"mounts": (Mount(type="bind", source="./data", target="/data"),),
                "privileged": True}
    )  # fmt: skip
    problems = swarm_render.problems(stack, web, nodes=3)
    assert [p.split(":")[0] for p in problems] == [
        "services.web.mounts.0",
        "services.web.privileged",
    ]
    # One node: a bind mount is on the machine that runs the task.
    assert [p.split(":")[0] for p in swarm_render.problems(stack, web, nodes=1)] == [
        "services.web.privileged"
    ]


def test_placement_and_global_mode(stack: Stack) -> None:
    web = stack.service("web").model_copy(
        update={"mode": "global", "placement": Placement(
            constraints=("node.role==worker",), preferences=("node.labels.zone",),
            max_replicas_per_node=1)}
    )  # fmt: skip
    spec = swarm_render.service_spec(stack, web, "img", [], {}, edge=True)
    assert spec["Mode"] == {"Global": {}}
    assert spec["TaskTemplate"]["Placement"] == {
        "Constraints": ["node.role==worker"],
        "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
        "MaxReplicas": 1,
    }


def test_plan_creates_then_does_nothing_then_names_what_changed(stack: Stack) -> None:
    specs = _specs(stack)
    first = reconcile(stack, SwarmObserved("demo"), specs)
    assert [(a.kind, a.resource) for a in first.actions] == [
        (Kind.CREATE_NETWORK, "demo_default"), (Kind.CREATE, "demo_web"),
        (Kind.CREATE, "demo_nginx"),
    ]  # fmt: skip
    assert reconcile(stack, _live(specs), specs).empty
    changed_env = stack.service("web").model_copy(update={"env": {"APP_MESSAGE": "v2"}})
    changed = stack.model_copy(update={"services": (changed_env, stack.service("nginx"))})
    update = reconcile(changed, _live(specs), _specs(changed))
    assert [a.text() for a in update.actions] == [
        "update          demo_web                         (config changed: container.Env)"
    ]


def test_scaling_is_an_update_of_the_count_alone(stack: Stack) -> None:
    specs = _specs(stack)
    scaled_web = stack.service("web").model_copy(update={"replicas": 3})
    scaled = stack.model_copy(update={"services": (scaled_web, stack.service("nginx"))})
    plan = reconcile(scaled, _live(specs), _specs(scaled))
    assert [a.why() for a in plan.actions] == ["replicas 2 → 3"]


def test_a_service_no_longer_in_the_stack_is_removed(stack: Stack) -> None:
    specs = _specs(stack)
    only_web = stack.model_copy(
        update={
            "services": (
                stack.service("web").model_copy(update={"ports": (Port(container=8000),)}),
            )
        }
    )
    plan = reconcile(only_web, _live(specs), _specs(only_web))
    assert (Kind.REMOVE, "demo_nginx") in [(a.kind, a.resource) for a in plan.actions]


def test_rollback_returns_updated_services_to_their_previous_spec(stack: Stack) -> None:
    before = _specs(stack)
    changed_env = stack.service("web").model_copy(update={"env": {"APP_MESSAGE": "v2"}})
    after = _specs(stack.model_copy(update={"services": (changed_env, stack.service("nginx"))}))
    live = _live(after)
    never_updated = SwarmObserved("demo", live.services)
    assert rollback_plan("demo", never_updated).empty
    web, nginx = live.services
    updated = SwarmObserved("demo", [
        ServiceInfo(web.id, web.name, 2, web.labels, web.spec, previous_spec=before["web"]),
        ServiceInfo(nginx.id, nginx.name, 1, nginx.labels, nginx.spec, previous_spec=nginx.spec),
    ])  # fmt: skip
    plan = rollback_plan("demo", updated)
    assert [a.text() for a in plan.actions] == [
        "update          demo_web                         "
        "(back to the previous spec: container.Env)"
    ]
    assert plan.unchanged == ["nginx"]
    # A failed update the swarm rolled back leaves the failed spec as the previous one.
    rolled_back = ServiceInfo(
        web.id, web.name, 3, web.labels, web.spec,
        update_state="rollback_completed", previous_spec=before["web"],
    )  # fmt: skip
    assert rollback_plan("demo", SwarmObserved("demo", [rolled_back])).empty


def test_a_swarm_log_line_names_its_service_slot_and_node() -> None:
    task = TaskInfo("t1", "s1", 2, "n1", "running", "running", "", "", "img", "c1", "")
    observed = SwarmObserved("demo", tasks=[task], nodes=[NodeInfo("n1", "node2", "ready",
                                                                   "active", {})])  # fmt: skip
    details = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,"
    details += "com.docker.swarm.task.id=t1"
    raw = f"2026-11-30T12:15:13.592203154Z {details} [INFO] Booting worker"
    line = swarm_logs.parse(raw, "web", observed)
    assert (line.container, line.service, line.replica, line.text) == (
        "web.2@node2", "web", 2, "[INFO] Booting worker",
    )  # fmt: skip
    assert line.time is not None and line.time.second == 13
    # The manager's own words (a node it cannot reach) stay whole, with no time.
    error = swarm_logs.parse("Error grabbing logs: node n3 is not available", "web", observed)
    assert (error.time, error.text) == (None, "Error grabbing logs: node n3 is not available")


def test_a_tasks_health_is_its_state_when_the_service_has_a_healthcheck(stack: Stack) -> None:
    specs = _specs(stack)
    live = _live(specs)
    web = live.services[0]
    unchecked = ServiceInfo("id", "demo_x", 1, {}, {"TaskTemplate": {"ContainerSpec": {}}})

    def task(state: str) -> TaskInfo:
        return TaskInfo("t", "id", 1, "n", state, "running", "", "", "img", "c", "")

    assert [task_health(web, task(s)) for s in ("starting", "running", "failed")] == [
        "starting", "healthy", "",
    ]  # fmt: skip
    assert task_health(unchecked, task("running")) == ""


def test_composes_rollback_config_is_the_swarms_rollback_config(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  web:\n"
        "    image: shop\n"
        "    deploy:\n"
        "      update_config: {order: start-first, monitor: 20s}\n"
        "      rollback_config: {parallelism: 2, order: stop-first, failure_action: continue}\n"
    )
    stack = load(tmp_path / "compose.yaml")
    web = stack.service("web")
    assert web.rollback == RollbackPolicy(parallelism=2, order="stop-first",
                                          failure_action="continue")  # fmt: skip
    spec = swarm_render.service_spec(stack, web, "img", [], {}, edge=True)
    assert spec["RollbackConfig"] == {
        "Parallelism": 2, "Delay": 0, "Monitor": 5_000_000_000, "Order": "stop-first",
        "FailureAction": "continue",
    }  # fmt: skip
    # Unset, a rollback rolls like the update, and pauses if it fails too.
    plain = web.model_copy(update={"rollback": None})
    spec = swarm_render.service_spec(stack, plain, "img", [], {}, edge=True)
    assert spec["RollbackConfig"]["Order"] == "start-first"
    assert spec["RollbackConfig"]["Monitor"] == 20_000_000_000
    assert spec["RollbackConfig"]["FailureAction"] == "pause"
    # The generated stack.py says the same.
    (tmp_path / "stack.py").write_text(codegen.stack_source(stack, "compose.yaml"))
    assert load(tmp_path / "stack.py").service("web").rollback == web.rollback


def test_how_the_swarm_rolls_is_a_planned_change_that_replaces_no_task(stack: Stack) -> None:
    before = _specs(stack)
    slower = stack.service("web").model_copy(
        update={
            "update": stack.service("web").update.model_copy(update={"delay": timedelta(seconds=5)})
        }
    )
    changed = stack.model_copy(update={"services": (slower, stack.service("nginx"))})
    after = _specs(changed)
    plan = reconcile(changed, _live(before), after)
    # (the rollback rolls like the update when the stack gives it no policy of its own)
    assert [a.why() for a in plan.actions] == ["config changed: RollbackConfig, UpdateConfig"]

    def task_hash(spec: dict[str, Any]) -> str:
        return str(spec["TaskTemplate"]["ContainerSpec"]["Labels"][labels.CONFIG_HASH])

    assert task_hash(after["web"]) == task_hash(before["web"])
