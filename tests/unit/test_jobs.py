"""One-shot jobs (a migration): dependants start only once it exits 0; it is not run again."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer import api
from deployer.model.errors import DeployFailed, StackError
from deployer.model.spec import Stack
from deployer.stackfile import load
from tests.fakes import FakeEngine

STACK = {
    "name": "shop",
    "services": [
        {"name": "migrate", "image": "migrate:1", "command": ["migrate"]},
        {"name": "web", "image": "web:1",
         "depends_on": [{"service": "migrate", "condition": "completed"}]},
    ],
}  # fmt: skip


def engine(exit_code: int = 0) -> FakeEngine:
    fake = FakeEngine({"migrate:1": "sha256:m", "web:1": "sha256:w"})
    fake.exits_on_start["migrate:1"] = exit_code
    return fake


def test_dependants_start_after_the_job_completed_and_it_is_not_run_again() -> None:
    fake = engine()
    stack = Stack.model_validate(STACK)
    deployment = api.up(stack, engine=fake)
    assert fake.calls.index("start shop-migrate-1") < fake.calls.index("create shop-web-1")
    states = {r.container: (r.state, r.health) for r in deployment.replicas}
    assert states["shop-migrate-1"][0] == "exited" and states["shop-web-1"][0] == "running"
    fake.calls.clear()
    again = api.up(stack, engine=fake)
    assert again.plan.empty
    assert not [c for c in fake.calls if c.startswith("start")]


def test_a_failing_job_fails_the_deploy_with_its_exit_code_and_nothing_after_it_starts() -> None:
    fake = engine(exit_code=3)
    with pytest.raises(DeployFailed) as raised:
        api.up(Stack.model_validate(STACK), engine=fake)
    assert "shop-migrate-1 exited with code 3" in raised.value.message
    assert "last 20 log lines" in raised.value.message
    assert not [c for c in fake.calls if c.startswith("create shop-web")]


def test_a_job_changed_runs_again_before_its_dependants() -> None:
    fake = engine()
    api.up(Stack.model_validate(STACK), engine=fake)
    changed = Stack.model_validate(STACK)
    job = changed.service("migrate").model_copy(update={"command": ("migrate", "--all")})
    changed = changed.model_copy(update={"services": (job, changed.service("web"))})
    fake.calls.clear()
    deployment = api.up(changed, engine=fake)
    assert [a.kind.value for a in deployment.plan.actions] == ["recreate"]
    assert any(c.startswith("start shop-migrate-1-") for c in fake.calls)


def test_a_job_that_would_restart_forever_is_refused() -> None:
    stack = Stack.model_validate(STACK)
    job = stack.service("migrate").model_copy(update={"restart": "always"})
    stack = stack.model_copy(update={"services": (job, stack.service("web"))})
    with pytest.raises(StackError, match=r"services\.migrate\.restart: 'always' would run"):
        load.checked(stack, "stack.py")


COMPOSE = """
services:
  migrate:
    image: migrate:1
    profiles: [setup]
  seed:
    image: seed:1
  web:
    image: web:1
    depends_on:
      seed:
        condition: service_completed_successfully
        restart: true
      migrate:
        condition: service_completed_successfully
        required: false
"""


def test_compose_completed_conditions_optional_and_restart(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    warnings: list[str] = []
    stack = load.load(tmp_path / "compose.yaml", warnings.append)
    web = stack.service("web")
    assert [(d.service, d.condition, d.restart) for d in web.depends_on] == [
        ("seed", "completed", True)
    ]
    assert stack.jobs() == {"seed"}
    assert not [w for w in warnings if "restart" in w]


def test_a_dependant_with_restart_is_restarted_when_its_dependency_is_replaced() -> None:
    fake = FakeEngine({"db:1": "sha256:d1", "db:2": "sha256:d2", "web:1": "sha256:w"})
    data = {
        "name": "shop",
        "services": [
            {"name": "db", "image": "db:1"},
            {"name": "web", "image": "web:1",
             "depends_on": [{"service": "db", "restart": True}]},
        ],
    }  # fmt: skip
    api.up(Stack.model_validate(data), engine=fake)
    web_id = next(c.id for c in fake.container_state.values() if c.name == "shop-web-1")
    fake.calls.clear()
    data["services"][0]["image"] = "db:2"  # type: ignore[index]
    api.up(Stack.model_validate(data), engine=fake)
    assert "stop shop-web-1" in fake.calls and "start shop-web-1" in fake.calls
    assert fake.calls.index("stop shop-web-1") > fake.calls.index(
        "start shop-db-1-"
        + next(c.split("-")[-1] for c in fake.calls if c.startswith("start shop-db-1-"))
    )
    assert any(c.id == web_id for c in fake.container_state.values())  # kept, restarted
    fake.calls.clear()
    api.up(Stack.model_validate(data), engine=fake)  # nothing replaced: nothing restarted
    assert not [c for c in fake.calls if c.startswith(("stop", "start"))]
