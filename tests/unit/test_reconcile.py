"""Golden plans: reconcile is pure, so its output is compared as text."""

from deployer.core import labels
from deployer.core.hashing import config_hash, fields_label
from deployer.core.state import ContainerInfo, NetworkInfo, ObservedState
from deployer.model.spec import DependsOn, Service, Stack
from deployer.targets.engine.reconcile import Desired, reconcile

WEB_FIELDS = {"env": "aaaa", "image": "1111"}
NGINX_FIELDS = {"env": "bbbb", "image": "2222"}


def stack(web_replicas: int = 2, with_nginx: bool = True) -> Stack:
    services = [Service(name="web", image="web:1", replicas=web_replicas)]
    if with_nginx:
        services.append(
            Service(name="nginx", image="nginx:1", depends_on=[DependsOn(service="web")])
        )
    return Stack(name="shop", services=services)


def desired(web: dict[str, str] = WEB_FIELDS) -> dict[str, Desired]:
    return {
        "web": Desired(config_hash(web), web),
        "nginx": Desired(config_hash(NGINX_FIELDS), NGINX_FIELDS),
    }


def running(
    service: str, replica: int, fields: dict[str, str], state: str = "running"
) -> ContainerInfo:
    name = labels.container_name("shop", service, replica)
    return ContainerInfo(
        id=f"id-{name}", name=name, state=state, health="healthy", image="", image_id="",
        labels=labels.container_labels(
            "shop", service, replica, config_hash(fields), fields_label(fields), []
        ),
    )  # fmt: skip


def network(name: str = "default") -> NetworkInfo:
    return NetworkInfo(
        f"net-{name}", labels.network_name("shop", name), labels.network_labels("shop", name)
    )


def observed(
    *containers: ContainerInfo, networks: tuple[NetworkInfo, ...] = (network(),)
) -> ObservedState:
    return ObservedState("shop", list(containers), list(networks))


def current() -> list[ContainerInfo]:
    return [
        running("web", 1, WEB_FIELDS),
        running("web", 2, WEB_FIELDS),
        running("nginx", 1, NGINX_FIELDS),
    ]


def test_create_from_nothing() -> None:
    plan = reconcile(stack(), observed(networks=()), desired())
    assert plan.text() == (
        "stack shop: 4 action(s)\n"
        "  create network  shop_default                     (not found)\n"
        "  create          shop-web-1                       (not found)\n"
        "  create          shop-web-2                       (not found)\n"
        "  create          shop-nginx-1                     (not found)"
    )


def test_nothing_to_do() -> None:
    plan = reconcile(stack(), observed(*current()), desired())
    assert plan.text() == "stack shop: nothing to do"
    assert plan.unchanged == ["web", "nginx"]


def test_config_change_names_the_fields() -> None:
    plan = reconcile(stack(), observed(*current()), desired({"env": "cccc", "image": "1111"}))
    assert plan.text() == (
        "stack shop: 2 action(s)\n"
        "  recreate        shop-web-1                       (config changed: env)\n"
        "  recreate        shop-web-2                       (config changed: env)"
    )


def test_image_change() -> None:
    plan = reconcile(stack(), observed(*current()), desired({"env": "aaaa", "image": "9999"}))
    assert [a.why() for a in plan.actions] == ["image changed", "image changed"]


def test_scale_up_only_adds() -> None:
    plan = reconcile(stack(web_replicas=3), observed(*current()), desired())
    assert plan.text() == (
        "stack shop: 1 action(s)\n"
        "  create          shop-web-3                       (replicas 2 → 3)"
    )


def test_scale_down_only_removes_the_highest() -> None:
    plan = reconcile(stack(web_replicas=1), observed(*current()), desired())
    assert plan.text() == (
        "stack shop: 1 action(s)\n"
        "  remove          shop-web-2                       (replicas 2 → 1)"
    )


def test_removed_service_and_network() -> None:
    plan = reconcile(
        stack(with_nginx=False),
        observed(*current(), networks=(network(), network("old"))),
        desired(),
    )
    assert plan.text() == (
        "stack shop: 2 action(s)\n"
        "  remove          shop-nginx-1                     (no longer in stack)\n"
        "  remove network  shop_old                         (no longer in stack)"
    )


def test_stopped_container_is_started() -> None:
    containers = current()
    containers[2] = running("nginx", 1, NGINX_FIELDS, state="exited")
    plan = reconcile(stack(), observed(*containers), desired())
    assert [a.text() for a in plan.actions] == [
        "start           shop-nginx-1                     (exited)"
    ]


def test_plan_as_data() -> None:
    plan = reconcile(stack(web_replicas=3), observed(*current()), desired())
    assert plan.as_data()["actions"] == [
        {"kind": "create", "resource": "shop-web-3", "cause": "replicas 2 → 3",
         "cause_kind": "replicas", "changed": [], "service": "web", "replica": 3,
         "object_id": "", "stop_first": False},
    ]  # fmt: skip
