"""Secrets and configs: files in the containers, digests in the hash, values nowhere else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer import Secret, Service, Stack
from deployer.core import hashing, secrets
from deployer.core.state import ServiceImage
from deployer.model.errors import StackError
from deployer.stackfile import codegen, load
from deployer.targets.engine.desired import DesiredStack

VALUE = "s3cr3t-value"


def stack(root: Path, value: str = VALUE, **service: object) -> Stack:
    (root / "db_password.txt").write_text(value)
    api_key = {"source": "api", "target": "api.key", "mode": 0o400, "uid": 10001}
    web = Service.model_validate(
        {"name": "web", "image": "web:1", "secrets": ["db_password", api_key],
         "configs": ["settings"], **service}
    )  # fmt: skip
    made = Stack.model_validate(
        {"name": "shop", "services": [web],
         "secrets": [{"name": "db_password", "file": "db_password.txt"},
                     {"name": "api", "content": "inline-key"}],
         "configs": [{"name": "settings", "content": "debug = false\n"}]}
    )  # fmt: skip
    return made.model_copy(update={"root": root})


def desired(made: Stack) -> DesiredStack:
    return DesiredStack(made, {"web": ServiceImage("web:1", "sha256:1")})


def test_secrets_and_configs_become_files_with_their_owner_and_mode(tmp_path: Path) -> None:
    made = stack(tmp_path)
    files = {f.path: f for f in secrets.files(made, made.service("web"))}
    assert files["/run/secrets/db_password"].payload() == VALUE.encode()
    assert (files["/run/secrets/api.key"].mode, files["/run/secrets/api.key"].uid) == (0o400, 10001)
    assert files["/settings"].payload() == b"debug = false\n"
    plan = desired(made).container(made.service("web"), 1)
    assert {"Type": "volume", "Target": "/run/secrets"} in plan.body["HostConfig"]["Mounts"]
    assert {f.path for f in plan.files} >= set(files)


def test_no_secret_value_reaches_labels_or_the_stack_dump(tmp_path: Path) -> None:
    made = stack(tmp_path)
    plan = desired(made).container(made.service("web"), 1)
    assert VALUE not in json.dumps(plan.body) and "inline-key" not in json.dumps(plan.body)
    dumped = json.dumps(made.model_dump(mode="json"))
    assert VALUE not in dumped and "inline-key" not in dumped


def test_a_changed_secret_changes_the_config_hash(tmp_path: Path) -> None:
    before = hashing.service_fields(stack(tmp_path), stack(tmp_path).service("web"), "i", None)
    changed = stack(tmp_path, value="rotated")
    after = hashing.service_fields(changed, changed.service("web"), "i", None)
    assert hashing.changed_fields(before, after) == ["secrets"]


def test_a_missing_source_or_an_unknown_secret_is_a_clear_error(tmp_path: Path) -> None:
    made = stack(tmp_path)
    (tmp_path / "db_password.txt").unlink()
    broken = made.model_copy(
        update={"secrets": (*made.secrets, Secret(name="token", environment="NOT_SET_ANYWHERE"))}
    )
    web = broken.service("web")
    web = Service.model_validate(
        {**web.model_dump(), "secrets": [*web.model_dump()["secrets"], "nope"]}
    )
    broken = broken.model_copy(update={"services": (web,)})
    with pytest.raises(StackError) as raised:
        load.checked(broken, "stack.py")
    problems = "\n".join(raised.value.problems)
    assert "secrets.db_password.file: no file" in problems
    assert "secrets.token.environment: NOT_SET_ANYWHERE is not set" in problems
    assert "services.web.secrets: 'nope' is not one of the stack's secrets" in problems


def test_a_secret_needs_exactly_one_source_and_targets_stay_under_run_secrets() -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        Secret(name="x")
    with pytest.raises(ValueError, match="under /run/secrets/"):
        Service(name="web", image="x", secrets=[{"source": "x", "target": "/etc/passwd"}])


COMPOSE = """
services:
  web:
    image: app
    secrets:
      - db_password
      - source: api
        target: api.key
        uid: "10001"
        mode: 0400
    configs: [settings]
secrets:
  db_password:
    file: ./db_password.txt
  api:
    environment: API_KEY
  remote:
    external: true
configs:
  settings:
    content: "debug = false"
"""


def test_compose_secrets_and_configs_map_and_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", "from-env")
    (tmp_path / "db_password.txt").write_text(VALUE)
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    warnings: list[str] = []
    made = load.load(tmp_path / "compose.yaml", warnings.append)
    web = made.service("web")
    assert [u.path() for u in web.secrets] == ["/run/secrets/db_password", "/run/secrets/api.key"]
    assert (web.secrets[1].uid, web.secrets[1].mode) == (10001, 0o400)
    files = {f.path: f.payload().decode() for f in secrets.files(made, web)}
    assert files == {"/run/secrets/db_password": VALUE, "/run/secrets/api.key": "from-env",
                     "/settings": "debug = false"}  # fmt: skip
    assert any("secrets.remote.external" in w for w in warnings)
    source = codegen.stack_source(made, "compose.yaml")
    assert VALUE not in source and "from-env" not in source
    (tmp_path / "stack.py").write_text(source)
    assert load.load(tmp_path / "stack.py").model_dump() == made.model_dump()
