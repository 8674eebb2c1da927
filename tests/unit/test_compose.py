"""Compose files: each supported key maps (golden stack.py), each unsupported one warns."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.model.errors import StackError
from deployer.stackfile import codegen, compose, load

HERE = Path(__file__).parent / "compose"
GOLDEN = HERE / "expected_stack.py.txt"


def warnings_of(path: Path) -> tuple[object, list[str]]:
    found: list[str] = []
    return compose.load_compose(path, found.append), found


def test_every_supported_key_maps_to_the_golden_stack_py() -> None:
    stack, _ = warnings_of(HERE / "docker-compose.yml")
    assert codegen.stack_source(stack, "docker-compose.yml") == GOLDEN.read_text()  # type: ignore[arg-type]


def test_generated_stack_py_loads_back_to_the_same_stack(tmp_path: Path) -> None:
    from_compose = load.load(HERE / "docker-compose.yml", warn=lambda _: None)
    (tmp_path / "stack.py").write_text(GOLDEN.read_text())
    from_python = load._load_python(tmp_path / "stack.py")
    assert from_python.model_dump() == from_compose.model_dump()


def test_compose_files_load_directly_with_f(tmp_path: Path) -> None:
    stack = load.load(HERE / "docker-compose.yml", warn=lambda _: None)
    assert stack.name == "shop"
    assert stack.root == HERE.resolve()
    assert [s.name for s in stack.services] == ["web", "db", "cache"]


def test_unsupported_keys_warn_with_their_line() -> None:
    _, warnings = warnings_of(HERE / "unsupported-compose.yml")
    where = f"{HERE / 'unsupported-compose.yml'}"
    assert sorted(warnings) == sorted([
        f"{where}:6: services.web.build.cache_from: not supported by deployer; ignored",
        f"{where}:11: services.web.healthcheck.start_interval: needs Engine API 1.44 (this engine "
        "speaks 1.41); the interval applies from the start",
        f"{where}:16: services.web.deploy.endpoint_mode: not supported by deployer; ignored",
    ])  # fmt: skip


def test_short_ports_without_an_ip_say_they_stay_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: x\n    ports:\n      - '8080:80'\n"
    )
    _, warnings = warnings_of(tmp_path / "compose.yaml")
    assert warnings == [
        f"{tmp_path / 'compose.yaml'}:5: services.web.ports.0: '8080:80' is published on "
        "127.0.0.1 only (deployer's default); write '0.0.0.0:8080:80' to publish on every interface"
    ]


def test_invalid_values_get_the_usual_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  web:\n    image: x\n    healthcheck:\n"
        "      test: 'true'\n      interval: soon\n"
    )
    with pytest.raises(StackError) as caught:
        load.load(tmp_path / "docker-compose.yml", warn=lambda _: None)
    assert caught.value.exit_code == 2
    assert caught.value.problems == [
        "line 6: services.web.healthcheck.interval: invalid duration 'soon': write a number with "
        "a unit, like '500ms', '5s', '1m30s'"
    ]


def test_whole_stack_rules_apply_to_compose_files(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  web:\n    image: x\n    depends_on: [db]\n"
    )
    with pytest.raises(StackError, match="no service named 'db'"):
        load.load(tmp_path / "docker-compose.yml", warn=lambda _: None)


def test_restart_no_unquoted_is_a_boolean_in_yaml_and_still_means_no(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text("services:\n  web:\n    image: x\n    restart: no\n")
    stack, _ = warnings_of(tmp_path / "compose.yml")
    assert stack.services[0].restart == "no"  # type: ignore[attr-defined]


def test_service_must_be_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text("services:\n  web: nginx\n")
    with pytest.raises(StackError, match=r"line 2: services\.web: must be a mapping"):
        warnings_of(tmp_path / "compose.yml")
