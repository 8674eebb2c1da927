"""Defects a fault review found, each pinned by the in-memory engine."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from deployer import api
from deployer.core.plan import Kind
from deployer.model.errors import DeployFailed, EngineError, Interrupted, StackError
from deployer.model.spec import Healthcheck, Port, Proxy, Service, Stack, UpdatePolicy
from deployer.targets.engine import health
from tests.fakes import FakeEngine
from tests.unit.test_rollout import CHECK, TEMPLATE, engine, ids, shop


def test_a_template_with_an_unknown_placeholder_fails_before_anything_is_created(
    tmp_path: Path,
) -> None:
    stack = shop(tmp_path)
    (tmp_path / "nginx.conf.template").write_text(TEMPLATE + "{{ no_such_thing }}\n")
    fake = engine()
    with pytest.raises(StackError) as failed:
        api.up(stack, engine=fake)
    assert failed.value.exit_code == 2
    assert "unknown placeholder {{ no_such_thing }}" in str(failed.value)
    assert fake.calls == []


def test_a_refused_stop_first_successor_brings_the_old_replica_back(tmp_path: Path) -> None:
    fake = engine()
    stop_first = UpdatePolicy(order="stop-first")
    web = Service(name="web", image="web:1", healthcheck=CHECK, update=stop_first)
    api.up(Stack(name="shop", services=(web,)), engine=fake)
    fake.refused.add("shop-web-1-")  # the successor's name
    newer = web.model_copy(update={"image": "web:2"})
    with pytest.raises(EngineError) as failed:
        api.up(Stack(name="shop", services=(newer,)), engine=fake)
    assert failed.value.exit_code == 6
    assert "injected refusal" in failed.value.message  # the engine's own words
    after_first_up = fake.calls[3:]
    assert [c.rsplit("-", 1)[0] if c.startswith("refuse") else c for c in after_first_up] == [
        "stop shop-web-1",
        "refuse shop-web-1",
        "start shop-web-1",
    ]  # fmt: skip
    assert [c.state for c in fake.container_state.values()] == ["running"]


def test_a_proxy_waits_for_its_upstream_even_without_depends_on(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf.template").write_text(TEMPLATE)
    for _ in range(3):  # without the rule, the two race and the proxy goes first
        web = Service(name="web", image="web:1", replicas=2, healthcheck=CHECK)
        nginx = Service(
            name="nginx", image="nginx:1", ports=[Port(container=80)], healthcheck=CHECK,
            proxy=Proxy(upstream="web", port=8000, template=tmp_path / "nginx.conf.template"),
        )  # fmt: skip
        fake = engine()
        fake.start_delay = 0.05
        api.up(Stack(name="shop", services=(web, nginx)), engine=fake)
        assert fake.calls.index("start shop-web-2") < fake.calls.index("create shop-nginx-1")


def test_every_failing_service_is_reported() -> None:
    fake = FakeEngine(images={"a:1": "sha256:a", "b:1": "sha256:b"})
    fake.unhealthy.update({"shop-a-1", "shop-b-1"})
    stack = Stack(
        name="shop",
        services=(
            Service(name="a", image="a:1", healthcheck=CHECK),
            Service(name="b", image="b:1", healthcheck=CHECK),
        ),
    )
    with pytest.raises(DeployFailed) as failed:
        api.up(stack, engine=fake)
    assert failed.value.message.startswith("2 services failed:")
    assert "shop-a-1 turned unhealthy" in failed.value.message
    assert "shop-b-1 turned unhealthy" in failed.value.message


def test_a_failure_whose_logs_cannot_be_read_still_says_what_failed() -> None:
    fake = FakeEngine()
    fake.unhealthy.add("shop-web-1")
    fake.logs_broken = True
    with pytest.raises(DeployFailed) as failed:
        health.wait_ready(fake, [fake.started("shop-web-1")], timeout=5)
    assert "container shop-web-1 turned unhealthy" in failed.value.message
    assert "its logs could not be read: reading logs of" in failed.value.message


def test_a_cancelled_wait_gives_up_within_a_poll() -> None:
    fake = FakeEngine()
    container_id = fake.started("shop-web-1")
    fake._replace(container_id, health="starting")
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        health.wait_ready(fake, [container_id], timeout=60, cancel=cancel)
    assert time.monotonic() - started < 1.0


def test_a_probe_never_runs_on_the_stopped_replica_after_a_refusal(tmp_path: Path) -> None:
    """The refused successor leaves no half-created container behind."""
    fake = engine()
    web = Service(name="web", image="web:1", healthcheck=Healthcheck(command="true"))
    api.up(Stack(name="shop", services=(web,)), engine=fake)
    fake.refused.add("shop-web-1-")
    with pytest.raises(EngineError):
        api.up(Stack(name="shop", services=(web.model_copy(update={"image": "web:2"}),)),
               engine=fake)  # fmt: skip
    assert sorted(ids(fake)) == ["shop-web-1"]


def test_a_proxy_needs_its_upstream_everywhere_order_matters(tmp_path: Path) -> None:
    """Selection (`up nginx`), plan order and the label `down` orders by all see the edge."""
    (tmp_path / "nginx.conf.template").write_text(TEMPLATE)
    web = Service(name="web", image="web:1", healthcheck=CHECK)
    nginx = Service(
        name="nginx", image="nginx:1", healthcheck=CHECK,
        proxy=Proxy(upstream="web", port=8000, template=tmp_path / "nginx.conf.template"),
    )  # fmt: skip
    stack = Stack(name="shop", services=(nginx, web))
    assert api.selected(stack, ["nginx"]) == {"nginx", "web"}
    fake = engine()
    deployment = api.up(stack, engine=fake)
    created = [a.resource for a in deployment.plan.actions if a.kind is Kind.CREATE]
    assert created == ["shop-web-1", "shop-nginx-1"]  # the plan lists nginx second
    api.down("shop", engine=fake)
    assert fake.calls.index("remove shop-nginx-1") < fake.calls.index("stop shop-web-1")


def test_a_proxy_of_itself_is_an_invalid_stack(tmp_path: Path) -> None:
    (tmp_path / "t").write_text(TEMPLATE)
    proxy = Proxy(upstream="nginx", port=80, template=tmp_path / "t")
    with pytest.raises(StackError, match="a proxy cannot be its own upstream"):
        api.plan(Stack(name="s", services=(Service(name="nginx", image="n", proxy=proxy),)),
                 engine=engine())  # fmt: skip
