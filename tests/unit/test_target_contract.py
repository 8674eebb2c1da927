"""What every target promises, the same test for each: the engine target on the fake engine, the
swarm target on the fake swarm manager (tests/fakes.py). The real engine and the real 3-node
swarm prove the same in tests/integration and tests/swarm; here it runs in milliseconds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from deployer.core.plan import CauseKind, Kind
from deployer.model.errors import NotFound
from deployer.model.spec import Config, ConfigUse, Service, Stack
from deployer.targets.base import NotOnTarget, Request, Target, check_support
from deployer.targets.engine.target import EngineTarget
from deployer.targets.kubernetes.target import KubernetesTarget
from deployer.targets.swarm.target import SwarmTarget
from tests.fakes import FakeEngine, FakeSwarm

IMAGES = {"web:1": "sha256:" + "1" * 64}
REGISTRY = "registry.test:5000"


@dataclass
class Harness:
    target: Target
    env_of: Callable[[str], list[dict[str, str]]]  # a service's running replicas' environment
    running: Callable[[], set[str]]  # the ids of the running replicas (containers or tasks)
    request: Request  # what every command of the test is given (a swarm's registry)


def _engine() -> Harness:
    fake = FakeEngine(images=IMAGES)

    def env_of(service: str) -> list[dict[str, str]]:
        return [
            c.env for c in fake.container_state.values()
            if c.labels.get("io.deployer.service") == service and c.state == "running"
        ]  # fmt: skip

    def running() -> set[str]:
        return {c.id for c in fake.container_state.values() if c.state == "running"}

    return Harness(EngineTarget(fake), env_of, running, Request())


def _swarm() -> Harness:
    manager = FakeSwarm()

    def env_of(service: str) -> list[dict[str, str]]:
        found = []
        for live in manager.service_state.values():
            if live.labels.get("io.deployer.service") != service:
                continue
            env = live.spec["TaskTemplate"]["ContainerSpec"]["Env"]
            tasks = [t for t in manager.task_list if t.service_id == live.id]
            running = [t for t in tasks if t.state == "running"]
            found += [dict(item.partition("=")[::2] for item in env)] * len(running)
        return found

    target = SwarmTarget(manager=manager, builder=FakeEngine(images=IMAGES))
    return Harness(target, env_of, manager.running_ids, Request(registry=REGISTRY))


@pytest.fixture(params=[_engine, _swarm], ids=["engine", "swarm"])
def harness(request: pytest.FixtureRequest) -> Harness:
    made: Harness = request.param()
    return made


def _stack(version: str = "1", replicas: int = 2) -> Stack:
    web = Service(name="web", image="web:1", replicas=replicas, env={"VERSION": version})
    return Stack(name="contract", services=(web,))


def _up(h: Harness, stack: Stack, **options: object) -> tuple[Kind, ...]:
    request = Request(registry=h.request.registry, **options)  # type: ignore[arg-type]
    deployment = h.target.up(stack, request, report=lambda event: None)
    return tuple(action.kind for action in deployment.plan.actions)


def test_a_second_up_does_nothing(harness: Harness) -> None:
    assert _up(harness, _stack())
    assert _up(harness, _stack()) == ()
    assert harness.target.plan(_stack(), harness.request).empty


def test_every_replica_runs_the_stack_and_status_says_so(harness: Harness) -> None:
    _up(harness, _stack())
    rows = harness.target.status("contract")
    assert [(r.service, r.replica, r.state) for r in rows] == [
        ("web", 1, "running"), ("web", 2, "running"),
    ]  # fmt: skip
    assert [env["VERSION"] for env in harness.env_of("web")] == ["1", "1"]


def test_status_rows_have_the_same_keys_on_every_target(harness: Harness) -> None:
    _up(harness, _stack())
    keys = {frozenset(row.as_data()) for row in harness.target.status("contract")}
    assert keys == {
        frozenset(
            {
                "stack",
                "service",
                "replica",
                "container",
                "id",
                "state",
                "health",
                "ports",
                "image",
                "restart_count",
                "oom_killed",
                "uptime_seconds",
                "problem",
                "probed",
                "node",
            }
        )
    }
    row = harness.target.status("contract")[0].as_data()
    assert isinstance(row["replica"], int) and isinstance(row["restart_count"], int)
    assert row["uptime_seconds"] is None or isinstance(row["uptime_seconds"], float)


def test_a_change_is_planned_with_its_cause_and_rolled_out(harness: Harness) -> None:
    _up(harness, _stack("1"))
    the_plan = harness.target.plan(_stack("2"), harness.request)
    assert [a.cause.kind for a in the_plan.actions] and all(
        a.cause.kind is CauseKind.CONFIG_CHANGED for a in the_plan.actions
    )
    assert all(a.object_id for a in the_plan.actions)  # what it replaces or updates, by id
    _up(harness, _stack("2"))
    assert [env["VERSION"] for env in harness.env_of("web")] == ["2", "2"]


def test_scale_is_honoured(harness: Harness) -> None:
    _up(harness, _stack())
    _up(harness, _stack().with_service("web", replicas=3))
    assert len(harness.target.status("contract")) == 3


def test_force_recreate_replaces_what_matches(harness: Harness) -> None:
    _up(harness, _stack())
    forced = harness.target.up(
        _stack(), Request(registry=harness.request.registry, force_recreate=True), lambda e: None
    )
    assert forced.plan.actions
    assert all(a.cause.kind is CauseKind.FORCED for a in forced.plan.actions)


def test_rollback_twice_returns_to_the_newer_version(harness: Harness) -> None:
    _up(harness, _stack("1"))
    _up(harness, _stack("2"))
    harness.target.rollback(_stack("2"), harness.request, lambda e: None)
    assert {env["VERSION"] for env in harness.env_of("web")} == {"1"}
    harness.target.rollback(_stack("2"), harness.request, lambda e: None)
    assert {env["VERSION"] for env in harness.env_of("web")} == {"2"}


def test_down_twice_is_fine(harness: Harness) -> None:
    _up(harness, _stack())
    assert harness.target.down("contract", harness.request, lambda e: None) > 0
    assert harness.target.down("contract", harness.request, lambda e: None) == 0
    assert harness.target.status("contract") == []


def test_an_unknown_service_is_not_found_exit_7(harness: Harness) -> None:
    _up(harness, _stack())
    with pytest.raises(NotFound) as raised:
        harness.target.restart(_stack(), Request(services=("nope",)), lambda e: None)
    assert raised.value.exit_code == 7 and "nope" in str(raised.value)


def test_restart_replaces_every_replica_and_keeps_the_version(harness: Harness) -> None:
    _up(harness, _stack())
    before = harness.running()
    assert harness.target.restart(_stack(), Request(services=("web",)), lambda e: None) == 2
    assert [env["VERSION"] for env in harness.env_of("web")] == ["1", "1"]
    if harness.target.name == "swarm":  # new tasks; one engine restarts the same containers
        assert not before & harness.running()


def test_ls_counts_every_replica(harness: Harness) -> None:
    _up(harness, _stack())
    (summary,) = [s for s in harness.target.stacks() if s.name == "contract"]
    assert summary.services == {"web": (2, 2, 2)}


def test_an_option_the_target_does_not_honour_is_refused_with_exit_64(harness: Harness) -> None:
    other = {"engine": "registry", "swarm": "engine_health"}[harness.target.name]
    with pytest.raises(NotOnTarget) as raised:
        check_support(harness.target, "up", {other: f"--{other.replace('_', '-')}"})
    assert raised.value.exit_code == 64
    assert harness.target.name in str(raised.value) and other.replace("_", "-") in str(raised.value)


def test_the_kubernetes_target_refuses_every_command_and_says_how_to_apply() -> None:
    target = KubernetesTarget()
    for command in ("up", "plan", "down", "status", "logs", "rollback", "restart", "ls"):
        with pytest.raises(NotOnTarget) as raised:
            check_support(target, command, {})
        assert raised.value.exit_code == 64 and "export kubernetes" in str(raised.value)


def test_each_target_keeps_its_own_rules() -> None:
    """A config on a read-only root: one engine writes it into the container before the start
    (only into a volume), a swarm mounts it; the engine refuses it, the swarm does not."""
    web = Service(name="web", image="web:1", read_only=True, configs=(ConfigUse(source="app"),))
    stack = Stack(name="rules", services=(web,), configs=(Config(name="app", content="x"),))
    assert any("read-only root" in p for p in EngineTarget(FakeEngine()).check(stack))
    assert SwarmTarget(manager=FakeSwarm(), builder=FakeEngine()).check(stack) == []
