"""Rolling updates through the in-memory engine: start-first order, rollback, stop-first, repair."""

from pathlib import Path

import pytest

from deployer import api
from deployer.core import labels
from deployer.images.build import resolve_without_building
from deployer.model.errors import DeployFailed, NotFound
from deployer.model.spec import DependsOn, Healthcheck, Port, Proxy, Service, Stack
from deployer.targets.engine.desired import DesiredStack
from tests.fakes import FakeEngine

CHECK = Healthcheck(command="true", interval="1s")
TEMPLATE = "upstream {{ upstream }} {\n    {{ upstream_servers }}\n}\n"


def shop(root: Path, image: str = "web:1", replicas: int = 2, env: str = "a") -> Stack:
    (root / "nginx.conf.template").write_text(TEMPLATE)
    web = Service(name="web", image=image, replicas=replicas, healthcheck=CHECK, env={"V": env})
    nginx = Service(
        name="nginx", image="nginx:1", healthcheck=CHECK, ports=[Port(container=80, host=8080)],
        proxy=Proxy(upstream="web", port=8000, template=root / "nginx.conf.template"),
        depends_on=[DependsOn(service="web", condition="healthy")],
    )  # fmt: skip
    return Stack(name="shop", services=[web, nginx]).model_copy(update={"root": root})


def engine() -> FakeEngine:
    return FakeEngine(images={"web:1": "sha256:w1", "web:2": "sha256:w2", "nginx:1": "sha256:n"})


def ids(fake: FakeEngine) -> dict[str, str]:
    return {info.name: cid for cid, info in fake.container_state.items()}


def upstream_of(fake: FakeEngine) -> list[str]:
    config = fake.proxy_configs["shop-nginx-1"]
    return [line.split()[1].split(":")[0] for line in config.splitlines() if "server " in line]


def test_start_first_order_for_each_replica(tmp_path: Path) -> None:
    fake = engine()
    api.up(shop(tmp_path), engine=fake)
    fake.calls.clear()
    api.up(shop(tmp_path, image="web:2"), engine=fake)
    successor = next(c.split()[1] for c in fake.calls if c.startswith("create shop-web-1-"))
    calls = fake.calls
    # successor healthy and in the upstream before the predecessor leaves it and stops
    assert calls.index(f"start {successor}") < calls.index("reload shop-nginx-1")
    assert calls.index("reload shop-nginx-1") < calls.index("stop shop-web-1")
    assert calls.index("stop shop-web-1") < calls.index("create " + successor.replace("-1-", "-2-"))
    assert f"rename {successor} shop-web-1" in calls
    assert sorted(ids(fake)) == ["shop-nginx-1", "shop-web-1", "shop-web-2"]
    assert upstream_of(fake) == ["shop-web-1", "shop-web-2"]
    assert {fake.container_state[i].image for n, i in ids(fake).items() if "web" in n} == {"web:2"}


def test_failed_health_gate_restores_the_previous_version(tmp_path: Path) -> None:
    fake = engine()
    api.up(shop(tmp_path), engine=fake)
    before = ids(fake)
    fake.unhealthy_images.add("web:2")
    with pytest.raises(DeployFailed) as caught:
        api.up(shop(tmp_path, image="web:2"), engine=fake)
    assert "update of web stopped; the previous version keeps serving" in str(caught.value)
    assert ids(fake) == before  # same containers, nothing left of the new version
    assert all(info.state == "running" for info in fake.container_state.values())
    assert upstream_of(fake) == ["shop-web-1", "shop-web-2"]


def test_failure_on_second_replica_brings_the_first_back(tmp_path: Path) -> None:
    fake = engine()
    api.up(shop(tmp_path), engine=fake)
    before = ids(fake)
    original_start = fake.start

    def start(container_id: str) -> None:
        original_start(container_id)
        name = fake.container_state[container_id].name
        if name.startswith("shop-web-2-"):  # only the second successor is sick
            fake._replace(container_id, health="unhealthy")

    fake.start = start  # type: ignore[method-assign]
    with pytest.raises(DeployFailed):
        api.up(shop(tmp_path, image="web:2"), engine=fake)
    assert ids(fake) == before
    assert all(info.state == "running" for info in fake.container_state.values())
    assert upstream_of(fake) == ["shop-web-1", "shop-web-2"]


def test_fixed_host_port_is_replaced_stop_first(tmp_path: Path) -> None:
    stack = shop(tmp_path)
    fake = engine()
    api.up(stack, engine=fake)
    fake.calls.clear()
    changed = stack.model_copy(
        update={
            "services": (
                stack.services[0],
                stack.services[1].model_copy(update={"env": {"X": "1"}}),
            )
        }
    )
    plan = api.plan(changed, engine=fake)
    assert [a.text() for a in plan.actions] == [
        "recreate        shop-nginx-1                     "
        "(config changed: env; stop-first: fixed host port 8080)"
    ]
    api.up(changed, engine=fake)
    successor = next(c.split()[1] for c in fake.calls if c.startswith("create shop-nginx-1-"))
    assert fake.calls.index("stop shop-nginx-1") < fake.calls.index(f"start {successor}")


def test_scaling_changes_the_upstream_without_recreating(tmp_path: Path) -> None:
    fake = engine()
    api.up(shop(tmp_path), engine=fake)
    nginx_id = ids(fake)["shop-nginx-1"]
    api.up(shop(tmp_path, replicas=3), engine=fake)
    assert upstream_of(fake) == ["shop-web-1", "shop-web-2", "shop-web-3"]
    api.up(shop(tmp_path, replicas=1), engine=fake)
    assert upstream_of(fake) == ["shop-web-1"]
    assert sorted(ids(fake)) == ["shop-nginx-1", "shop-web-1"]
    assert ids(fake)["shop-nginx-1"] == nginx_id


def test_interrupted_update_is_repaired(tmp_path: Path) -> None:
    fake = engine()
    api.up(shop(tmp_path), engine=fake)
    # Simulate a kill right after web-1's successor took over: old stopped, new under its
    # temporary name.
    old_id = ids(fake)["shop-web-1"]
    fake.stop(old_id)
    new_stack = shop(tmp_path, image="web:2")
    plan = api.plan(new_stack, engine=fake)
    assert next(a for a in plan.actions if a.resource == "shop-web-1").why() == "image changed"
    desired = DesiredStack(new_stack, resolve_without_building(fake, new_stack))
    successor = desired.container(
        new_stack.services[0], 1,
        labels.next_container_name("shop", "web", 1, desired.services["web"].config_hash),
    )  # fmt: skip
    fake.start(fake.create_container(successor))
    plan = api.plan(new_stack, engine=fake)
    assert [a.text() for a in plan.actions][:2] == [
        "remove          shop-web-1                       (left over from an interrupted update)",
        f"rename          {successor.name:<32} (left over from an interrupted update)",
    ]
    api.up(new_stack, engine=fake)
    assert sorted(ids(fake)) == ["shop-nginx-1", "shop-web-1", "shop-web-2"]
    assert api.plan(new_stack, engine=fake).empty
    assert upstream_of(fake) == ["shop-web-1", "shop-web-2"]


def test_rollback_returns_to_the_previous_image_and_back(tmp_path: Path) -> None:
    fake = engine()
    api.up(shop(tmp_path), engine=fake)
    api.up(shop(tmp_path, image="web:2", env="b"), engine=fake)

    def web_images() -> set[tuple[str, str]]:
        return {
            (info.image, next(e for e in fake.bodies[info.name].body["Env"] if e.startswith("V=")))
            for info in fake.container_state.values()
            if info.labels[labels.SERVICE] == "web"
        }

    assert web_images() == {("web:2", "V=b")}
    rolled = api.rollback(shop(tmp_path, image="web:2", env="b"), engine=fake)
    assert web_images() == {("web:1", "V=a")}
    assert [a.why() for a in rolled.plan.actions] == ["config changed: env, image"] * 2
    api.rollback(shop(tmp_path), engine=fake)
    assert web_images() == {("web:2", "V=b")}


def test_rollback_without_history_says_so(tmp_path: Path) -> None:
    fake = engine()
    api.up(shop(tmp_path), engine=fake)
    with pytest.raises(NotFound, match="stack shop has no previous version to roll back to"):
        api.rollback(shop(tmp_path), engine=fake)


def socket_shop(root: Path, image: str = "web:1", replicas: int = 2) -> Stack:
    stack = shop(root, image=image, replicas=replicas)
    nginx = stack.service("nginx")
    assert nginx.proxy is not None
    proxy = nginx.proxy.model_copy(update={"transport": "socket"})
    services = (stack.service("web"), nginx.model_copy(update={"proxy": proxy}))
    return stack.model_copy(update={"services": services})


def test_socket_transport_swaps_replicas_without_reloading(tmp_path: Path) -> None:
    fake = engine()
    first = api.up(socket_shop(tmp_path), engine=fake)
    assert [a.text() for a in first.plan.actions][:2] == [
        "create network  shop_default                     (not found)",
        "create volume   shop_web-sockets                 (not found)",
    ]
    assert "unix:/run/deployer-upstream/slot-1.sock" in fake.proxy_configs["shop-nginx-1"]
    assert fake.links == {
        "/run/deployer-upstream/slot-1.sock": "/run/deployer-upstream/shop-web-1.sock",
        "/run/deployer-upstream/slot-2.sock": "/run/deployer-upstream/shop-web-2.sock",
    }
    fake.calls.clear()
    api.up(socket_shop(tmp_path, image="web:2"), engine=fake)
    assert not [c for c in fake.calls if c.startswith("reload")]  # no nginx reload at all
    successor = next(c.split()[1] for c in fake.calls if c.startswith("create shop-web-1-"))
    assert fake.calls.index(f"link slot-1.sock {successor}") < fake.calls.index("stop shop-web-1")
    assert (
        fake.links["/run/deployer-upstream/slot-1.sock"]
        == f"/run/deployer-upstream/{successor}.sock"
    )
    assert sorted(ids(fake)) == ["shop-nginx-1", "shop-web-1", "shop-web-2"]


def test_a_stopped_replica_started_by_up_is_back_in_the_upstream(tmp_path: Path) -> None:
    """`docker stop` of one replica, then `up`: it starts, and the proxy keeps both slots."""
    fake = engine()
    api.up(socket_shop(tmp_path), engine=fake)
    fake.stop(ids(fake)["shop-web-1"])
    fake.calls.clear()
    deployment = api.up(socket_shop(tmp_path), engine=fake)
    assert [a.kind.value for a in deployment.plan.actions] == ["start"]
    assert "slot-1.sock" in fake.proxy_configs["shop-nginx-1"]
    assert "slot-2.sock" in fake.proxy_configs["shop-nginx-1"]
    assert not [c for c in fake.calls if c.startswith("reload")]
    assert all(r.health == "healthy" for r in deployment.replicas)


def test_socket_transport_scaling_reloads_with_the_slot_count(tmp_path: Path) -> None:
    fake = engine()
    api.up(socket_shop(tmp_path), engine=fake)
    api.up(socket_shop(tmp_path, replicas=3), engine=fake)
    assert "slot-3.sock" in fake.proxy_configs["shop-nginx-1"]
    assert "/run/deployer-upstream/slot-3.sock" in fake.links
    api.up(socket_shop(tmp_path, replicas=1), engine=fake)
    assert "slot-2.sock" not in fake.proxy_configs["shop-nginx-1"]


def test_down_removes_the_socket_volume(tmp_path: Path) -> None:
    fake = engine()
    api.up(socket_shop(tmp_path), engine=fake)
    # 3 containers, the network, the socket volume and the proxy's config volume
    assert api.down("shop", engine=fake) == 6
    assert fake.volume_state == {}
