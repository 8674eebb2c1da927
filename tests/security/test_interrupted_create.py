"""Audit finding 5: a container created but never started (a deploy killed between create and
start, before its secrets, configs or proxy config were written) is not taken as current."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import docker

from deployer import api
from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from deployer.images import build as images
from deployer.model.spec import Healthcheck, Secret, SecretUse, Service, Stack
from deployer.targets.engine.desired import DesiredStack
from tests.fakes import FakeEngine
from tests.integration.conftest import unique_name


def shop(tmp_path: Path) -> Stack:
    (tmp_path / "db_password").write_text("s3cr3t")
    return Stack(
        name="shop",
        root=tmp_path,
        services=[Service(name="web", image="web:1", replicas=2, secrets=[SecretUse(source="db")])],
        secrets=[Secret(name="db", file="db_password")],
    )


def test_a_never_started_container_is_removed_and_made_again(tmp_path: Path) -> None:
    fake = FakeEngine(images={"web:1": "sha256:w"})
    api.up(shop(tmp_path), engine=fake)
    # As a SIGKILL between create and start leaves it: the current config hash, never started.
    name = labels.container_name("shop", "web", 1)
    victim = next(c for c in fake.container_state.values() if c.name == name)
    fake.container_state[victim.id] = dataclasses.replace(victim, state="created")
    fake.calls.clear()
    deployment = api.up(shop(tmp_path), engine=fake)
    assert [(a.kind.value, a.resource, a.why()) for a in deployment.plan.actions] == [
        ("remove", name, "never started (left by an interrupted deploy)"),
        ("create", name, "replicas 1 → 2"),
    ]
    assert victim.id not in fake.container_state
    assert f"create {name}" in fake.calls and f"start {name}" in fake.calls
    assert {r.state for r in deployment.replicas} == {"running"}


def test_plan_names_it() -> None:
    fake = FakeEngine(images={"web:1": "sha256:w"})
    stack = Stack(name="shop", services=[Service(name="web", image="web:1")])
    api.up(stack, engine=fake)
    only = next(iter(fake.container_state.values()))
    fake.container_state[only.id] = dataclasses.replace(only, state="created")
    assert "never started" in api.plan(stack, engine=fake).text()


def test_on_the_real_engine_the_next_up_repairs_a_container_left_unstarted(
    tmp_path: Path, engine: DockerEngine, docker_api: docker.APIClient, cleanup: list[str]
) -> None:
    name = unique_name("sec")
    cleanup.append(name)
    (tmp_path / "db_password").write_text("s3cr3t")
    # Serves only with its secret in place, as an app would.
    stack = Stack(
        name=name,
        root=tmp_path,
        services=[
            Service(
                name="web", image="deployer/python:bookworm",
                command=["python3", "-c", "import time; open('/run/secrets/db').read(); "
                         "time.sleep(1e6)"],
                secrets=[SecretUse(source="db")],
                healthcheck=Healthcheck(command=["test", "-s", "/run/secrets/db"],
                                        interval="1s"),
                stop_grace_period="1s",
            )
        ],
        secrets=[Secret(name="db", file="db_password")],
    )  # fmt: skip
    api.up(stack, engine=engine)
    # What a SIGKILL between `create` and the archive writes leaves: the current spec and hash,
    # created through the engine's own API, no files written, never started.
    (live,) = api.status(name, engine=engine)
    docker_api.remove_container(live.id, force=True)
    desired = DesiredStack(stack, images.resolve_without_building(engine, stack))
    plan = desired.container(stack.services[0], 1)
    left = docker_api.create_container_from_config(plan.body, name=plan.name)["Id"]
    assert docker_api.inspect_container(left)["State"]["Status"] == "created"

    deployment = api.up(stack, engine=engine)

    assert [a.why() for a in deployment.plan.actions] == [
        "never started (left by an interrupted deploy)",
        "not found",
    ]
    (replica,) = deployment.replicas
    assert replica.id != left[:12] and replica.state == "running"
    assert docker_api.inspect_container(replica.id)["State"]["Health"]["Status"] in {
        "healthy",
        "starting",
    }
    assert engine.exec(replica.id, ["cat", "/run/secrets/db"]) == (0, "s3cr3t")
