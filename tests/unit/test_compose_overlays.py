"""Compose files that build on others: include, extends (same file and another), and the
merge tags !reset and !override."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.model.errors import StackError
from deployer.stackfile import load


def compose(folder: Path, text: str, name: str = "compose.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def loaded(*paths: Path) -> load.Stack:  # type: ignore[name-defined]
    return load.load_files(list(paths), warn=lambda _: None, as_compose=True)


def test_include_brings_another_folders_services_with_their_paths(tmp_path: Path) -> None:
    compose(tmp_path / "db", "services:\n  db:\n    build: ./image\n    env_file: db.env\n")
    (tmp_path / "db" / "image").mkdir()
    (tmp_path / "db" / "image" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "db" / "db.env").write_text("ROLE=primary\n")
    main = compose(
        tmp_path,
        "include:\n  - db/compose.yaml\nservices:\n  web:\n    image: web\n    depends_on: [db]\n",
    )
    stack = loaded(main)
    db = stack.service("db")
    assert db.build is not None and stack.resolve(db.build.context) == tmp_path / "db" / "image"
    assert db.env == {"ROLE": "primary"}


def test_an_include_loop_or_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    compose(tmp_path, "include: [b.yaml]\nservices: {a: {image: a}}\n", "a.yaml")
    compose(tmp_path, "include: [a.yaml]\nservices: {b: {image: b}}\n", "b.yaml")
    with pytest.raises(StackError, match="files include each other"):
        loaded(tmp_path / "a.yaml")
    missing = compose(tmp_path, "include: [nope.yaml]\nservices: {a: {image: a}}\n", "c.yaml")
    with pytest.raises(StackError, match=r"line 1: include.0: no file"):
        loaded(missing)


def test_extends_merges_the_base_with_the_services_own_settings(tmp_path: Path) -> None:
    compose(
        tmp_path / "common",
        "services:\n  base:\n    image: app:1\n    environment: {A: '1', B: '2'}\n"
        "    volumes: ['./conf:/etc/app']\n",
        "base.yaml",
    )
    main = compose(
        tmp_path,
        "services:\n"
        "  local:\n    image: app:1\n    environment: {LOCAL: 'yes'}\n"
        "  web:\n    extends: {file: common/base.yaml, service: base}\n"
        "    environment: {B: '3'}\n"
        "  worker:\n    extends: local\n    command: [work]\n",
    )
    stack = loaded(main)
    web = stack.service("web")
    assert web.image == "app:1" and web.env == {"A": "1", "B": "3"}
    assert web.mounts[0].source == "./common/conf"  # relative to the file that said it
    worker = stack.service("worker")
    assert (worker.env, worker.command) == ({"LOCAL": "yes"}, ("work",))


def test_extends_errors_name_the_service(tmp_path: Path) -> None:
    main = compose(tmp_path, "services:\n  a:\n    extends: b\n  b:\n    extends: a\n")
    with pytest.raises(StackError, match="services extend each other"):
        loaded(main)
    main = compose(tmp_path, "services:\n  a:\n    image: x\n    extends: nope\n")
    with pytest.raises(StackError, match="no service 'nope'"):
        loaded(main)


def test_reset_and_override_tags(tmp_path: Path) -> None:
    base = compose(
        tmp_path,
        "services:\n  web:\n    image: web\n    ports: ['127.0.0.1:8080:80']\n"
        "    environment: {A: '1', B: '2'}\n",
        "base.yaml",
    )
    override = compose(
        tmp_path,
        "services:\n  web:\n    ports: !reset []\n    environment: !override {C: '${C:-3}'}\n",
        "override.yaml",
    )
    web = loaded(base, override).service("web")
    assert web.ports == ()
    assert web.env == {"C": "3"}


def test_an_included_service_defined_again_is_an_error(tmp_path: Path) -> None:
    compose(tmp_path, "services:\n  db:\n    image: db\n", "db.yaml")
    main = compose(tmp_path, "include: [db.yaml]\nservices:\n  db:\n    image: other\n")
    with pytest.raises(StackError, match=r"line 3: services.db: also defined by the included"):
        loaded(main)
