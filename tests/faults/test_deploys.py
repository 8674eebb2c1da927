"""Deploys that are killed, interrupted, raced or refused while the stack serves under load."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import docker

from deployer import api, load_stack
from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from tests.faults.conftest import Record
from tests.faults.faults import deploy, deployer, stack_file
from tests.integration.conftest import unique_name
from tests.integration.load import Load


def names(docker_api: docker.APIClient, stack: str) -> list[str]:
    listed = docker_api.containers(all=True, filters={"label": [f"{labels.STACK}={stack}"]})
    return sorted(c["Names"][0].lstrip("/") for c in listed)


def canonical(stack: str) -> list[str]:
    return [f"{stack}-nginx-1", f"{stack}-web-1", f"{stack}-web-2"]


def message(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(json.loads(response.read())["message"])


def test_up_killed_mid_rollout_is_finished_by_the_next_up_without_a_failed_request(
    engine: DockerEngine,
    docker_api: docker.APIClient,
    cleanup: list[str],
    tmp_path: Path,
    figures: Record,
) -> None:
    stack, url = deploy(engine, cleanup, "killed")
    path = stack_file(tmp_path, stack.name, "second version")
    with Load(url) as load:
        load.wait_for(200)
        first = deployer("up", "-f", str(path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert first.stderr is not None
        deadline = time.monotonic() + 120
        for line in first.stderr:  # killed as soon as the first successor is healthy
            if "healthy after" in line and f"{stack.name}-web-1-" in line:
                break
            assert time.monotonic() < deadline, "no successor became healthy"
        first.send_signal(signal.SIGKILL)
        first.wait()
        halfway = names(docker_api, stack.name)
        load.wait_for(200)
        repaired = time.monotonic()
        second = deployer("up", "-f", str(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, stderr = second.communicate(timeout=300)
        repair_seconds = time.monotonic() - repaired
        load.wait_for(200)
    figures(
        "up SIGKILLed mid-rollout, then up again",
        requests=load.result.requests, failed=load.failed,
        recovery_seconds=round(repair_seconds, 2),
    )  # fmt: skip
    assert any(n.startswith(f"{stack.name}-web-1-") for n in halfway), halfway  # caught halfway
    assert second.returncode == 0, stderr
    assert load.failed == 0, load.result.failures[:5]
    assert names(docker_api, stack.name) == canonical(stack.name)
    assert message(url) == "second version"
    assert api.plan(load_stack(path), engine).empty


def test_two_ups_at_once_one_waits_for_the_other_and_nothing_is_duplicated(
    engine: DockerEngine,
    docker_api: docker.APIClient,
    cleanup: list[str],
    tmp_path: Path,
    figures: Record,
) -> None:
    stack, url = deploy(engine, cleanup, "race")
    path = stack_file(tmp_path, stack.name, "raced version")
    with Load(url) as load:
        load.wait_for(200)
        started = time.monotonic()
        ups = [
            deployer("up", "-f", str(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outputs = [up.communicate(timeout=300) for up in ups]
        both_seconds = time.monotonic() - started
        load.wait_for(200)
    figures(
        "two ups of the same stack at once",
        requests=load.result.requests, failed=load.failed,
        both_done_seconds=round(both_seconds, 2),
    )  # fmt: skip
    print(*(err for _, err in outputs), sep="\n---\n")  # whole (an assertion's is cut short)
    assert [up.returncode for up in ups] == [0, 0], [err for _, err in outputs]
    waited = [err for _, err in outputs if "waiting for the deploy lock" in err]
    assert len(waited) == 1, [err for _, err in outputs]
    assert load.failed == 0, load.result.failures[:5]
    assert names(docker_api, stack.name) == canonical(stack.name)
    assert message(url) == "raced version"
    assert api.plan(load_stack(path), engine).empty


SLOW = """
name: {name}
services:
  slow:
    image: deployer/python:bookworm
    command: ["sleep", "infinity"]
    init: true
    healthcheck:
      command: "test -f /tmp/ready"
      interval: 1s
      timeout: 1s
      retries: 100
"""


def test_ctrl_c_during_the_health_wait_exits_130_at_once_and_up_repairs(
    tmp_path: Path, docker_api: docker.APIClient, cleanup: list[str], figures: Record
) -> None:
    name = unique_name("sigint")
    cleanup.append(name)
    path = tmp_path / "stack.yaml"
    path.write_text(SLOW.format(name=name))
    up = deployer(
        "up", "-f", str(path), "--timeout", "300", stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    # Running (not just created): `up` has started it and is waiting for its health.
    while not docker_api.containers(
        filters={"label": [f"{labels.STACK}={name}"], "status": ["running"]}
    ):
        assert time.monotonic() < deadline and up.poll() is None, "the container never started"
        time.sleep(0.1)
    interrupted = time.monotonic()
    up.send_signal(signal.SIGINT)
    _, stderr = up.communicate(timeout=30)
    seconds = time.monotonic() - interrupted
    path.write_text(SLOW.format(name=name).replace('"test -f /tmp/ready"', '"true"'))
    again = deployer("up", "-f", str(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, again_err = again.communicate(timeout=300)
    figures("Ctrl-C during up's health wait", exit_seconds=round(seconds, 2))
    assert up.returncode == 130, stderr
    assert seconds < 2.0, f"took {seconds:.1f}s to stop"
    assert "interrupted" in stderr and "run `up` again" in stderr
    assert "Traceback" not in stderr
    assert again.returncode == 0, again_err


def test_a_create_the_engine_refuses_mid_rollout_keeps_the_old_version_serving(
    engine: DockerEngine,
    docker_api: docker.APIClient,
    cleanup: list[str],
    tmp_path: Path,
    figures: Record,
) -> None:
    """Once replica 1's successor exists, a container squats replica 2's successor's name."""
    stack, url = deploy(engine, cleanup, "refused")
    path = stack_file(tmp_path, stack.name, "refused version")
    blockers: list[str] = []
    events = docker_api.events(
        filters={"type": "container", "event": "create", "label": f"{labels.STACK}={stack.name}"},
        decode=True,
    )

    def squat() -> None:
        for event in events:
            created = event["Actor"]["Attributes"]["name"]
            if created.startswith(f"{stack.name}-web-1-"):
                suffix = created.rsplit("-", 1)[1]
                blocker = docker_api.create_container(
                    "deployer/python:bookworm", command=["true"],
                    name=f"{stack.name}-web-2-{suffix}", labels={"test.blocks": stack.name},
                )  # fmt: skip
                blockers.append(blocker["Id"])
                return

    squatter = threading.Thread(target=squat, daemon=True)
    squatter.start()
    try:
        with Load(url) as load:
            load.wait_for(200)
            refused = deployer(
                "up", "-f", str(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            _, stderr = refused.communicate(timeout=300)
            load.wait_for(200)
            serving = message(url)
            for blocker in blockers:
                docker_api.remove_container(blocker, force=True)
            blockers.clear()
            repaired = time.monotonic()
            again = deployer("up", "-f", str(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, again_err = again.communicate(timeout=300)
            repair_seconds = time.monotonic() - repaired
            load.wait_for(200)
    finally:
        events.close()
        for blocker in blockers:
            docker_api.remove_container(blocker, force=True)
    figures(
        "the engine refuses a create mid-rollout (name conflict)",
        requests=load.result.requests, failed=load.failed, exit_code=refused.returncode,
        recovery_seconds=round(repair_seconds, 2),
    )  # fmt: skip
    assert refused.returncode == 6, stderr
    assert "is already in use" in stderr and "Traceback" not in stderr
    assert serving == "Hello from deployer"  # the old version serves on
    assert load.failed == 0, load.result.failures[:5]
    assert again.returncode == 0, again_err
    assert names(docker_api, stack.name) == canonical(stack.name)
    assert message(url) == "refused version"
