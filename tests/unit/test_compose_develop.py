"""Compose's develop.watch read into Service.watch, and every bad rule named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.core.hashing import service_fields
from deployer.model.errors import StackError
from deployer.model.spec import Service, Stack, Watch
from deployer.stackfile import load

GOOD = """\
services:
  web:
    build: .
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
          ignore: [__pycache__/, "*.tmp"]
          initial_sync: true
        - path: requirements.txt
          action: rebuild
        - path: ./conf
          action: sync+exec
          target: /etc/app
          exec:
            command: kill -HUP 1
"""


def _load(tmp_path: Path, text: str) -> Stack:
    (tmp_path / "compose.yaml").write_text(text)
    (tmp_path / "Dockerfile").write_text("FROM deployer/python:bookworm\n")
    return load.load(tmp_path / "compose.yaml")


def test_the_rules_reach_the_model(tmp_path: Path) -> None:
    web = _load(tmp_path, GOOD).service("web")
    assert [(r.path, r.action, r.target) for r in web.watch] == [
        ("./src", "sync", "/app/src"), ("requirements.txt", "rebuild", None),
        ("./conf", "sync+exec", "/etc/app"),
    ]  # fmt: skip
    assert web.watch[0].ignore == ("__pycache__/", "*.tmp") and web.watch[0].initial_sync
    exec_rule = web.watch[2].exec
    assert exec_rule is not None and exec_rule.command == ("kill", "-HUP", "1")


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        (
            "- path: ./src\n          action: sync",
            "line 6: services.web.develop.watch.0: action 'sync' needs a target",
        ),
        (
            "- path: ./x\n          action: teleport",
            "line 7: services.web.develop.watch.0.action: 'teleport': choose sync, rebuild",
        ),
        (
            "- path: ./x\n          action: sync\n          target: relative/dir",
            "write an absolute path",
        ),
        ("- path: ./x\n          action: sync+exec\n          target: /x", "needs exec"),
        ("- action: restart", "path: required field is missing"),
        ("- just a string", "a rule is a mapping"),
    ],
)
def test_a_bad_rule_is_exit_2_with_its_line(tmp_path: Path, rule: str, says: str) -> None:
    text = f"services:\n  web:\n    build: .\n    develop:\n      watch:\n        {rule}\n"
    with pytest.raises(StackError) as raised:
        _load(tmp_path, text)
    assert raised.value.exit_code == 2
    assert says in str(raised.value), str(raised.value)


def test_rebuild_needs_a_build(tmp_path: Path) -> None:
    text = ("services:\n  web:\n    image: deployer/python:bookworm\n    develop:\n      watch:\n"
            "        - path: ./x\n          action: rebuild\n")  # fmt: skip
    with pytest.raises(StackError, match=r"line 7: services\.web\.develop\.watch\.0\.action: "
                       "'rebuild' needs the service's build"):  # fmt: skip
        _load(tmp_path, text)


def test_watch_rules_do_not_touch_the_containers_config() -> None:
    """The inner loop's rules are no part of what a container is: adding one replaces none."""
    plain = Service(name="web", image="web:1")
    watched = plain.model_copy(update={"watch": (Watch(path="s", action="restart"),)})
    stack = Stack(name="s", services=(plain,))
    assert service_fields(stack, plain, "sha256:1", None) == service_fields(
        stack, watched, "sha256:1", None
    )
