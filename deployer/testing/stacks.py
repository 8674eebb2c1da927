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

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from deployer import api
from deployer.api import Deployment, ReplicaStatus
from deployer.core import labels
from deployer.core.events import Report, quiet
from deployer.core.state import ServiceImage
from deployer.engine import Engine
from deployer.images import build as images
from deployer.model.errors import NotFound
from deployer.model.spec import Healthcheck, Port, Service, Stack
from deployer.stackfile import load
from deployer.testing.reaper import Reaper

# Throwaways are probed often so that they are ready sooner (engine 20.10 has no start_interval).
FAST_PROBE = timedelta(milliseconds=500)


@dataclass(frozen=True)
class Copy:
    """A throwaway copy of a stack, deployed (on one engine or a swarm)."""

    stack: Stack
    deployment: Deployment

    @property
    def name(self) -> str:
        return self.stack.name


@dataclass(frozen=True)
class Throwaway(Copy):
    """A running throwaway stack on one engine."""

    engine: Engine

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
    report: Report = quiet,
    timeout: float | None = None,
    fast_probes: bool = True,
) -> Iterator[Throwaway]:
    """Deploy a disposable copy of `stack` (a Stack or a stack file) and remove it afterwards.

    Healthchecks run every 0.5 s in the copy so that it is healthy sooner; `fast_probes=False`
    keeps the stack's own intervals (a benchmark: each probe is an exec that costs CPU)."""
    original = stack if isinstance(stack, Stack) else load.load(stack)
    engine = engine or api.connect()
    session = Reaper.session(engine, report) if reaper else f"local-{secrets.token_hex(6)}"
    built = images.prepare(engine, original, report)
    copy = disposable_copy(original, session, built, fast_probes)
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
