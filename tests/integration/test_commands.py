"""The daily commands on a real engine: logs, exec, run, up SERVICE, ls, restart under load."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import docker
import pytest

from deployer import api
from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from tests.integration.conftest import (
    ROOT,
    cli,
    default_stack_copy,
    engine_verdicts,
    stack_file,
    unique_name,
)
from tests.integration.load import Load


@pytest.fixture
def deployed(engine: DockerEngine, cleanup: list[str]) -> tuple[str, api.Deployment]:
    name = unique_name("cmd")
    cleanup.append(name)
    return name, api.up(default_stack_copy(name), engine)


class _Lines:
    """A subprocess's stdout, read line by line in the background."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deployer", *args], cwd=ROOT, env=dict(os.environ),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, needle: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if needle in line:
                return line
        return None

    def stop(self) -> int:
        self.process.send_signal(2)  # Ctrl-C
        return self.process.wait(timeout=10)


def test_logs_follow_shows_a_new_access_line_within_two_seconds_and_new_replicas(
    deployed: tuple[str, api.Deployment], engine: DockerEngine, tmp_path: Path
) -> None:
    name, deployment = deployed
    follower = _Lines("logs", "-f", "--name", name, "web", "nginx", "--tail", "5")
    try:
        assert follower.wait_for(f"{name}-web-", timeout=20), "no backlog from the replicas"
        request_id = uuid.uuid4().hex
        request = urllib.request.Request(deployment.url(), headers={"X-Request-ID": request_id})
        sent = time.monotonic()
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        # nginx's access log (the stack's one) is written from its buffer once a second.
        line = follower.wait_for(request_id, timeout=2.0)
        assert line is not None, "nginx's access log line did not appear within 2 s"
        print(f"logs -f: line after {time.monotonic() - sent:.2f}s")
        assert line.startswith(f"{name}-nginx-")
        # A rollout's successors appear under their own names while both run.
        changed = default_stack_copy(name)
        web = changed.service("web").model_copy(update={"env": {"APP_MESSAGE": "v2"}})
        api.up(changed.model_copy(update={"services": (web, changed.service("nginx"))}), engine)
        assert follower.wait_for(f"{name}-web-1-", timeout=30), "successor's lines never showed"
    finally:
        assert follower.stop() == 0  # Ctrl-C ends a follow cleanly


def test_exec_propagates_exit_codes_output_and_stdin(deployed: tuple[str, api.Deployment]) -> None:
    name, _ = deployed
    failed = cli("exec", "--name", name, "-T", "web", "--", "sh", "-c", "echo out; exit 7")
    assert failed.returncode == 7
    assert failed.stdout == "out\n"
    uid = cli("exec", "--name", name, "--index", "2", "-T", "web", "--", "id", "-u")
    assert (uid.returncode, uid.stdout) == (0, "10001\n")
    piped = subprocess.run(
        [sys.executable, "-m", "deployer", "exec", "--name", name, "web", "--", "cat"],
        input="through stdin\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert (piped.returncode, piped.stdout) == (0, "through stdin\n")
    missing = cli("exec", "--name", name, "--index", "9", "web", "--", "true")
    assert missing.returncode == 7
    assert "replica 9 of web" in missing.stderr


def test_run_rm_is_a_one_off_that_leaves_nothing(
    deployed: tuple[str, api.Deployment], tmp_path: Path, docker_api: docker.APIClient
) -> None:
    name, _ = deployed
    path = stack_file(tmp_path, name)
    script = "import os; print('one-off', os.environ['EXTRA']); raise SystemExit(3)"
    result = cli("run", "--rm", "-f", str(path), "-e", "EXTRA=yes", "web", "--",
                 "python3", "-c", script)  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert result.stdout == "one-off yes\n"
    one_offs = docker_api.containers(all=True, filters={"label": [labels.ONE_OFF]})
    assert [c for c in one_offs if c["Labels"].get(labels.STACK) == name] == []
    # Not a replica: status and the plan never saw it.
    assert len([r for r in api.status(name) if r.service == "web"]) == 2
    kept = cli("run", "--no-deps", "-f", str(path), "web", "--", "true")
    assert kept.returncode == 0
    left = docker_api.containers(all=True, filters={"label": [f"{labels.ONE_OFF}=web"]})
    assert [c["Names"][0] for c in left if c["Labels"].get(labels.STACK) == name]
    assert api.plan(default_stack_copy(name)).empty  # a kept one-off is still no replica
    api.down(name)
    left = docker_api.containers(all=True, filters={"label": [f"{labels.STACK}={name}"]})
    assert left == []  # down takes one-offs along


def test_up_of_one_service_leaves_the_others_untouched(
    deployed: tuple[str, api.Deployment], tmp_path: Path
) -> None:
    name, _ = deployed
    nginx_before = {r.id for r in api.status(name) if r.service == "nginx"}
    web_before = {r.id for r in api.status(name) if r.service == "web"}
    path = stack_file(tmp_path, name)
    result = cli("up", "-f", str(path), "web", "--force-recreate", "--no-build")
    assert result.returncode == 0, result.stderr
    after = engine_verdicts(name)  # the CLI's `up` went on its own early probes
    assert {r.id for r in after if r.service == "nginx"} == nginx_before
    assert {r.id for r in after if r.service == "web"}.isdisjoint(web_before)


def test_forced_recreation_twice_in_a_row_keeps_every_route(
    deployed: tuple[str, api.Deployment], tmp_path: Path
) -> None:
    # The second forced successor has the same config hash as the replica it replaces, which
    # was created under that successor's name: once their sockets shared a path, and removing
    # the old replica took the new one's socket with it (nginx: "no live upstreams").
    name, _ = deployed
    path = stack_file(tmp_path, name)
    for _ in range(2):
        result = cli("up", "-f", str(path), "--force-recreate", "--no-build")
        assert result.returncode == 0, result.stderr
    rows = engine_verdicts(name)
    assert {(r.health, r.problem) for r in rows} == {("healthy", "")}


def test_ls_lists_every_stack(
    deployed: tuple[str, api.Deployment], engine: DockerEngine, cleanup: list[str]
) -> None:
    first, _ = deployed
    second = unique_name("cmd")
    cleanup.append(second)
    api.up(default_stack_copy(second), engine)
    for name in (first, second):
        engine_verdicts(name)  # `ls` counts what the engine calls healthy
    result = cli("ls", "--json")
    assert result.returncode == 0
    answer = json.loads(result.stdout)
    assert (answer["schema_version"], answer["target"]) == (2, "engine")
    listed = {s["name"]: s for s in answer["stacks"]}
    for name in (first, second):
        assert listed[name]["services"]["web"] == {"running": 2, "healthy": 2, "replicas": 2}
        assert listed[name]["ports"]
    table = cli("ls").stdout
    assert first in table and second in table


def test_restart_under_load_fails_no_request(
    deployed: tuple[str, api.Deployment], tmp_path: Path
) -> None:
    name, deployment = deployed
    web_ids = {r.id for r in api.status(name) if r.service == "web"}
    with Load(deployment.url() + "/", clients=8) as load:
        deadline = time.monotonic() + 10
        while load.result.requests < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        result = cli("restart", "-f", str(stack_file(tmp_path, name)), "web")
        assert result.returncode == 0, result.stderr
        settled = load.result.requests
        while load.result.requests < settled + 200 and time.monotonic() < deadline + 60:
            time.sleep(0.05)
    print(f"restart under load: {load.result.requests} requests, "
          f"{len(load.result.failures)} failed")  # fmt: skip
    assert load.result.requests > 400
    assert load.result.failures == []
    after = engine_verdicts(name)
    assert {r.id for r in after if r.service == "web"} == web_ids  # same containers, restarted
    assert all(not r.problem for r in after)
    assert "restarted 2 container(s)" in result.stdout


def test_stop_then_start(deployed: tuple[str, api.Deployment], tmp_path: Path) -> None:
    name, _ = deployed
    stopped = cli("stop", "--name", name, "nginx")
    assert stopped.returncode == 0
    assert [r.state for r in api.status(name) if r.service == "nginx"] == ["exited"]
    started = cli("start", "--name", name)
    assert started.returncode == 0, started.stderr
    assert all(r.state == "running" for r in api.status(name))


def test_status_stats_reads_cpu_and_memory_from_the_engine(
    deployed: tuple[str, api.Deployment],
) -> None:
    name, _ = deployed
    result = cli("status", "--name", name, "--stats", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["replicas"]
    assert len(rows) == 3
    for row in rows:
        stats = row["stats"]
        assert stats["memory_bytes"] > 1_000_000  # a running gunicorn or nginx uses megabytes
        assert stats["memory_limit_bytes"] in {256 * 2**20, 128 * 2**20}  # the stack's limits
        assert stats["cpu_percent"] >= 0
    table = cli("status", "--name", name, "--stats").stdout
    assert "CPU" in table and "MiB" in table
