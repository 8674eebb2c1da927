"""The default stack on the real engine: up, serve through nginx, inspect, status, down."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import docker
import pytest

from deployer import api
from deployer.api import Deployment
from deployer.engine.docker_engine import DockerEngine
from deployer.model.spec import Stack
from tests.integration.conftest import (
    cli,
    default_stack_copy,
    engine_verdicts,
    leftovers,
    unique_name,
)


@pytest.fixture(scope="module")
def deployed(engine: DockerEngine) -> Iterator[tuple[Stack, Deployment]]:
    stack = default_stack_copy(unique_name())
    try:
        yield stack, api.up(stack, engine=engine)
    finally:
        api.down(stack.name, engine=engine, stop_timeout=1, remove_images=True, remove_volumes=True)


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_up_answers_through_nginx_from_every_replica(deployed: tuple[Stack, Deployment]) -> None:
    _, deployment = deployed
    url = deployment.url("nginx", 80)
    assert url.startswith("http://127.0.0.1:")
    hosts = set()
    for _ in range(12):
        status, body = get(url + "/")
        assert status == 200
        payload = json.loads(body)
        assert payload["message"] == "Hello from deployer"
        hosts.add(payload["host"])
    assert len(hosts) == 2  # nginx's upstream lists both web replicas


def test_containers_carry_the_stacks_settings(
    deployed: tuple[Stack, Deployment], docker_api: docker.APIClient
) -> None:
    stack, deployment = deployed
    engine_verdicts(stack.name)  # `up` went on the early probes; Docker's own check follows
    for replica in deployment.replicas:
        service = stack.service(replica.service)
        inspected = docker_api.inspect_container(replica.container)
        config, host = inspected["Config"], inspected["HostConfig"]
        check = service.healthcheck
        assert check is not None
        assert config["Healthcheck"]["Interval"] == int(check.interval.total_seconds() * 1e9)
        assert config["Healthcheck"]["Retries"] == check.retries
        assert host["Memory"] == service.resources.memory
        assert host["NanoCpus"] == int((service.resources.cpus or 0) * 1e9)
        assert host["PidsLimit"] == service.resources.pids
        assert host["RestartPolicy"]["Name"] == "unless-stopped"
        assert host["LogConfig"] == {
            "Type": "json-file",
            "Config": {"max-file": "3", "max-size": "10m"},
        }
        assert inspected["State"]["Health"]["Status"] == "healthy"


def test_web_is_hardened(deployed: tuple[Stack, Deployment], docker_api: docker.APIClient) -> None:
    _, deployment = deployed
    web = next(r for r in deployment.replicas if r.service == "web")
    inspected = docker_api.inspect_container(web.container)
    assert inspected["Config"]["User"] == "10001:10001"
    assert inspected["HostConfig"]["ReadonlyRootfs"] is True
    assert inspected["HostConfig"]["CapDrop"] == ["ALL"]


def test_status_json_matches_the_engine(
    deployed: tuple[Stack, Deployment], docker_api: docker.APIClient
) -> None:
    stack, _ = deployed
    engine_verdicts(stack.name)
    result = cli("status", "--name", stack.name, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["schema_version"], answer["target"]) == (2, "engine")
    assert answer["stack"] == stack.name
    rows = answer["replicas"]
    assert [(r["service"], r["replica"]) for r in rows] == [("nginx", 1), ("web", 1), ("web", 2)]
    for row in rows:
        inspected = docker_api.inspect_container(row["container"])
        assert row["stack"] == stack.name
        assert row["state"] == inspected["State"]["Status"] == "running"
        assert row["health"] == "healthy"
    published = docker_api.inspect_container(rows[0]["container"])["NetworkSettings"]["Ports"]
    assert rows[0]["ports"] == [
        {"host_ip": "127.0.0.1", "host_port": int(published["80/tcp"][0]["HostPort"]),
         "container_port": 80, "protocol": "tcp"}
    ]  # fmt: skip


def test_other_containers_of_the_same_image_are_not_part_of_the_stack(
    deployed: tuple[Stack, Deployment], engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    stack, deployment = deployed
    web_image = next(r.image for r in deployment.replicas if r.service == "web")
    stranger = docker_api.create_container(web_image, command=["true"])
    try:
        assert [r.container for r in api.status(stack.name, engine)] == [
            r.container for r in deployment.replicas
        ]
    finally:
        docker_api.remove_container(stranger["Id"], force=True)


def test_second_up_keeps_every_container(
    deployed: tuple[Stack, Deployment], engine: DockerEngine
) -> None:
    stack, first = deployed
    again = api.up(stack, engine=engine)
    assert again.plan.empty
    assert [r.id for r in again.replicas] == [r.id for r in first.replicas]
    assert all(r.restart_count == 0 for r in again.replicas)


def test_down_leaves_no_labelled_object(
    deployed: tuple[Stack, Deployment], docker_api: docker.APIClient
) -> None:
    stack, _ = deployed
    result = cli("down", "--name", stack.name, "--rmi")
    assert result.returncode == 0, result.stderr
    # 3 containers, the network, the socket and config volumes, the built image
    assert "removed 7 object(s)" in result.stdout
    assert leftovers(docker_api, stack.name) == ([], [], [])
    assert docker_api.images(filters={"label": [f"io.deployer.image.stack={stack.name}"]}) == []
    again = cli("down", "--name", stack.name)
    assert again.returncode == 0
    assert "nothing to remove" in again.stdout
