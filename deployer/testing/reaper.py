"""The reaper: one container per test process that removes the session's stacks if it dies.

The test process holds a TCP connection to its reaper for its whole life; when that connection
drops (the process exited or was killed), the reaper removes every object labelled with the
session, and only those.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from pathlib import Path

from deployer.core import labels
from deployer.core.events import Report, quiet
from deployer.core.render import ContainerPlan
from deployer.engine import Engine
from deployer.images import build as images
from deployer.model.errors import DeployerError
from deployer.model.spec import Build

REAPER_CONTEXT = Path(__file__).parent / "reaper_image"
REAPER_BASE = "deployer/python:bookworm"


class Reaper:
    """One reaper container per test process, holding a connection from it for its whole life."""

    _lock = threading.Lock()
    _current: Reaper | None = None
    _swarm: dict[str, Reaper] = {}  # manager socket -> this process's reaper for that swarm

    def __init__(self, engine: Engine, report: Report, swarm_socket: str | None = None) -> None:
        """`swarm_socket`: a Swarm manager's API socket on this host: the reaper removes the
        session's services there, not local objects."""
        self.session_id = f"{os.getpid()}-{secrets.token_hex(6)}"
        # Only this process knows it: nobody else who reaches the port counts as the session.
        self.token = secrets.token_hex(16)
        _, port = launch(engine, report, self.session_id, self.token, swarm_socket)
        # Kept open on purpose until the process ends: its closing is the reaper's signal.
        self.connection = _handshake(port, handshake_line(self.token, self.session_id))

    @classmethod
    def session(cls, engine: Engine, report: Report = quiet) -> str:
        with cls._lock:
            if cls._current is None:
                cls._current = Reaper(engine, report)
            return cls._current.session_id

    @classmethod
    def swarm_session(cls, engine: Engine, manager_socket: str, report: Report = quiet) -> str:
        """This process's session on the swarm whose manager's API socket (on this host) is
        `manager_socket`: its reaper removes what the session left there once the process is
        gone."""
        with cls._lock:
            if manager_socket not in cls._swarm:
                cls._swarm[manager_socket] = Reaper(engine, report, manager_socket)
            return cls._swarm[manager_socket].session_id

    @staticmethod
    def _image(engine: Engine, report: Report) -> str:
        base_id = images.ensure_present(engine, REAPER_BASE, report, bootstrap=True)
        build = Build(context=REAPER_CONTEXT, args={"BASE_IMAGE": REAPER_BASE})
        digest = images.context_digest(REAPER_CONTEXT, build, {REAPER_BASE: base_id}, {})
        tag = f"deployer/reaper:{digest[:12]}"
        if engine.image_id(tag) is None:
            engine.build(
                REAPER_CONTEXT, dockerfile="Dockerfile", tag=tag, args=dict(build.args),
                target=None, labels={},
                on_output=lambda text: images.build_lines("reaper", text, report),
            )  # fmt: skip
        return tag


_CONTAINER_SOCKET = "/var/run/docker.sock"


def launch(
    engine: Engine, report: Report, session_id: str, token: str, swarm_socket: str | None = None
) -> tuple[str, int]:
    """Start a reaper for `session_id` that answers only `token`; its id and 127.0.0.1 port."""
    image = Reaper._image(engine, report)
    env = [
        f"REAPER_SESSION_LABEL={labels.SESSION}", f"REAPER_SESSION={session_id}",
        f"REAPER_TOKEN={token}", f"REAPER_ENGINE_SOCKET={_CONTAINER_SOCKET}",
    ]  # fmt: skip
    host_config: dict[str, object] = {
        "AutoRemove": True,
        "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
        "Binds": [f"{swarm_socket or _engine_socket()}:{_CONTAINER_SOCKET}"],
    }
    container_labels = {labels.REAPER: session_id}
    if swarm_socket is not None:
        env += ["REAPER_SWARM=1", f"REAPER_STACK_LABEL={labels.STACK}"]
        container_labels[labels.REAPER_SWARM] = swarm_socket
    plan = ContainerPlan(
        name=f"deployer-reaper-{session_id}",
        body={
            "Image": image,
            "Labels": container_labels,
            "Env": env,
            "ExposedPorts": {"8080/tcp": {}},
            "HostConfig": host_config,
        },
    )
    container_id = engine.create_container(plan)
    engine.start(container_id)
    return container_id, engine.inspect_container(container_id).ports[0].host_port


def handshake_line(token: str, session_id: str) -> str:
    return f"{token} label={labels.SESSION}={session_id}"


def _engine_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        raise DeployerError(
            f"the reaper needs the engine's unix socket, but DOCKER_HOST is {host}",
            hint="use a local engine, or throwaway(..., reaper=False)",
        )
    return host.removeprefix("unix://")


def _handshake(port: int, line: str, timeout: float = 15.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(f"{line}\n".encode())
            if connection.recv(16).startswith(b"ACK"):
                connection.settimeout(None)
                return connection
            connection.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise DeployerError(f"the reaper on 127.0.0.1:{port} did not answer in {timeout:.0f}s")
        time.sleep(0.05)
