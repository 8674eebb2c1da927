"""The plain-HTTP reads over the engine's unix socket (no docker-py) answer what docker-py's
calls answer, and fail the same way."""

from __future__ import annotations

import docker
import pytest

from deployer import api
from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from deployer.engine.inspect import container_info
from deployer.model.errors import EngineUnavailable, NotFound
from deployer.model.spec import Port, Service, Stack
from tests.integration.conftest import unique_name


def test_plain_reads_match_docker_py(
    engine: DockerEngine, docker_api: docker.APIClient, cleanup: list[str]
) -> None:
    name = unique_name("reads")
    cleanup.append(name)
    stack = Stack(name=name, services=[Service(
        name="s", image="deployer/python:bookworm", command=["sleep", "1000"], init=True,
        replicas=2, ports=[Port(container=8000)],
    )])  # fmt: skip
    api.up(stack, engine)
    plain = DockerEngine()  # the local socket: reads go around docker-py
    assert plain._socket_path is not None
    assert plain.identity() == docker_api.info()["ID"]
    selector = labels.stack_filter(name)
    listed = docker_api.containers(all=True, filters=selector)
    assert len(listed) == 2
    assert sorted(c.id for c in plain.listed_containers(selector)) == sorted(
        c["Id"] for c in listed
    )
    for item in listed:
        assert plain.inspect_container(item["Id"]) == container_info(
            docker_api.inspect_container(item["Id"])
        )
    # The same reads through docker-py's session (what a tcp:// or TLS engine goes through),
    # here a client made outside deployer.
    through_docker_py = DockerEngine(client=docker_api)
    assert through_docker_py._socket_path is None
    assert through_docker_py.where() == docker_api.base_url
    assert through_docker_py.identity() == plain.identity()
    assert through_docker_py.listed_containers(selector) == plain.listed_containers(selector)
    first = listed[0]["Id"]
    assert through_docker_py.inspect_container(first) == plain.inspect_container(first)
    assert through_docker_py.path_stat(first, "/etc/hostname") == plain.path_stat(
        first, "/etc/hostname"
    )
    assert plain.path_stat(first, "/no/such/path") is None
    assert through_docker_py.volumes(selector) == plain.volumes(selector)
    networks = docker_api.networks(filters=selector)
    assert sorted(n.id for n in plain.networks(selector)) == sorted(n["Id"] for n in networks)
    # Live containers' endpoints are never cut off as stale ones.
    (network,) = networks
    assert plain.release_stale_endpoints(network["Id"]) == []
    attached = docker_api.inspect_network(network["Id"])["Containers"]
    assert sorted(attached) == sorted(c["Id"] for c in listed)


def test_plain_reads_fail_as_docker_pys_do(tmp_path: object) -> None:
    plain = DockerEngine()
    with pytest.raises(NotFound, match="inspecting container nosuchcontai: No such container"):
        plain.inspect_container("nosuchcontainer")
    nowhere = DockerEngine(base_url="unix:///nonexistent/docker.sock")
    with pytest.raises(EngineUnavailable) as refused:
        nowhere.ping()
    assert refused.value.exit_code == 3


@pytest.mark.parametrize("tty", [False, True], ids=["multiplexed", "tty"])
def test_logs_read_plainly_match_docker_pys_stream(
    tty: bool, engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    """A container's lines so far, read in one plain answer (frames taken apart without a TTY)
    or through docker-py's stream, are the same lines."""
    script = (
        "import sys\nfor i in range(300):\n    print('out', i); print('err', i, file=sys.stderr)"
    )
    created = docker_api.create_container(
        "deployer/python:bookworm", ["python3", "-u", "-c", script], tty=tty,
        labels={labels.STACK: unique_name("logs")},
    )  # fmt: skip
    try:
        docker_api.start(created["Id"])
        docker_api.wait(created["Id"], timeout=60)
        plain = list(engine.log_stream(created["Id"], follow=False, since=None, tail=None))
        through_docker_py = DockerEngine()
        through_docker_py._socket_path = None
        streamed = list(
            through_docker_py.log_stream(created["Id"], follow=False, since=None, tail=None)
        )
        assert plain == streamed and len(plain) == 600
        end = "\r" if tty else ""  # a TTY ends its lines with CRLF
        said = {line.split(" ", 1)[1] for line in plain}  # after each line's time
        assert said == {f"{kind} {i}{end}" for kind in ("out", "err") for i in range(300)}
        tail = list(engine.log_stream(created["Id"], follow=False, since=None, tail=10))
        assert tail == plain[-10:]
    finally:
        docker_api.remove_container(created["Id"], force=True)
