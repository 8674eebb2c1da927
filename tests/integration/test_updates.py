"""Converging a running stack on the real engine: updates, scaling, failed rollouts, repair.

The tests run in order on one stack; each leaves it healthy for the next.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from deployer import api
from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from deployer.model.errors import DeployFailed
from deployer.model.spec import Healthcheck, HttpProbe, Stack
from tests.integration.conftest import default_stack_copy, unique_name


@pytest.fixture(scope="module")
def stack(engine: DockerEngine) -> Iterator[Stack]:
    base = default_stack_copy(unique_name("upd"))
    try:
        api.up(base, engine=engine)
        yield base
    finally:
        api.down(base.name, engine=engine, stop_timeout=1, remove_images=True, remove_volumes=True)


def with_web(stack: Stack, **changes: Any) -> Stack:
    return stack.with_service("web", **changes)


def ids(docker_api: docker.APIClient, stack: Stack) -> dict[str, str]:
    listed = docker_api.containers(all=True, filters={"label": [f"{labels.STACK}={stack.name}"]})
    return {c["Names"][0].lstrip("/"): c["Id"] for c in listed}


class Load:
    """Requests through nginx in a loop while a change rolls out; counts what came back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    self.results[str(response.status)] += 1
                    self.messages[response.read().decode()] += 1
            except Exception as error:
                self.results[type(error).__name__] += 1
            time.sleep(0.01)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def url_of(engine: DockerEngine, stack: Stack) -> str:
    nginx = next(r for r in api.status(stack.name, engine) if r.service == "nginx")
    return f"http://127.0.0.1:{nginx.ports[0].host_port}/"


def test_env_change_replaces_only_web_without_a_failed_request(
    stack: Stack, engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    before = ids(docker_api, stack)
    changed = with_web(stack, env={"APP_MESSAGE": "second version"})
    assert [a.why() for a in api.plan(changed, engine=engine).actions] == [
        "config changed: env"
    ] * 2
    with Load(url_of(engine, stack)) as load:
        api.up(changed, engine=engine)
        time.sleep(0.5)
    after = ids(docker_api, stack)
    assert sorted(after) == sorted(before)  # same names: demo-nginx-1, demo-web-1, demo-web-2
    assert after[f"{stack.name}-nginx-1"] == before[f"{stack.name}-nginx-1"]
    assert after[f"{stack.name}-web-1"] != before[f"{stack.name}-web-1"]
    assert set(load.results) == {"200"}, load.results
    assert any("second version" in m for m in load.messages)
    assert api.plan(changed, engine=engine).empty


def test_scaling_adds_and_removes_replicas_only(
    stack: Stack, engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    current = with_web(stack, env={"APP_MESSAGE": "second version"})
    before = ids(docker_api, stack)
    api.up(with_web(current, replicas=3), engine=engine)
    three = ids(docker_api, stack)
    assert {n: i for n, i in three.items() if n in before} == before
    assert f"{stack.name}-web-3" in three
    hosts = {urllib.request.urlopen(url_of(engine, stack)).read() for _ in range(15)}
    assert len(hosts) == 3  # nginx's upstream now lists three replicas
    api.up(with_web(current, replicas=1), engine=engine)
    one = ids(docker_api, stack)
    assert sorted(one) == [f"{stack.name}-nginx-1", f"{stack.name}-web-1"]
    assert one[f"{stack.name}-web-1"] == before[f"{stack.name}-web-1"]
    assert urllib.request.urlopen(url_of(engine, stack)).status == 200
    api.up(current, engine=engine)


def test_unhealthy_new_version_leaves_the_old_one_serving(
    stack: Stack, engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    current = with_web(stack, env={"APP_MESSAGE": "second version"})
    before = ids(docker_api, stack)
    broken = with_web(
        current,
        env={"APP_MESSAGE": "broken version"},
        healthcheck=Healthcheck(
            http=HttpProbe(path="/missing", port=8000), interval="1s", timeout="1s", retries=1
        ),
    )
    with Load(url_of(engine, stack)) as load, pytest.raises(DeployFailed) as caught:
        api.up(broken, engine=engine)
    assert "update of web stopped; the previous version keeps serving" in str(caught.value)
    assert "HTTP 404" in str(caught.value)  # the probe's own words, from its last output
    assert ids(docker_api, stack) == before
    assert set(load.results) == {"200"}, load.results
    assert not any("broken version" in m for m in load.messages)
    assert api.plan(current, engine=engine).empty


def test_rollback_returns_to_the_previous_version(
    stack: Stack, engine: DockerEngine, tmp_path: Path
) -> None:
    current = with_web(stack, env={"APP_MESSAGE": "second version"})
    with Load(url_of(engine, stack)) as load:
        api.rollback(current, engine=engine)
        time.sleep(0.3)
    assert set(load.results) == {"200"}, load.results
    body = urllib.request.urlopen(url_of(engine, stack)).read().decode()
    assert "Hello from deployer" in body  # the first version's message
    assert api.plan(stack, engine=engine).empty
