"""Where deployer finds the engine: the Docker CLI's order (DOCKER_HOST, then contexts)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from deployer.engine.docker_engine import engine_params
from deployer.model.errors import EngineUnavailable


def _context(config: Path, name: str, host: str) -> None:
    meta = config / "contexts/meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": False}
    (meta / "meta.json").write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}})
    )


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    _context(tmp_path, "swarm1", "tcp://127.0.0.1:23750")
    return tmp_path


def test_no_context_chosen_is_the_local_socket(config: Path) -> None:
    assert "docker.sock" in engine_params().get("base_url", "unix:///var/run/docker.sock")


def test_the_current_context_of_the_docker_config(config: Path) -> None:
    (config / "config.json").write_text(json.dumps({"currentContext": "swarm1"}))
    assert engine_params()["base_url"] == "tcp://127.0.0.1:23750"


def test_docker_context_and_docker_host_come_first(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONTEXT", "swarm1")
    assert engine_params()["base_url"] == "tcp://127.0.0.1:23750"
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert engine_params()["base_url"] == "tcp://127.0.0.1:2375"


def test_an_unknown_context_is_named(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONTEXT", "nope")
    with pytest.raises(EngineUnavailable, match="DOCKER_CONTEXT=nope: no such Docker context"):
        engine_params()
