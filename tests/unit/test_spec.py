"""The models on their own: one assertion per error message."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from deployer.model.spec import Healthcheck, HttpProbe, Port, Resources, Service, Stack


def error_of(model: type, **fields: object) -> str:
    with pytest.raises(ValidationError) as caught:
        model(**fields)
    return str(caught.value)


def test_port_short_forms() -> None:
    assert Port.model_validate("80") == Port(container=80, host=0, host_ip="127.0.0.1")
    assert Port.model_validate("8080:80") == Port(container=80, host=8080)
    assert Port.model_validate("0.0.0.0:8080:80/udp") == Port(
        container=80, host=8080, host_ip="0.0.0.0", protocol="udp"
    )
    assert Port.model_validate("127.0.0.1::80") == Port(container=80, host=0)


def test_port_defaults_to_loopback_and_ephemeral() -> None:
    port = Port(container=80)
    assert (port.host_ip, port.host) == ("127.0.0.1", 0)


def test_malformed_port_string() -> None:
    with pytest.raises(ValidationError, match="invalid port 'x:80'"):
        Port.model_validate("x:80")


def test_bad_host_ip() -> None:
    assert "host_ip 'localhost' is not an IP address" in error_of(
        Port, container=80, host_ip="localhost"
    )


def test_service_needs_image_or_build() -> None:
    assert "give exactly one of 'image' or 'build'" in error_of(Service, name="web")


def test_unknown_field_is_refused() -> None:
    assert "Extra inputs are not permitted" in error_of(Service, name="web", image="x", replica=2)


def test_models_are_frozen() -> None:
    service = Service(name="web", image="x")
    with pytest.raises(ValidationError):
        service.replicas = 3  # type: ignore[misc]


def test_names_follow_docker_rules() -> None:
    assert "String should match pattern" in error_of(Service, name="Web App", image="x")


def test_healthcheck_needs_one_probe() -> None:
    assert "give exactly one of 'command' or 'http'" in error_of(Healthcheck)


def test_healthcheck_durations_parse() -> None:
    check = Healthcheck(http=HttpProbe(port=80), interval="1m30s", start_period="500ms")
    assert check.interval == timedelta(seconds=90)
    assert check.start_period == timedelta(milliseconds=500)


def test_malformed_duration_in_healthcheck() -> None:
    assert "invalid duration 'soon'" in error_of(Healthcheck, command="true", interval="soon")


def test_http_probe_path_must_be_absolute() -> None:
    assert "path 'health' must start with '/'" in error_of(HttpProbe, path="health", port=80)


def test_memory_parses_to_bytes() -> None:
    assert Resources(memory="512m").memory == 512 * 2**20


def test_malformed_memory() -> None:
    assert "invalid size 'lots'" in error_of(Resources, memory="lots")


def test_reservation_above_limit() -> None:
    assert "reservations.memory is larger than the memory limit" in error_of(
        Resources, memory="64m", reservations={"memory": "128m"}
    )


@pytest.mark.parametrize("policy", ["no", "always", "unless-stopped", "on-failure", "on-failure:5"])
def test_restart_policies(policy: str) -> None:
    assert Service(name="web", image="x", restart=policy).restart == policy


def test_bad_restart_policy() -> None:
    assert "String should match pattern" in error_of(Service, name="w", image="x", restart="never")


def test_string_command_is_split_like_a_shell() -> None:
    service = Service(name="web", image="x", command="gunicorn -b '0.0.0.0:80' app:app")
    assert service.command == ("gunicorn", "-b", "0.0.0.0:80", "app:app")


def test_env_values_become_strings() -> None:
    assert Service(name="w", image="x", env={"A": 1, "B": True}).env == {"A": "1", "B": "true"}


def test_tmpfs_accepts_compose_list_form() -> None:
    service = Service(name="w", image="x", tmpfs=["/tmp", "/run:size=1m"])
    assert service.tmpfs == {"/tmp": "", "/run": "size=1m"}


def test_implicit_default_network() -> None:
    stack = Stack(name="s", services=[Service(name="w", image="x")])
    assert [n.name for n in stack.all_networks()] == ["default"]


def test_with_service_changes_one_service_and_keeps_the_rest() -> None:
    web, nginx = Service(name="web", image="web:1"), Service(name="nginx", image="nginx:1")
    stack = Stack(name="shop", services=(web, nginx))
    changed = stack.with_service("web", replicas=3, env={"A": "1"})
    assert changed.service("web") == web.model_copy(update={"replicas": 3, "env": {"A": "1"}})
    assert changed.service("nginx") is nginx
    assert [s.name for s in changed.services] == ["web", "nginx"]
    assert stack.service("web").replicas == 1  # the original is unchanged
    with pytest.raises(KeyError):
        stack.with_service("db", replicas=2)
