"""The fast answer of an unchanged `up` on the swarm (deployer.unchanged): a CLI `up` leaves
its record, the next `up` and `plan` answer from one look at the manager, and a service changed
behind deployer's back sends `up` back to the full pipeline, which puts it back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from deployer.cluster import lifecycle
from deployer.engine.protocol import SwarmEngine
from tests.integration.conftest import unique_name
from tests.integration.test_unchanged import Project, settle


def _replicas(manager: SwarmEngine, service: str) -> int:
    (found,) = [s for s in manager.services({"name": [service]}) if s.name == service]
    return int(found.spec["Mode"]["Replicated"]["Replicas"])


def test_an_unchanged_up_on_the_swarm_is_answered_fast_until_a_service_changes(
    tmp_path: Path, manager: SwarmEngine, cluster: lifecycle.Cluster
) -> None:
    folder = tmp_path / "app"
    folder.mkdir()
    sleep = ["python3", "-c", "import time; time.sleep(1e9)"]
    services = {
        name: {"image": "deployer/python:bookworm", "init": True, "command": sleep}
        for name in ("a", "b")
    }  # fmt: skip
    (folder / "compose.yaml").write_text(json.dumps({"services": services}))
    settle(folder)
    project = Project(folder, unique_name("swfast"), tmp_path / "cache")
    project.env.update(cluster.environment())
    try:
        first, fast = project.run("up")
        assert not fast and "on the swarm" in first.stdout
        again, fast = project.run("up")
        assert fast and again.stdout == (
            f"stack {project.name}: nothing to do on the swarm; every task is healthy\n"
        )
        plan, fast = project.run("plan")
        assert fast and plan.stdout == f"stack {project.name}: nothing to do\n"

        service = f"{project.name}_a"
        subprocess.run(["docker", "service", "scale", "--detach", f"{service}=2"],
                       env=project.env, check=True, capture_output=True)  # fmt: skip
        assert _replicas(manager, service) == 2
        _, fast = project.run("up")
        assert not fast and _replicas(manager, service) == 1  # the full `up` put it back
        assert project.run("up")[1]
    finally:
        project.run("down")
