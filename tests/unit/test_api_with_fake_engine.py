"""up / down / status through the in-memory engine: ordering, idempotency, failure messages."""

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deployer import api
from deployer.core import labels
from deployer.model.errors import DeployFailed, ImageError
from deployer.model.spec import DependsOn, Healthcheck, Port, Service, Stack
from deployer.targets.engine import health, remove
from tests.fakes import FakeEngine

CHECK = Healthcheck(command="true", interval="1s")


def shop(web_replicas: int = 2) -> Stack:
    return Stack(
        name="shop",
        services=[
            Service(name="web", image="web:1", replicas=web_replicas, healthcheck=CHECK),
            Service(
                name="nginx", image="nginx:1", ports=[Port(container=80)], healthcheck=CHECK,
                depends_on=[DependsOn(service="web", condition="healthy")],
            ),
        ],
    )  # fmt: skip


def engine() -> FakeEngine:
    return FakeEngine(images={"web:1": "sha256:w", "nginx:1": "sha256:n"})


def test_up_starts_dependencies_first() -> None:
    fake = engine()
    deployment = api.up(shop(), engine=fake)
    assert fake.calls.index("start shop-web-1") < fake.calls.index("create shop-nginx-1")
    assert fake.calls[0] == "create network shop_default"
    assert [(r.service, r.replica, r.state) for r in deployment.replicas] == [
        ("nginx", 1, "running"), ("web", 1, "running"), ("web", 2, "running"),
    ]  # fmt: skip
    assert deployment.url() == "http://127.0.0.1:49153"


def test_second_up_touches_nothing() -> None:
    fake = engine()
    api.up(shop(), engine=fake)
    fake.calls.clear()
    deployment = api.up(shop(), engine=fake)
    assert deployment.plan.empty
    assert fake.calls == []


def test_scale_down_removes_only_extra_replicas() -> None:
    fake = engine()
    api.up(shop(web_replicas=3), engine=fake)
    fake.calls.clear()
    api.up(shop(web_replicas=1), engine=fake)
    assert sorted(fake.calls) == [
        "remove shop-web-2", "remove shop-web-3", "stop shop-web-2", "stop shop-web-3",
    ]  # fmt: skip


def test_down_stops_dependents_first_and_is_idempotent() -> None:
    fake = engine()
    api.up(shop(), engine=fake)
    fake.calls.clear()
    assert api.down("shop", engine=fake) == 4
    assert fake.calls.index("remove shop-nginx-1") < fake.calls.index("stop shop-web-1")
    assert fake.calls[-1] == "remove network shop_default"
    assert api.down("shop", engine=fake) == 0


def test_down_without_grace_kills_every_container_at_once() -> None:
    fake = engine()
    api.up(shop(), engine=fake)
    fake.calls.clear()
    assert api.down("shop", engine=fake, stop_timeout=0) == 4
    # Nothing drains, so no level waits for another and nothing is stopped first.
    assert not any(call.startswith("stop ") for call in fake.calls)
    removed = [c for c in fake.calls if c.startswith("remove shop-")]
    assert sorted(removed) == ["remove shop-nginx-1", "remove shop-web-1", "remove shop-web-2"]
    assert fake.calls[-1] == "remove network shop_default"


def test_up_returns_once_each_healthcheck_passed_before_the_engines_first_check() -> None:
    fake = engine()
    fake.first_check_pending = True
    deployment = api.up(shop(), engine=fake)
    # nginx went after web's probes passed; the engine still calls everything "starting".
    assert fake.calls.index("probe shop-web-2") < fake.calls.index("create shop-nginx-1")
    assert {(r.health, r.probed) for r in deployment.replicas} == {("starting", True)}


def test_up_with_engine_health_also_waits_for_the_engines_verdict() -> None:
    fake = engine()
    fake.first_check_pending = True  # and the engine's verdict never comes
    with pytest.raises(DeployFailed, match="not healthy after 1s \\(health: starting\\)"):
        api.up(shop(), engine=fake, timeout=1, options=api.UpOptions(engine_health=True))
    assert "create shop-nginx-1" in fake.calls  # the probes let nginx go; the verdict did not


def test_unhealthy_container_fails_with_probe_output_and_logs() -> None:
    fake = engine()
    fake.unhealthy.add("shop-web-1")
    with pytest.raises(DeployFailed) as caught:
        api.up(shop(), engine=fake)
    text = str(caught.value)
    assert "container shop-web-1 turned unhealthy" in text
    assert "  | probe said no" in text
    assert "  | log line" in text
    assert "create shop-nginx-1" not in fake.calls  # nginx waits for web to be healthy


def test_missing_image_that_cannot_be_pulled() -> None:
    fake = FakeEngine()
    with pytest.raises(ImageError) as caught:
        api.up(Stack(name="s", services=[Service(name="a", image="postgres:16")]), engine=fake)
    assert "image postgres:16 is not on this host and cannot be pulled" in str(caught.value)
    assert "python -m deployer images bootstrap" in str(caught.value)
    assert fake.calls == []


def test_missing_deployer_base_without_bootstrap_names_the_command() -> None:
    fake = FakeEngine()
    stack = Stack(name="s", services=[Service(name="a", image="deployer/nginx:bookworm")])
    with pytest.raises(ImageError) as caught:
        api.up(stack, engine=fake, bootstrap=False)
    assert str(caught.value) == (
        "base image deployer/nginx:bookworm is not on this host\n"
        "  hint: build it from Debian packages: python -m deployer images bootstrap"
    )


def test_built_service_gets_content_addressed_tag(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("ARG BASE=deployer/python:bookworm\nFROM ${BASE}\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    stack = Stack(
        name="s", services=[Service(name="a", build={"context": str(tmp_path)})]
    ).model_copy(update={"root": tmp_path})
    fake = FakeEngine(images={"deployer/python:bookworm": "sha256:base"})
    first = api.up(stack, engine=fake)
    tag = first.replicas[0].image
    assert tag.startswith("s-a:") and f"build {tag}" in fake.calls
    fake.calls.clear()
    api.up(stack, engine=fake)
    assert fake.calls == []  # same content: no build, no new container
    (tmp_path / "app.py").write_text("print(2)\n")
    assert [a.why() for a in api.plan(stack, engine=fake).actions] == ["image rebuilt"]


def test_a_restarted_container_is_probed_anew() -> None:
    fake = engine()
    fake.first_check_pending = True
    api.up(shop(), engine=fake)
    web_1 = next(c for c in fake.container_state.values() if c.name == "shop-web-1")
    assert health.passed_early(web_1)
    # Stopped and started again (docker stop; up): a new run, whose app has not answered yet.
    again = dataclasses.replace(web_1, started_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert not health.passed_early(again)


def test_swarm_settings_are_noted_and_ignored_on_a_single_engine() -> None:
    from deployer.core.events import Note
    from deployer.model.spec import Placement, RollbackPolicy

    engine = FakeEngine()
    service = Service(
        name="app", image="deployer/python:bookworm", mode="global",
        placement=Placement(constraints=("node.role==worker",)), rollback=RollbackPolicy(),
    )  # fmt: skip
    events: list[object] = []
    engine.images_by_tag["deployer/python:bookworm"] = "sha256:python"
    api.up(Stack(name="noted", services=[service]), engine, report=events.append)
    notes = [e.text() for e in events if isinstance(e, Note)]
    assert (
        "services.app: mode, placement and rollback are Swarm settings; one engine runs its "
        "1 replica(s) here" in notes
    )
    assert len(engine.containers(labels.stack_filter("noted"))) == 1


def test_down_waits_for_the_engine_to_free_the_networks_endpoints() -> None:
    fake = engine()
    api.up(shop(), engine=fake)
    fake.endpoints_linger = 3
    assert api.down("shop", engine=fake) == 4  # three containers and the network
    assert fake.network_state == {}


def test_down_cuts_off_an_endpoint_the_engine_leaked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remove, "STALE_ENDPOINT_SECONDS", 0.05)
    fake = engine()
    api.up(shop(), engine=fake)
    (network,) = fake.network_state
    fake.stale_endpoints[network] = {"shop-web-1-0123abcd"}
    said: list[object] = []
    assert api.down("shop", engine=fake, report=said.append) == 4
    assert fake.network_state == {}
    assert "disconnect shop-web-1-0123abcd" in fake.calls
    assert any("cut off the endpoints" in str(event) for event in said)
