"""Compose files read with interpolation (.env, --env-file, the environment) and profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.model.errors import StackError
from deployer.model.spec import Stack
from deployer.stackfile import compose
from deployer.stackfile.compose_options import ComposeOptions

FILE = """
name: vars
services:
  db:
    image: postgres:${PG_VERSION:-16}
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PW}
      FROM_SHELL:
    healthcheck:
      test: mysqladmin ping -p$$MYSQL_PASSWORD
  web:
    image: app
    ports: ["127.0.0.1:${PORT:-8080}:80"]
    environment: "ONE=1"
    depends_on: [db]
"""


def write(folder: Path, text: str = FILE, env: str | None = None) -> Path:
    path = folder / "compose.yaml"
    path.write_text(text)
    if env is not None:
        (folder / ".env").write_text(env)
    return path


def load(path: Path, **options: object) -> tuple[Stack, list[str]]:
    warnings: list[str] = []
    stack = compose.load_compose(path, warnings.append, ComposeOptions(**options))  # type: ignore[arg-type]
    return stack, warnings


def test_values_come_from_the_env_file_beside_the_compose_file(tmp_path: Path) -> None:
    path = write(tmp_path, env="POSTGRES_PW=from-dotenv\nPG_VERSION=15\n")
    stack, _ = load(path, environment={})
    db = stack.service("db")
    assert db.image == "postgres:15"
    assert db.env["POSTGRES_PASSWORD"] == "from-dotenv"
    assert "FROM_SHELL" not in db.env  # unset everywhere: left out, as Compose does
    assert db.healthcheck is not None and db.healthcheck.command == (
        "mysqladmin ping -p$MYSQL_PASSWORD"
    )
    web = stack.service("web")
    assert web.ports[0].host == 8080
    assert web.env == {"ONE": "1"}  # a string is one variable, not one per character


def test_the_process_environment_wins_over_env_files(tmp_path: Path) -> None:
    path = write(tmp_path, env="POSTGRES_PW=from-dotenv\n")
    stack, _ = load(path, environment={"POSTGRES_PW": "from-shell", "FROM_SHELL": "s"})
    assert stack.service("db").env == {"POSTGRES_PASSWORD": "from-shell", "FROM_SHELL": "s"}


def test_env_file_options_replace_dot_env_and_later_ones_win(tmp_path: Path) -> None:
    path = write(tmp_path, env="POSTGRES_PW=from-dotenv\nPORT=1\n")
    first = tmp_path / "first.env"
    first.write_text("POSTGRES_PW=first\nPORT=9000\n")
    second = tmp_path / "second.env"
    second.write_text("POSTGRES_PW=second\n")
    stack, _ = load(path, environment={}, env_files=(first, second))
    assert stack.service("db").env["POSTGRES_PASSWORD"] == "second"
    assert stack.service("web").ports[0].host == 9000


def test_a_missing_required_variable_names_it_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, FILE.replace("${POSTGRES_PW}", "${POSTGRES_PW:?set it in .env}"))
    with pytest.raises(StackError) as raised:
        load(path, environment={})
    assert raised.value.source == str(path)
    assert raised.value.problems == [
        "line 7: services.db.environment.POSTGRES_PASSWORD: required variable POSTGRES_PW is "
        "missing a value: set it in .env"
    ]


def test_an_unclosed_template_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, FILE.replace("${PG_VERSION:-16}", "${PG_VERSION"))
    with pytest.raises(StackError, match=r"line 5: services.db.image: .*unclosed"):
        load(path, environment={})


def test_a_missing_env_file_option_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path)
    with pytest.raises(StackError, match="env file not found"):
        load(path, environment={}, env_files=(tmp_path / "nope.env",))


PROFILES = """
name: prof
services:
  web:
    image: app
  debug:
    image: tools
    profiles: [debug]
  admin:
    image: admin
    profiles: [ops, debug]
"""


def test_services_with_inactive_profiles_are_left_out_and_said_so(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILES)
    stack, warnings = load(path, environment={})
    assert [s.name for s in stack.services] == ["web"]
    assert any("services.debug: left out" in w and "(debug)" in w for w in warnings)


def test_profiles_from_the_option_or_compose_profiles(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILES)
    stack, _ = load(path, environment={}, profiles=("ops",))
    assert [s.name for s in stack.services] == ["web", "admin"]
    stack, _ = load(path, environment={"COMPOSE_PROFILES": "debug"})
    assert [s.name for s in stack.services] == ["web", "debug", "admin"]
    stack, _ = load(path, environment={"COMPOSE_PROFILES": "*"})
    assert len(stack.services) == 3


def test_depending_on_a_left_out_service_says_which_profile_to_pass(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        PROFILES.replace("    image: app\n", "    image: app\n    depends_on: [debug]\n", 1),
    )
    with pytest.raises(StackError, match=r"debug is in profile.*pass --profile debug"):
        load(path, environment={})


def test_an_unset_variable_without_a_default_warns_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path)
    stack, warnings = load(path, environment={})
    assert stack.service("db").env["POSTGRES_PASSWORD"] == ""
    assert [w for w in warnings if "POSTGRES_PW" in w] == [
        f"{path}:7: services.db.environment.POSTGRES_PASSWORD: variable POSTGRES_PW is not set; "
        "it reads as an empty string (set it, or give a default: ${POSTGRES_PW:-default})"
    ]
    assert not [w for w in warnings if "PG_VERSION" in w or "PORT" in w]  # they have defaults


def test_import_keeps_templates_so_no_value_from_the_environment_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deployer.cli.main import main
    from deployer.stackfile.load import load as load_file

    path = write(tmp_path, env="POSTGRES_PW=from-dotenv-secret\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POSTGRES_PW", raising=False)
    assert main(["import", str(path), "-o", "stack.py"]) == 0, capsys.readouterr().err
    source = (tmp_path / "stack.py").read_text()
    assert "from-dotenv-secret" not in source
    assert 'var.substitute("${POSTGRES_PW}")' in source
    assert load_file(tmp_path / "stack.py").service("db").env["POSTGRES_PASSWORD"] == (
        "from-dotenv-secret"
    )
    monkeypatch.setenv("POSTGRES_PW", "rotated")  # read again whenever stack.py loads
    assert load_file(tmp_path / "stack.py").service("db").env["POSTGRES_PASSWORD"] == "rotated"


def test_import_reads_env_files_when_stack_py_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deployer.cli.main import main
    from deployer.stackfile.load import load as load_file

    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "web.env").write_text("API_TOKEN=from-env-file\nSHARED=file\n")
    path = write(
        tmp_path / "proj",
        "services:\n  web:\n    image: app\n    env_file: web.env\n"
        "    environment: {SHARED: explicit, PLAIN: '1'}\n",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(path), "-o", "stack.py"]) == 0, capsys.readouterr().err
    source = (tmp_path / "stack.py").read_text()
    assert "from-env-file" not in source
    assert 'var.env_file("proj/web.env")' in source
    env = load_file(tmp_path / "stack.py").service("web").env
    assert env == {"API_TOKEN": "from-env-file", "SHARED": "explicit", "PLAIN": "1"}


def test_deployers_own_yaml_stacks_interpolate_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deployer.stackfile.load import load as load_file

    (tmp_path / ".env").write_text("TAG=3\n")
    (tmp_path / "stack.yaml").write_text(
        "name: own\nservices:\n  web:\n    image: app:${TAG}\n    replicas: 2\n"
        "    env: {TOKEN: '${TOKEN:?set TOKEN}'}\n"
    )
    monkeypatch.setenv("TOKEN", "t")
    web = load_file(tmp_path / "stack.yaml").service("web")
    assert (web.image, web.env["TOKEN"]) == ("app:3", "t")
    monkeypatch.delenv("TOKEN")
    with pytest.raises(StackError, match=r"services.web.env.TOKEN: required variable TOKEN"):
        load_file(tmp_path / "stack.yaml")
