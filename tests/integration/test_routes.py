"""The proxy's routes to socket-reached replicas: observed, reported, repaired, self-healing."""

from __future__ import annotations

import time
import urllib.request

from deployer import api
from deployer.core.plan import CauseKind, Kind
from deployer.engine.docker_engine import DockerEngine
from tests.integration.conftest import default_stack_copy, passed_health, unique_name


def _in_proxy(engine: DockerEngine, stack: str, script: str) -> str:
    proxy = next(r for r in api.status(stack, engine) if r.service == "nginx")
    code, output = engine.exec(proxy.id, ["sh", "-c", f"cd /run/deployer-upstream && {script}"])
    assert code == 0, output
    return output


def test_a_misrouted_slot_shows_in_status_and_up_repairs_it(
    engine: DockerEngine, cleanup: list[str]
) -> None:
    name = unique_name("route")
    cleanup.append(name)
    stack = default_stack_copy(name)
    api.up(stack, engine)
    # A slot routed to another replica is one the replicas' own self-healing leaves alone.
    _in_proxy(engine, name, f"ln -sfn {name}-web-2.sock slot-1.sock")

    web_1 = next(r for r in api.status(name, engine) if r.container == f"{name}-web-1")
    assert web_1.health == "unhealthy"
    assert web_1.problem == (
        f"route missing: slot-1.sock points to {name}-web-2.sock, not {name}-web-1.sock"
    )
    actions = api.plan(stack, engine).actions
    assert [(a.kind, a.resource) for a in actions] == [(Kind.ROUTE, f"{name}-web-1")]
    assert actions[0].cause.kind is CauseKind.ROUTE_MISSING
    assert actions[0].why().startswith("route missing: slot-1.sock points to")

    deployment = api.up(stack, engine)
    assert [a.kind for a in deployment.plan.actions] == [Kind.ROUTE]
    assert _in_proxy(engine, name, "readlink slot-1.sock").strip() == f"{name}-web-1.sock"
    assert all(not r.problem and passed_health(r) for r in api.status(name, engine))
    assert api.plan(stack, engine).empty
    with urllib.request.urlopen(deployment.url(), timeout=5) as response:
        assert response.status == 200


def test_a_deleted_slot_link_is_recreated_by_its_replica(
    engine: DockerEngine, cleanup: list[str]
) -> None:
    name = unique_name("route")
    cleanup.append(name)
    stack = default_stack_copy(name)
    api.up(stack, engine)
    _in_proxy(engine, name, "rm slot-2.sock")

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _in_proxy(engine, name, "readlink slot-2.sock || true").strip():
            break
        time.sleep(0.2)
    assert _in_proxy(engine, name, "readlink slot-2.sock").strip() == f"{name}-web-2.sock"
    assert api.plan(stack, engine).empty
