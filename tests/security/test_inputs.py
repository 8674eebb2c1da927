"""Audit findings (low): inputs that ended in tracebacks, hangs, or text pasted unchecked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deployer import api
from deployer.engine.inspect import exit_code
from deployer.model.errors import StackError
from deployer.model.spec import Secret, SecretUse, Service, Stack
from tests.fakes import FakeEngine

# The first bytes of a DER-encoded RSA key: not UTF-8.
DER = bytes.fromhex("308204a40201000282010100c3") + bytes(range(256))


def test_a_binary_secret_reaches_the_container_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / "server.der").write_bytes(DER)
    stack = Stack(
        name="shop",
        root=tmp_path,
        services=[Service(name="web", image="web:1", secrets=[SecretUse(source="tls_key")])],
        secrets=[Secret(name="tls_key", file="server.der")],
    )
    fake = FakeEngine(images={"web:1": "sha256:w"})
    api.up(stack, engine=fake)
    (plan,) = fake.bodies.values()
    written = {file.path: file.payload() for file in plan.files}
    assert written["/run/secrets/tls_key"] == DER
    assert DER.hex() not in str(plan.body)  # nowhere in the container's config or labels


def test_an_unreadable_secret_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    # A regular file that no one, root included, can read from its start.
    unreadable = Path("/proc/self/mem")
    assert unreadable.is_file()
    stack = Stack(
        name="shop",
        root=tmp_path,
        services=[Service(name="web", image="web:1", secrets=[SecretUse(source="db")])],
        secrets=[Secret(name="db", file=unreadable)],
    )
    with pytest.raises(StackError) as refused:
        api.plan(stack, engine=FakeEngine(images={"web:1": "sha256:w"}))
    assert refused.value.exit_code == 2
    assert "secrets.db.file: cannot read it: Input/output error" in str(refused.value)


BOMB = "".join(
    f"x-{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize("name", ["compose.yaml", "stack.yaml"])
def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    body = "services:\n  web:\n    image: nginx\n    labels:\n      bomb: *i\n"
    if name == "stack.yaml":
        body = "name: s\n" + body
    path.write_text(
        'x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + BOMB + body
    )
    done = subprocess.run(
        [sys.executable, "-m", "deployer", "-f", str(path), "config"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "aliases expand to more than 200000 values" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("reported", "code"), [(None, 1), (0, 0), (3, 3), ("x", 1), (True, 1)])
def test_an_exec_without_an_exit_code_is_a_failure(reported: object, code: int) -> None:
    assert exit_code(reported) == code


def test_max_body_size_is_a_size_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(
        "name: s\nservices:\n  web:\n    image: web:1\n  nginx:\n"
        "    image: nginx:1\n    proxy:\n      upstream: web\n      port: 8000\n"
        "      max_body_size: '1m; include /etc/shadow'\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "deployer", "-f", str(path), "config"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "services.nginx.proxy.max_body_size" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
