"""Progress as typed events: what deploy steps emit, and how the CLI renders them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer import api
from deployer.cli.output import Progress, status_table
from deployer.core import events
from deployer.core.events import ContainerReady, ContainerUnhealthy, Event, PlanMade
from deployer.core.plan import CauseKind, Kind, Plan
from deployer.core.state import PublishedPort
from deployer.model.errors import DeployFailed
from deployer.model.spec import Service
from deployer.targets.engine import health
from tests.fakes import FakeEngine
from tests.unit.test_rollout import engine, socket_shop

SERVICE = Service(name="web", image="web:1")


def test_waiting_emits_ready_events() -> None:
    fake = FakeEngine()
    seen: list[Event] = []
    ids = [fake.started("shop-web-1"), fake.started("shop-web-2")]
    health.wait_ready(fake, ids, timeout=5, report=seen.append)
    assert [(type(e), e.name) for e in seen if isinstance(e, ContainerReady)] == [
        (ContainerReady, "shop-web-1"),
        (ContainerReady, "shop-web-2"),
    ]
    assert all(isinstance(e, ContainerReady) and e.health == "healthy" for e in seen)


def test_an_unhealthy_container_is_an_event_then_a_failure_with_its_evidence() -> None:
    fake = FakeEngine()
    fake.unhealthy.add("shop-web-1")
    seen: list[Event] = []
    with pytest.raises(DeployFailed) as failed:
        health.wait_ready(fake, [fake.started("shop-web-1")], timeout=5,
                          report=seen.append)  # fmt: skip
    assert seen == [ContainerUnhealthy("shop-web-1", "turned unhealthy")]
    assert "| probe said no" in failed.value.message
    assert "| log line" in failed.value.message


def test_every_event_kind_is_distinct_and_serialisable() -> None:
    kinds = [cls.kind for cls in vars(events).values()
             if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event]  # fmt: skip
    assert len(kinds) == len(set(kinds)) >= 15
    plan_event = PlanMade(Plan("shop"))
    assert json.loads(json.dumps(plan_event.as_data())) == {
        "event": "plan", "stack": "shop", "actions": [], "unchanged": [],
    }  # fmt: skip
    assert str(ContainerReady("shop-web-1", "", 1.25)) == "shop-web-1 running after 1.2s"


def test_a_deploy_reports_in_order_through_one_sink(tmp_path: Path) -> None:
    seen: list[Event] = []
    api.up(socket_shop(tmp_path), engine=engine(), report=seen.append)
    kinds = [e.kind for e in seen]
    assert kinds[0] == "plan"
    assert kinds.index("container-created") < kinds.index("container-started")
    assert kinds.index("container-ready") < kinds.index("slot-swapped")


def test_progress_renders_lines_for_people_and_json_for_scripts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Progress()(ContainerReady("shop-web-1", "healthy", 2.31))
    Progress()(events.ContainerCreated("shop-web-1"))  # nothing for people
    Progress(json_lines=True)(ContainerReady("shop-web-1", "healthy", 2.31))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("] shop-web-1 healthy after 2.3s")
    data = json.loads(lines[1])
    assert data["event"] == "container-ready" and data["name"] == "shop-web-1"
    assert len(lines) == 2


def test_status_table_lists_replicas_then_their_problems() -> None:
    row = api.ReplicaStatus(
        stack="shop", service="web", replica=1, container="shop-web-1", id="abc", state="running",
        health="unhealthy", ports=[PublishedPort("127.0.0.1", 8080, 80)], image="web:1",
        restart_count=0, uptime_seconds=65.0, problem="route missing: no slot-1.sock",
    )  # fmt: skip
    text = status_table([row])
    assert text.splitlines()[1].split() == [
        "web", "shop-web-1", "running", "unhealthy", "127.0.0.1:8080->80", "web:1", "0", "1m05s",
    ]  # fmt: skip
    assert text.splitlines()[-1] == "shop-web-1: route missing: no slot-1.sock"


def test_status_table_says_when_the_memory_limit_killed_a_replica() -> None:
    row = api.ReplicaStatus(
        stack="shop", service="web", replica=1, container="shop-web-1", id="abc", state="running",
        health="healthy", ports=[], image="web:1", restart_count=1, uptime_seconds=5.0,
        oom_killed=True,
    )  # fmt: skip
    assert "1 (OOM-killed)" in status_table([row])
    assert row.as_data()["oom_killed"] is True


def test_a_broken_route_observed_through_the_proxy_is_planned_and_repaired(
    tmp_path: Path,
) -> None:
    fake = engine()
    api.up(socket_shop(tmp_path), engine=fake)
    del fake.links["/run/deployer-upstream/slot-2.sock"]
    assert [r.problem for r in api.status("shop", fake) if r.container == "shop-web-2"] == [
        "route missing: no slot-2.sock"
    ]
    planned = api.plan(socket_shop(tmp_path), engine=fake).actions
    assert [(a.kind, a.cause.kind, a.resource) for a in planned] == [
        (Kind.ROUTE, CauseKind.ROUTE_MISSING, "shop-web-2")
    ]
    api.up(socket_shop(tmp_path), engine=fake)
    assert fake.links["/run/deployer-upstream/slot-2.sock"].endswith("/shop-web-2.sock")
    assert api.plan(socket_shop(tmp_path), engine=fake).empty


def test_a_container_ready_by_the_early_probe_still_reads_healthy_after() -> None:
    from deployer.core.events import ContainerReady

    text = ContainerReady("shop-web-1", "healthy", 0.8, probed=True).text()
    assert text == "shop-web-1 healthy after 0.8s (its healthcheck, run early)"
