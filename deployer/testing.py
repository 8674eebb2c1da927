"""Throwaway stacks for integration tests.

    from deployer.testing import throwaway

    with throwaway("stack.py") as shop:
        urllib.request.urlopen(shop.url("nginx"))

A throwaway deploys a copy of the stack under a unique name, with every port published on an
ephemeral 127.0.0.1 port, waits until it is healthy, and removes everything on exit, whether the
block ends normally, raises, or `up` fails halfway. If the test process dies before that (SIGKILL,
a cancelled CI job), the session's reaper container removes what it left within seconds.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from deployer import api, images, labels, load
from deployer.api import Deployment, ReplicaStatus, quiet
from deployer.engine import Engine
from deployer.errors import DeployerError, NotFound
from deployer.images import ServiceImage
from deployer.render import ContainerPlan
from deployer.spec import Build, Healthcheck, Port, Service, Stack

# Throwaways are probed often so that they are ready sooner (engine 20.10 has no start_interval).
FAST_PROBE = timedelta(milliseconds=500)
REAPER_CONTEXT = Path(__file__).parent / "reaper"
REAPER_BASE = "deployer/python:bookworm"


@dataclass(frozen=True)
class Throwaway:
    """A running throwaway stack."""

    stack: Stack
    deployment: Deployment
    engine: Engine

    @property
    def name(self) -> str:
        return self.stack.name

    def url(self, service: str, container_port: int | None = None) -> str:
        """http://127.0.0.1:<assigned port> of a service's published port."""
        return self.deployment.url(service, container_port)

    def replicas(self, service: str | None = None) -> list[ReplicaStatus]:
        found = api.status(self.name, self.engine)
        return [r for r in found if service is None or r.service == service]

    def container(self, service: str, replica: int = 1) -> ReplicaStatus:
        for candidate in self.replicas(service):
            if candidate.replica == replica:
                return candidate
        raise NotFound(f"throwaway {self.name} has no replica {replica} of {service!r}")

    def logs(self, service: str, replica: int = 1, tail: int = 200) -> str:
        return self.engine.logs_tail(self.container(service, replica).id, tail)

    def exec(self, service: str, command: list[str], replica: int = 1) -> tuple[int, str]:
        """Run `command` in a replica; returns its exit code and output."""
        return self.engine.exec(self.container(service, replica).id, command)


def disposable_copy(
    stack: Stack, session: str, built: dict[str, ServiceImage], fast_probes: bool = True
) -> Stack:
    """The stack under a unique name, ports ephemeral, images already built, session-labelled."""
    suffix = secrets.token_hex(4)
    name = f"{stack.name[: 48 - len(suffix) - 1]}-{suffix}"
    services = tuple(
        _disposable(service, built[service.name], fast_probes) for service in stack.services
    )
    session_labels = {labels.SESSION: session, labels.THROWAWAY: "1"}
    return stack.model_copy(
        update={"name": name, "services": services, "labels": {**stack.labels, **session_labels}}
    )


def _disposable(service: Service, image: ServiceImage, fast_probes: bool) -> Service:
    changes: dict[str, Any] = {
        "ports": tuple(Port(container=p.container, protocol=p.protocol) for p in service.ports),
        # The copy runs the image the original stack built: a copy never builds again.
        "image": image.reference,
        "build": None,
    }
    check = service.healthcheck
    if fast_probes and check is not None and check.interval > FAST_PROBE:
        changes["healthcheck"] = Healthcheck.model_validate(
            {**check.model_dump(), "interval": FAST_PROBE}
        )
    return service.model_copy(update=changes)


@contextmanager
def throwaway(
    stack: Stack | str | Path,
    *,
    engine: Engine | None = None,
    reaper: bool = True,
    report: Callable[[str], None] = quiet,
    timeout: float | None = None,
) -> Iterator[Throwaway]:
    """Deploy a disposable copy of `stack` (a Stack or a stack file) and remove it afterwards."""
    original = stack if isinstance(stack, Stack) else load.load(stack)
    engine = engine or api.connect()
    session = Reaper.session(engine, report) if reaper else f"local-{secrets.token_hex(6)}"
    built = images.prepare(engine, original, report)
    copy = disposable_copy(original, session, built)
    try:
        deployment = api.up(copy, engine=engine, report=report, timeout=timeout)
        yield Throwaway(copy, deployment, engine)
    finally:
        # Disposable: no grace period, the containers are killed.
        api.down(copy.name, engine=engine, report=report, stop_timeout=0, remove_volumes=True)


Scope = Literal["session", "package", "module", "class", "function"]


def throwaway_fixture(stack: Stack | str | Path, *, scope: Scope = "function") -> Any:
    """A pytest fixture (any scope) that yields a running throwaway of `stack`.

    shop = throwaway_fixture("stack.py", scope="module")   # in a conftest.py

    def test_home(shop):
        assert urllib.request.urlopen(shop.url("nginx")).status == 200
    """
    import pytest  # only for those who use the fixture

    @pytest.fixture(scope=scope)
    def _fixture() -> Iterator[Throwaway]:
        with throwaway(stack) as handle:
            yield handle

    return _fixture


class Reaper:
    """One reaper container per test process, holding a connection from it for its whole life."""

    _lock = threading.Lock()
    _current: Reaper | None = None

    def __init__(self, engine: Engine, report: Callable[[str], None]) -> None:
        self.session_id = f"{os.getpid()}-{secrets.token_hex(6)}"
        image = self._image(engine, report)
        plan = ContainerPlan(
            name=f"deployer-reaper-{self.session_id}",
            body={
                "Image": image,
                "Labels": {labels.REAPER: self.session_id},
                "Env": [f"REAPER_ENGINE_SOCKET={_CONTAINER_SOCKET}"],
                "ExposedPorts": {"8080/tcp": {}},
                "HostConfig": {
                    "AutoRemove": True,
                    "Binds": [f"{_engine_socket()}:{_CONTAINER_SOCKET}"],
                    "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
                },
            },
        )
        container_id = engine.create_container(plan)
        engine.start(container_id)
        port = engine.inspect_container(container_id).ports[0].host_port
        # Kept open on purpose until the process ends: its closing is the reaper's signal.
        self.connection = _handshake(port, f"label={labels.SESSION}={self.session_id}")

    @classmethod
    def session(cls, engine: Engine, report: Callable[[str], None] = quiet) -> str:
        with cls._lock:
            if cls._current is None:
                cls._current = Reaper(engine, report)
            return cls._current.session_id

    @staticmethod
    def _image(engine: Engine, report: Callable[[str], None]) -> str:
        base_id = images.ensure_present(engine, REAPER_BASE, report, bootstrap=True)
        build = Build(context=REAPER_CONTEXT, args={"BASE_IMAGE": REAPER_BASE})
        digest = images.context_digest(REAPER_CONTEXT, build, {REAPER_BASE: base_id}, {})
        tag = f"deployer/reaper:{digest[:12]}"
        if engine.image_id(tag) is None:
            engine.build(
                REAPER_CONTEXT, dockerfile="Dockerfile", tag=tag, args=dict(build.args),
                target=None, labels={}, on_output=report,
            )  # fmt: skip
        return tag


_CONTAINER_SOCKET = "/var/run/docker.sock"


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
