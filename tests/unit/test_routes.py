"""Routes from a socket proxy to its replicas: the self-healing probe, observation, the plan."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.core import labels
from deployer.core.hashing import config_hash, fields_label
from deployer.core.plan import Kind
from deployer.core.render import container_plan
from deployer.core.state import ContainerInfo, ObservedState, Route
from deployer.model.spec import Healthcheck, HttpProbe, Proxy, Service, Stack
from deployer.targets.engine.reconcile import Desired, reconcile

WEB = Service(name="web", image="x", healthcheck=Healthcheck(http=HttpProbe(path="/", port=80)))
NGINX = Service(name="nginx", image="n", proxy=Proxy(upstream="web", port=80, transport="socket"))
STACK = Stack(name="shop", services=(WEB, NGINX))


def _health_test(service: Service, replica: int = 1) -> str:
    plan = container_plan(
        STACK, service, replica, image="i", config_hash="h", config_fields="", files=[]
    )
    kind, script = plan.body["Healthcheck"]["Test"]
    assert kind == "CMD-SHELL"
    return str(script)


def test_replicas_know_their_slot_and_the_proxy_names_its_routes() -> None:
    replica = container_plan(STACK, WEB, 2, image="i", config_hash="h", config_fields="", files=[])
    assert "DEPLOYER_SLOT=/run/deployer-upstream/slot-2.sock" in replica.body["Env"]
    proxy = container_plan(STACK, NGINX, 1, image="n", config_hash="h", config_fields="", files=[])
    assert proxy.body["Labels"][labels.ROUTES] == "web"
    assert labels.ROUTES not in replica.body["Labels"]


def test_a_replica_without_a_healthcheck_gets_one_that_checks_its_socket() -> None:
    bare = STACK.model_copy(update={"services": (Service(name="web", image="x"), NGINX)})
    plan = container_plan(bare, bare.services[0], 1, image="i", config_hash="h",
                          config_fields="", files=[])  # fmt: skip
    check = plan.body["Healthcheck"]
    assert check["Interval"] == 1_000_000_000
    assert '[ -S "$DEPLOYER_SOCKET" ]' in check["Test"][1]


class Slots:
    """A socket folder on the host, where the generated probe runs in a real shell."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.listeners: list[socket.socket] = []

    def listen(self, name: str) -> None:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(self.folder / name))
        self.listeners.append(server)

    def probe(self, script: str, replica: int, container: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            labels.SOCKET_ENV: str(self.folder / f"{container}.sock"),
            labels.SLOT_ENV: str(self.folder / f"slot-{replica}.sock"),
        }
        return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True)

    def link(self, replica: int) -> str:
        return os.readlink(self.folder / f"slot-{replica}.sock")


@pytest.fixture
def slots(tmp_path: Path) -> Iterator[Slots]:
    found = Slots(tmp_path)
    yield found
    for listener in found.listeners:
        listener.close()


def test_a_healthy_replica_claims_its_missing_slot(slots: Slots) -> None:
    slots.listen("shop-web-1.sock")
    service = WEB.model_copy(update={"healthcheck": Healthcheck(command="exec true")})
    result = slots.probe(_health_test(service), 1, "shop-web-1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert slots.link(1) == "shop-web-1.sock"
    assert "claimed" in result.stdout


def test_a_slot_that_routes_to_a_live_socket_is_left_alone(slots: Slots) -> None:
    slots.listen("shop-web-1.sock")
    slots.listen("shop-web-1-abcdef12.sock")  # the predecessor serves during a rollout
    os.symlink("shop-web-1.sock", slots.folder / "slot-1.sock")
    service = WEB.model_copy(update={"healthcheck": Healthcheck(command=("true",))})
    assert slots.probe(_health_test(service), 1, "shop-web-1-abcdef12").returncode == 0
    assert slots.link(1) == "shop-web-1.sock"


def test_a_dangling_slot_is_claimed(slots: Slots) -> None:
    slots.listen("shop-web-2.sock")
    os.symlink("gone.sock", slots.folder / "slot-2.sock")
    service = WEB.model_copy(update={"healthcheck": Healthcheck(command="true")})
    assert slots.probe(_health_test(service, 2), 2, "shop-web-2").returncode == 0
    assert slots.link(2) == "shop-web-2.sock"


def test_an_unhealthy_replica_claims_nothing(slots: Slots) -> None:
    slots.listen("shop-web-1.sock")
    service = WEB.model_copy(update={"healthcheck": Healthcheck(command="echo no; exit 1")})
    result = slots.probe(_health_test(service), 1, "shop-web-1")
    assert result.returncode == 1
    assert not (slots.folder / "slot-1.sock").is_symlink()


def test_a_replica_not_listening_on_its_socket_is_unhealthy(slots: Slots) -> None:
    service = WEB.model_copy(update={"healthcheck": Healthcheck(command="true")})
    result = slots.probe(_health_test(service), 1, "shop-web-1")
    assert result.returncode == 1
    assert "nothing listens on" in result.stdout


FIELDS = {"image": "1111"}


def _replica(replica: int, name: str | None = None) -> ContainerInfo:
    name = name or labels.container_name("shop", "web", replica)
    return ContainerInfo(
        id=f"id-{name}", name=name, state="running", health="healthy", image="", image_id="",
        labels={
            **labels.container_labels(
                "shop", "web", replica, config_hash(FIELDS), fields_label(FIELDS), []
            ),
            labels.SOCKET: labels.socket_path(name),
        },
    )  # fmt: skip


def _observed(routes: dict[int, Route], *containers: ContainerInfo) -> ObservedState:
    return ObservedState("shop", list(containers), [], routes={"web": routes})


def test_a_missing_or_wrong_route_is_a_problem_and_the_plan_repairs_it() -> None:
    web_1, web_2 = _replica(1), _replica(2)
    observed = _observed({2: Route("shop-web-1.sock", live=True)}, web_1, web_2)
    assert observed.route_problem(web_1) == "no slot-1.sock"
    assert (
        observed.route_problem(web_2)
        == "slot-2.sock points to shop-web-1.sock, not shop-web-2.sock"
    )
    stack = Stack(name="shop", services=(Service(name="web", image="x", replicas=2),))
    plan = reconcile(stack, observed, {"web": Desired(config_hash(FIELDS), FIELDS)})
    routes = [a for a in plan.actions if a.kind is Kind.ROUTE]
    assert routes[0].why() == "route missing: no slot-1.sock"
    assert [(a.resource, a.replica, a.object_id) for a in routes] == [
        ("shop-web-1", 1, "id-shop-web-1"),
        ("shop-web-2", 2, "id-shop-web-2"),
    ]


def test_a_dangling_route_is_a_problem_but_one_to_the_successor_is_not() -> None:
    web_1 = _replica(1)
    successor = _replica(1, "shop-web-1-abcdef12")
    observed = _observed({1: Route("shop-web-1-abcdef12.sock", live=True)}, web_1, successor)
    assert observed.route_problem(web_1) is None
    assert observed.route_problem(web_1, exact=True) is not None
    dangling = _observed({1: Route("shop-web-1.sock", live=False)}, web_1)
    assert "does not exist" in (dangling.route_problem(web_1) or "")


def test_no_routes_observed_means_no_problem() -> None:
    web_1 = _replica(1)
    assert ObservedState("shop", [web_1], []).route_problem(web_1) is None
