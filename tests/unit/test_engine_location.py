"""Where deployer finds the engine: the Docker CLI's order (DOCKER_HOST, then contexts)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import docker
import pytest

from deployer.engine.docker_engine import API_VERSION, DockerEngine, engine_params
from deployer.local import engine_address, ssh_tunnel
from deployer.local.ssh_tunnel import SshAddress, hint_for, parse
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


def test_a_context_made_without_a_config_json_is_found(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (config / "config.json").unlink()  # `docker context create` does not make one
    _context(config, "server", "ssh://deploy@server.example")
    monkeypatch.setenv("DOCKER_CONTEXT", "server")
    assert engine_params()["base_url"] == "ssh://deploy@server.example"


def test_the_command_lines_address_wins_over_the_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_address, "_chosen", {})
    engine_address.choose("unix:///stack.sock")
    assert engine_address.chosen_address() == "unix:///stack.sock"
    engine_address.choose("unix:///h.sock", from_command_line=True)
    engine_address.choose("unix:///another-stack.sock")
    assert engine_address.chosen_address() == "unix:///h.sock"
    assert engine_params(engine_address.chosen_address())["base_url"] == "unix:///h.sock"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ssh://server", SshAddress("server")),
        ("ssh://deploy@server:2222", SshAddress("server", "deploy", 2222)),
        ("ssh://deploy@server/run/user/1000/docker.sock",
         SshAddress("server", "deploy", None, "/run/user/1000/docker.sock")),
    ],
)  # fmt: skip
def test_ssh_addresses(url: str, expected: SshAddress) -> None:
    assert parse(url) == expected
    assert parse(expected.url) == expected


@pytest.mark.parametrize(
    "url", ["ssh://", "ssh://user:secret@server", "tcp://server", "ssh://server:99999"]
)
def test_a_malformed_ssh_address_is_exit_3_naming_it(url: str) -> None:
    with pytest.raises(EngineUnavailable) as refused:
        parse(url)
    assert refused.value.exit_code == 3
    assert url in refused.value.message


@pytest.mark.parametrize(
    ("said", "advice"),
    [
        ("Host key verification failed.", "fingerprint"),
        ("deploy@1.2.3.4: Permission denied (publickey).", "refused your key"),
        ("ssh: connect to host 1.2.3.4 port 22: Connection refused", "is sshd running"),
        ("ssh: Could not resolve hostname nowhere: Name or service not known", "server's name"),
    ],
)
def test_what_ssh_says_becomes_what_to_do(said: str, advice: str) -> None:
    assert advice in hint_for(said, SshAddress("1.2.3.4", "deploy"))


def test_an_ssh_address_chosen_again_starts_no_second_tunnel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[str] = []
    monkeypatch.setattr(engine_address, "_chosen", {})
    monkeypatch.setattr(ssh_tunnel, "prestart", started.append)
    for _ in range(3):  # `watch` loads the stack again on every change
        engine_address.choose("ssh://deploy@server.example")
    engine_address.choose("unix:///elsewhere.sock")
    assert started == ["ssh://deploy@server.example"]


def test_an_engine_over_a_client_made_elsewhere_goes_through_it_and_leaves_it_open() -> None:
    closed: list[bool] = []

    # A real client: making one needs no engine.
    class Client(docker.APIClient):  # type: ignore[misc]
        def close(self) -> None:
            closed.append(True)
            super().close()

    client = Client(base_url="unix:///nonexistent/docker.sock", version=API_VERSION)
    engine = DockerEngine(base_url="ssh://deploy@example.test", client=client)
    assert engine.api is client
    assert engine.where() == "ssh://deploy@example.test"
    assert engine.socket_path is None  # every call through the client, none around it
    assert engine.tunnel is None  # the client's own transport, not deployer's tunnel
    engine.close()
    assert closed == []
