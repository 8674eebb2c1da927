"""Parsing and rendering through Typer's CliRunner: no engine needed for any of these."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from deployer.cli.main import build_app, main

ROOT = Path(__file__).parents[2]
runner = CliRunner()
app = build_app()

COMPOSE = """
services:
  web:
    image: deployer/python:bookworm
    command: ["python3", "-m", "http.server", "8000"]
    environment: [A=1, B=2]
    ports: ["127.0.0.1:8080:8000"]
"""
OVERRIDE = """
services:
  web:
    environment: {B: "3", C: "4"}
    command: ["python3", "-m", "http.server", "9000"]
  worker:
    image: deployer/python:bookworm
    command: ["sleep", "infinity"]
"""


def _config(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = runner.invoke(app, [*args, "config", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _service(data: dict[str, object], name: str) -> dict[str, object]:
    services = data["services"]
    assert isinstance(services, list)
    found: dict[str, object] = next(s for s in services if s["name"] == name)
    return found


def test_config_prints_the_resolved_stack_without_an_engine() -> None:
    data = _config("-f", str(ROOT / "stack.py"))
    assert data["name"] == "demo"
    web = _service(data, "web")
    assert web["replicas"] == 2
    assert web["restart"] == "unless-stopped"
    as_yaml = runner.invoke(app, ["config", "-f", str(ROOT / "stack.py")])
    assert yaml.safe_load(as_yaml.stdout)["name"] == "demo"


def test_files_may_come_before_or_after_the_command_and_p_renames(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    before = _config("-f", str(tmp_path / "compose.yaml"), "-p", "shop")
    result = runner.invoke(app, ["config", "--format", "json", "-f",
                                 str(tmp_path / "compose.yaml"), "-p", "blog"])  # fmt: skip
    assert before["name"] == "shop"
    assert json.loads(result.stdout)["name"] == "blog"


def test_repeated_files_merge_as_compose_does(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "prod.yml").write_text(OVERRIDE)
    data = _config("-f", str(tmp_path / "compose.yaml"), "-f", str(tmp_path / "prod.yml"))
    web = _service(data, "web")
    assert web["env"] == {"A": "1", "B": "3", "C": "4"}  # merged by name, later wins
    assert web["command"] == ["python3", "-m", "http.server", "9000"]  # replaced, not appended
    assert len(web["ports"]) == 1  # type: ignore[arg-type]
    assert _service(data, "worker")["command"] == ["sleep", "infinity"]


def test_environment_names_the_files_and_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "base.yml").write_text(COMPOSE)
    (tmp_path / "extra.yml").write_text(OVERRIDE)
    monkeypatch.chdir(tmp_path)
    compose_env = {"COMPOSE_FILE": "base.yml:extra.yml", "COMPOSE_PROJECT_NAME": "fromcompose"}
    data = _config(env=compose_env)
    assert data["name"] == "fromcompose"
    assert {s["name"] for s in data["services"]} == {"web", "worker"}  # type: ignore[attr-defined]
    (tmp_path / "stack.py").write_text(
        "from deployer import Service, Stack\n"
        "stack = Stack(name='minimal', services=[Service(name='web', image='x')])\n"
    )
    assert _config(env=compose_env)["name"] == "minimal"  # ./stack.py before COMPOSE_FILE
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    from_deployer_file = _config(env={**compose_env, "DEPLOYER_FILE": "compose.yaml"})
    assert [s["name"] for s in from_deployer_file["services"]] == ["web"]  # type: ignore[attr-defined]
    named = _config(env={"DEPLOYER_FILE": "compose.yaml", "DEPLOYER_PROJECT_NAME": "pinned"})
    assert named["name"] == "pinned"


def test_without_any_stack_file_the_message_says_what_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for variable in ("DEPLOYER_FILE", "COMPOSE_FILE"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["config"]) == 2
    assert "no stack file here: pass one with -f FILE" in capsys.readouterr().err


def test_a_bad_project_name_is_an_invalid_stack(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    code = main(["config", "-f", str(tmp_path / "compose.yaml"), "-p", "Not A Name"])
    assert code == 2


def test_main_maps_usage_errors_to_64(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--watch", "--interval", "soon"]) == 64
    assert "Invalid value" in capsys.readouterr().err


def test_every_stack_command_takes_files_and_a_project_name() -> None:
    for command in ("up", "down", "plan", "status", "logs", "exec", "run", "restart", "stop",
                    "start", "config", "build", "pull", "rollback"):  # fmt: skip
        text = runner.invoke(app, [command, "--help"], terminal_width=200).stdout
        assert "--file" in text and "--project-name" in text, command


def test_exec_passes_everything_after_the_service_through() -> None:
    text = runner.invoke(app, ["exec", "--help"], terminal_width=200).stdout
    for flag in ("--index", "--no-tty", "--user", "--workdir", "--env"):
        assert flag in text


def test_the_command_registry_matches_the_commands_defined() -> None:
    from deployer.cli.main import COMMANDS, _name_of

    whole = build_app()
    defined = {_name_of(c) for c in whole.registered_commands} | {
        g.name for g in whole.registered_groups
    }
    assert defined == set(COMMANDS)
    for name in COMMANDS:
        alone = build_app(only=name)
        found = [_name_of(c) for c in alone.registered_commands] + [
            str(g.name) for g in alone.registered_groups
        ]
        assert found == [name]


def test_compose_override_beside_compose_yaml_is_merged_without_f(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "compose.override.yaml").write_text(OVERRIDE)
    monkeypatch.chdir(tmp_path)
    data = _config(env={"DEPLOYER_FILE": "", "COMPOSE_FILE": ""})
    assert _service(data, "web")["env"] == {"A": "1", "B": "3", "C": "4"}
    assert {s["name"] for s in data["services"]} == {"web", "worker"}  # type: ignore[attr-defined]


def test_a_compose_file_by_any_name_is_read_as_compose(tmp_path: Path) -> None:
    (tmp_path / "prod.yml").write_text(COMPOSE)
    data = _config("-f", str(tmp_path / "prod.yml"))
    assert _service(data, "web")["env"] == {"A": "1", "B": "2"}


def test_a_file_mixing_both_dialects_says_how_to_load_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mixed.yml").write_text(COMPOSE + "    replicas: 2\n")
    assert main(["config", "-f", str(tmp_path / "mixed.yml")]) == 2
    error = capsys.readouterr().err
    assert "services.web.environment" in error and "services.web.replicas" in error
    assert "name the file compose.yaml" in error


def test_env_file_and_profile_are_global_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  web:\n    image: app:${TAG:?set TAG}\n"
        "  tools:\n    image: tools\n    profiles: [debug]\n"
    )
    (tmp_path / "vars.env").write_text("TAG=7\n")
    file = str(tmp_path / "compose.yaml")
    data = _config("--env-file", str(tmp_path / "vars.env"), "--profile", "debug", "-f", file)
    assert _service(data, "web")["image"] == "app:7"
    assert {s["name"] for s in data["services"]} == {"web", "tools"}  # type: ignore[attr-defined]
    vars_file = str(tmp_path / "vars.env")
    assert main(["--env-file", vars_file, "--profile", "debug", "-f", file, "config"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("TAG", "")
    assert main(["-f", file, "config"]) == 2
    assert "line 3: services.web.image: required variable TAG is missing a value: set TAG" in (
        capsys.readouterr().err
    )


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"deployer {version('deployer')}\n"
