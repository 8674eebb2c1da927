"""Throwaway stacks, the reaper, `gc` and the pytest plugin, on the real engine."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from deployer.model.errors import DeployerError, DeployFailed
from deployer.testing import throwaway
from deployer.testing.reaper import Reaper, handshake_line
from tests.integration.conftest import ROOT, cli

# A tiny stack: deployer's own Python base serving a folder, with an HTTP healthcheck.
TINY = """
from deployer import Healthcheck, HttpProbe, Port, Service, Stack

stack = Stack(name="tiny", services=[
    Service(
        name="web",
        image="deployer/python:bookworm",
        command=["python3", "-m", "http.server", "8000"],
        ports=[Port(host=8000, container=8000)],
        healthcheck=Healthcheck(http=HttpProbe(path="/", port=8000), interval="1s"),
        init=True,
    ),
])
"""


@pytest.fixture(scope="module", autouse=True)
def remove_built_images(engine: DockerEngine) -> Iterator[None]:
    """Throwaways reuse what the original stack built; drop it after the module unless in use."""
    yield
    for tag in engine.images(labels.image_filter("demo")):
        with contextlib.suppress(DeployerError):  # a deployed demo stack still runs it
            engine.remove_image(tag)


def labelled(docker_api: docker.APIClient, key: str, value: str) -> list[object]:
    selector = {"label": [f"{key}={value}"]}
    return [
        *docker_api.containers(all=True, filters=selector),
        *docker_api.networks(filters=selector),
        *(docker_api.volumes(filters=selector).get("Volumes") or []),
    ]


def wait_until_gone(docker_api: docker.APIClient, key: str, value: str, seconds: float) -> float:
    started = time.monotonic()
    while labelled(docker_api, key, value):
        assert time.monotonic() - started < seconds, labelled(docker_api, key, value)
        time.sleep(0.25)
    return time.monotonic() - started


def test_throwaway_serves_on_ephemeral_ports_and_leaves_nothing(
    engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    with throwaway(ROOT / "stack.py", engine=engine) as shop:
        assert shop.name.startswith("demo-") and shop.name != "demo"
        url = shop.url("nginx")
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":8080")
        assert shop.url("nginx", 80) == url
        assert urllib.request.urlopen(url + "/").status == 200
        assert [r.replica for r in shop.replicas("web")] == [1, 2]
        code, output = shop.exec("web", ["id", "-u"])
        assert (code, output.strip()) == (0, "10001")
        assert "Booting worker" in shop.logs("web", 2)
        name = shop.name
    assert labelled(docker_api, labels.STACK, name) == []


def test_two_throwaways_of_one_stack_do_not_collide(tmp_path: Path, engine: DockerEngine) -> None:
    (tmp_path / "stack.py").write_text(TINY)  # a fixed host port 8000 in the file
    with (
        throwaway(tmp_path / "stack.py", engine=engine) as one,
        throwaway(tmp_path / "stack.py", engine=engine) as two,
    ):
        assert one.name != two.name
        assert one.url("web") != two.url("web")
        assert urllib.request.urlopen(one.url("web")).status == 200
        assert urllib.request.urlopen(two.url("web")).status == 200


def test_cleanup_after_an_exception_in_the_block(
    tmp_path: Path, engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    (tmp_path / "stack.py").write_text(TINY)
    with pytest.raises(RuntimeError), throwaway(tmp_path / "stack.py", engine=engine) as tiny:
        name = tiny.name
        raise RuntimeError("the test failed")
    assert labelled(docker_api, labels.STACK, name) == []


def test_cleanup_after_up_fails_halfway(
    tmp_path: Path, engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    (tmp_path / "stack.py").write_text(
        TINY.replace('path="/"', 'path="/nowhere"').replace(
            'interval="1s"', 'interval="1s", retries=1'
        )
    )
    before = {c["Names"][0] for c in docker_api.containers(all=True)}
    with (
        pytest.raises(DeployFailed, match="turned unhealthy"),
        throwaway(tmp_path / "stack.py", engine=engine),
    ):
        pass
    after = {c["Names"][0] for c in docker_api.containers(all=True)}
    assert after - before <= {n for n in after if "deployer-reaper-" in n}


def killed_holder(stack_file: Path, reaper: bool, docker_api: docker.APIClient) -> tuple[str, str]:
    """Run a process that holds a throwaway, SIGKILL it; returns the stack's session and name."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from deployer.core import labels
            from deployer.testing import throwaway
            with throwaway({str(stack_file)!r}, reaper={reaper}) as tiny:
                print(tiny.stack.labels[labels.SESSION], tiny.name, flush=True)
                time.sleep(300)
        """)],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert child.stdout is not None
    session, name = child.stdout.readline().split()
    assert labelled(docker_api, labels.SESSION, session)  # the stack is there before the kill
    child.send_signal(signal.SIGKILL)
    child.wait()
    return session, name


def test_reaper_removes_a_killed_sessions_stack(
    tmp_path: Path, docker_api: docker.APIClient
) -> None:
    (tmp_path / "stack.py").write_text(TINY)
    session, _ = killed_holder(tmp_path / "stack.py", True, docker_api)
    took = wait_until_gone(docker_api, labels.SESSION, session, seconds=15)
    assert took < 15


def test_gc_removes_stacks_whose_session_is_gone(
    tmp_path: Path, docker_api: docker.APIClient
) -> None:
    (tmp_path / "stack.py").write_text(TINY)
    _, name = killed_holder(tmp_path / "stack.py", False, docker_api)
    assert labelled(docker_api, labels.STACK, name)  # no reaper: it stays behind
    result = cli("gc")
    assert result.returncode == 0, result.stderr
    assert f"removing throwaway stack {name}" in result.stderr
    assert labelled(docker_api, labels.STACK, name) == []


PLUGIN_TESTS = """
import urllib.request

from deployer.testing import throwaway_fixture

shared = throwaway_fixture("stack.py", scope="module")


def test_fixture(deployer_stack):
    assert urllib.request.urlopen(deployer_stack.url("web")).status == 200


def test_module_scoped_one(shared):
    open("names.txt", "a").write(shared.name + "\\n")


def test_module_scoped_two(shared):
    open("names.txt", "a").write(shared.name + "\\n")
"""


def test_pytest_plugin_fixture_and_factory(
    pytester: pytest.Pytester, docker_api: docker.APIClient
) -> None:
    pytester.makefile(".py", stack=TINY)
    pytester.makepyfile(test_shop=PLUGIN_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    names = (pytester.path / "names.txt").read_text().split()
    assert len(names) == 2 and names[0] == names[1]  # one stack for the module
    assert labelled(docker_api, labels.STACK, names[0]) == []


def test_pytest_plugin_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makefile(".py", stack=TINY)
    pytester.makepyfile(
        test_parallel="""
        import urllib.request

        def test_a(deployer_stack):
            assert urllib.request.urlopen(deployer_stack.url("web")).status == 200

        def test_b(deployer_stack):
            assert urllib.request.urlopen(deployer_stack.url("web")).status == 200
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "2 workers" in result.stdout.str()


def test_the_reaper_refuses_any_filter_but_its_own_session(engine: DockerEngine) -> None:
    session = Reaper.session(engine)
    reaper = next(
        c for c in engine.containers({"label": [f"{labels.REAPER}={session}"]})
        if c.state == "running"
    )  # fmt: skip
    port = reaper.ports[0].host_port
    assert Reaper._current is not None
    token = Reaper._current.token
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(f"{token} label={labels.STACK}=someone-elses-stack\n".encode())
        assert connection.recv(64).startswith(b"ERR")
        # Its own session's filter, without the session's token: refused too.
        connection.sendall(f"label={labels.SESSION}={session}\n".encode())
        assert connection.recv(64).startswith(b"ERR")
        connection.sendall(f"{handshake_line(token, session)}\n".encode())
        assert connection.recv(16) == b"ACK\n"
