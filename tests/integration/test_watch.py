"""`deployer watch` on the real engine: a save syncs into the running replicas, and a change of
the app's source is rebuilt and rolled out start-first under load without a failed request."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.conftest import ROOT, cli, unique_name
from tests.integration.load import Load

SYNCED = """from deployer import Port, Service, Stack, Watch
stack = Stack(name={name!r}, services=(
    Service(name="web", image="deployer/python:bookworm", init=True,
            command=["python3", "-u", "-m", "http.server", "8000", "-d", "/srv"],
            ports=[Port(container=8000)],
            watch=(Watch(path="site", action="sync", target="/srv", initial_sync=True,
                         ignore=("*.swp",)),)),
))
"""
ACTIONS = """from deployer import Port, Service, Stack, Watch, WatchExec
stack = Stack(name={name!r}, services=(
    Service(name="web", image="deployer/python:bookworm", init=True,
            command=["python3", "-u", "-m", "http.server", "8000", "-d", "/srv"],
            ports=[Port(container=8000)],
            watch=(
                Watch(path="conf", action="sync+restart", target="/conf"),
                Watch(path="hooks", action="sync+exec", target="/hooks",
                      exec=WatchExec(command=("cp", "/hooks/page.html", "/srv/hooked.html"))),
                Watch(path="bump", action="restart"),
            )),
))
"""
REBUILT = """from pathlib import Path
from deployer import Port, Watch, load_stack
stack = (
    load_stack(Path(__file__).parent / "stack.py").model_copy(update={{"name": {name!r}}})
    .with_service("nginx", ports=[Port(container=80)])
    .with_service("web", watch=(Watch(path="app", action="rebuild", ignore=("wheelhouse/",)),))
)
"""


def _url(name: str, service: str, cwd: Path) -> str:
    shown = cli("status", "--name", name, "--json", cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    for row in json.loads(shown.stdout)["replicas"]:
        if row["service"] == service and row["ports"]:
            return f"http://127.0.0.1:{row['ports'][0]['host_port']}"
    raise AssertionError(f"{service} publishes no port: {shown.stdout}")


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError as error:
        return f"error: {error}"


def _until(condition: object, limit: float, what: str) -> float:
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - started > limit:
            pytest.fail(f"{what}: not within {limit:.0f}s")
        time.sleep(0.1)
    return time.monotonic() - started


def _watching(stack_file: Path) -> subprocess.Popen[str]:
    """`deployer watch --no-up`, once it says it is watching."""
    process = subprocess.Popen(
        [sys.executable, "-m", "deployer", "-f", str(stack_file), "watch", "--no-up"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=stack_file.parent,
        env=dict(os.environ),
    )  # fmt: skip
    stream = process.stderr
    assert stream is not None
    for line in stream:
        if "watching" in line:
            # Keep reading what it says (a build says a lot): a full pipe would stall it.
            threading.Thread(target=lambda: SAID.extend(stream), daemon=True).start()
            return process
    raise AssertionError(f"watch ended before watching: {process.wait()}")


SAID: list[str] = []  # what the watcher printed after it began watching


def _interrupt(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("watch did not end on Ctrl-C:\n" + "".join(SAID[-40:])) from None
    finally:
        process.kill()


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = unique_name("watch")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("v1")
    (tmp_path / "stack.py").write_text(SYNCED.format(name=name))
    up = cli("up", cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    yield name, tmp_path
    cli("down", "--name", name, cwd=tmp_path)


def test_sync_copies_saves_into_the_replicas_and_removes_deleted_files(
    synced: tuple[str, Path],
) -> None:
    name, folder = synced
    url = _url(name, "web", folder)
    watcher = _watching(folder / "stack.py")
    try:
        (folder / "site" / "index.html").write_text("v2")
        (folder / "site" / "extra.html").write_text("extra")
        (folder / "site" / "notes.swp").write_text("ignored")
        _until(lambda: _get(url + "/") == "v2", 30, "the saved page served")
        _until(lambda: _get(url + "/extra.html") == "extra", 30, "the new page served")
        assert "404" in _get(url + "/notes.swp")  # an ignored file is not synced
        (folder / "site" / "extra.html").unlink()
        _until(lambda: "404" in _get(url + "/extra.html"), 30, "the deleted page gone")
    finally:
        code = _interrupt(watcher)
    assert code == 0  # Ctrl-C ends the loop, exit 0


def test_a_rebuild_rolls_out_under_load_without_a_failed_request(
    tmp_path: Path, cleanup: list[str]
) -> None:
    name = unique_name("watch")
    cleanup.append(name)
    for part in ("stack.py", "nginx"):
        source = ROOT / part
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, tmp_path / part)
    shutil.copytree(ROOT / "app", tmp_path / "app")
    (tmp_path / "watched.py").write_text(REBUILT.format(name=name))
    up = cli("-f", "watched.py", "up", cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    url = _url(name, "nginx", tmp_path) + "/"
    watcher = _watching(tmp_path / "watched.py")
    try:
        with Load(url, clients=4) as load:
            load.wait_for(50)
            source = tmp_path / "app" / "app.py"
            answer = '"host": hostname}'
            assert answer in source.read_text()
            source.write_text(source.read_text().replace(answer, '"host": hostname, "v": 2}'))
            seconds = _until(lambda: '"v":2' in _get(url).replace(" ", ""), 240,
                             "the new version served")  # fmt: skip
            _until(lambda: any("web: rebuild done" in line for line in SAID), 240,
                   "the rollout finished")  # fmt: skip
            load.wait_for(50)
        print(f"save to new response: {seconds:.1f}s; {load.result.requests} requests, "
              f"{load.failed} failed")  # fmt: skip
        assert load.failed == 0, load.result.failures[:5]
        # A save that breaks the app: its successor never turns healthy, the old version keeps
        # serving, and watch says why and goes on watching.
        with Load(url, clients=4) as broken_load:
            broken_load.wait_for(20)
            source.write_text(source.read_text() + "\nthis is not python\n")
            _until(lambda: any("web: rebuild failed" in line for line in SAID), 240,
                   "the failed rebuild reported")  # fmt: skip
            broken_load.wait_for(20)
        assert '"v":2' in _get(url).replace(" ", "")
        assert broken_load.failed == 0, broken_load.result.failures[:5]
    finally:
        assert _interrupt(watcher) == 0


def test_restart_and_exec_rules_act_on_the_running_replicas(
    tmp_path: Path, cleanup: list[str], docker_api: docker.APIClient
) -> None:
    name = unique_name("watch")
    cleanup.append(name)
    for folder in ("conf", "hooks", "bump"):
        (tmp_path / folder).mkdir()
    (tmp_path / "stack.py").write_text(ACTIONS.format(name=name))
    up = cli("up", cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    container = f"{name}-web-1"

    def started() -> str:
        return str(docker_api.inspect_container(container)["State"]["StartedAt"])

    watcher = _watching(tmp_path / "stack.py")
    try:
        first = started()
        (tmp_path / "conf" / "app.ini").write_text("level=debug")
        _until(lambda: started() != first, 60, "the replica restarted after the sync")
        code, output = _exec(docker_api, container, ["cat", "/conf/app.ini"])
        assert (code, output) == (0, "level=debug")
        (tmp_path / "hooks" / "page.html").write_text("hooked")
        url = _url(name, "web", tmp_path)  # a restart takes a new ephemeral host port
        _until(lambda: _get(url + "/hooked.html") == "hooked", 60, "the exec rule's copy served")
        second = started()
        (tmp_path / "bump" / "now").write_text("1")
        _until(lambda: started() != second, 60, "the replica restarted")
    finally:
        assert _interrupt(watcher) == 0


def _exec(docker_api: docker.APIClient, container: str, command: list[str]) -> tuple[int, str]:
    created = docker_api.exec_create(container, command)
    output = docker_api.exec_start(created["Id"]).decode()
    return int(docker_api.exec_inspect(created["Id"])["ExitCode"]), output
