import pytest

from deployer.core import labels, nginx
from deployer.core.graph import find_cycle, levels
from deployer.model.errors import StackError


def test_names() -> None:
    assert labels.container_name("shop", "web", 3) == "shop-web-3"
    assert labels.network_name("shop", "default") == "shop_default"
    assert labels.image_repository("shop", "web") == "shop-web"
    assert labels.stack_filter("shop") == {"label": ["io.deployer.stack=shop"]}


def test_network_labels() -> None:
    assert labels.network_labels("shop", "back") == {
        "io.deployer.stack": "shop", "io.deployer.network": "back", "io.deployer.version": "1",
    }  # fmt: skip


def test_levels_put_dependencies_first() -> None:
    assert levels({"nginx": ["web"], "web": ["db"], "db": [], "cache": []}) == [
        ["cache", "db"], ["web"], ["nginx"],
    ]  # fmt: skip


def test_cycle_text() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    with pytest.raises(ValueError, match="dependency cycle: a -> b -> a"):
        levels({"a": ["b"], "b": ["a"]})


TEMPLATE = (
    "upstream {{ upstream }} {\n    {{ upstream_servers }}\n}\nproxy_pass http://{{upstream}};\n"
)


def test_nginx_upstream_lists_every_replica() -> None:
    text = nginx.render(
        TEMPLATE, "t", upstream="web", addresses=["shop-web-1:8000", "unix:/run/s/slot-2.sock"]
    )
    assert text == (
        "upstream web {\n"
        "    server shop-web-1:8000 max_fails=1 fail_timeout=5s;\n"
        "    server unix:/run/s/slot-2.sock max_fails=1 fail_timeout=5s;\n"
        "}\nproxy_pass http://web;\n"
    )


def test_nginx_unknown_placeholder() -> None:
    with pytest.raises(StackError, match=r"unknown placeholder \{\{ port \}\}"):
        nginx.render("{{ port }}", "t", upstream="web", addresses=["a:1"])


def test_nginx_needs_a_replica() -> None:
    with pytest.raises(StackError, match="has no replicas to serve"):
        nginx.render(TEMPLATE, "t", upstream="web", addresses=[])
