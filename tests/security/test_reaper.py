"""Audit finding: any local process could make a test session's reaper exit without reaping,
by connecting to its port and dropping before the session's own handshake. Now only a
connection that gives the session's secret token counts."""

from __future__ import annotations

import secrets
import socket
import time

from deployer.core import labels
from deployer.core.events import quiet
from deployer.engine.docker_engine import DockerEngine
from deployer.model.errors import NotFound
from deployer.testing.reaper import handshake_line, launch
from tests.integration.conftest import unique_name

GRACE = 2.0  # the reaper's (REAPER_GRACE default)


def _running(engine: DockerEngine, container_id: str) -> bool:
    try:
        return engine.inspect_container(container_id).state == "running"
    except NotFound:
        return False  # it removes itself when it exits


def _network(engine: DockerEngine, name: str) -> bool:
    return any(n.name == name for n in engine.networks({"label": [f"{labels.STACK}={name}"]}))


def test_a_stranger_cannot_end_a_reaper_and_the_session_still_reaps(engine: DockerEngine) -> None:
    session, token = f"sec-{secrets.token_hex(4)}", secrets.token_hex(16)
    name = unique_name("sec")
    engine.create_network(name, "bridge", False, {labels.STACK: name, labels.SESSION: session})
    reaper, port = launch(engine, quiet, session, token)
    try:
        deadline = time.monotonic() + 30
        while "reaper: listening" not in engine.logs_tail(reaper, 5):
            assert time.monotonic() < deadline, "the reaper did not start listening"
            time.sleep(0.1)
        # A stranger connects and drops, then another sends the right filter without the token.
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as guess:
            guess.sendall(f"label={labels.SESSION}={session}\n".encode())
            assert guess.recv(64).startswith(b"ERR")
        # Long enough for the old reaper to have reaped nothing and exited (GRACE, then a poll).
        watched_until = time.monotonic() + 3 * GRACE
        while time.monotonic() < watched_until:
            assert _running(engine, reaper), "the reaper exited after a stranger's connection"
            time.sleep(0.2)
        assert _network(engine, name)
        # The session's own connection is accepted, and its closing makes the reaper reap.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as own:
            own.sendall(f"{handshake_line(token, session)}\n".encode())
            assert own.recv(16).startswith(b"ACK")
        deadline = time.monotonic() + 30
        while _network(engine, name):
            assert time.monotonic() < deadline, "the session's network was not reaped"
            time.sleep(0.2)
    finally:
        engine.remove_container(reaper)
        for network in engine.networks({"label": [f"{labels.STACK}={name}"]}):
            engine.remove_network(network.id)
