"""A Compose file as people write it runs unchanged (tests/integration/compose_app): `.env`
interpolation, a one-shot migration the web service waits for, a secret file owned by the
service's user, a config carrying the app, a read-only root."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import docker

from deployer import api
from tests.integration.conftest import ROOT, cli, engine_verdicts, unique_name

APP = ROOT / "tests" / "integration" / "compose_app"
SECRET = (APP / "db_password.txt").read_text()


def test_compose_app_with_job_secret_and_env_file_comes_up_and_reads_its_secret(
    tmp_path: Path, docker_api: docker.APIClient, cleanup: list[str]
) -> None:
    name = unique_name("capp")
    cleanup.append(name)
    project = tmp_path / "app"
    shutil.copytree(APP, project)
    compose = str(project / "compose.yaml")

    up = cli("-f", compose, "-p", name, "up")
    assert up.returncode == 0, up.stderr
    status = {r.service: r for r in engine_verdicts(name)}
    assert status["migrate"].state == "exited" and status["web"].health == "healthy"
    url = f"http://127.0.0.1:{status['web'].ports[0].host_port}/"
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer == {"secret": SECRET, "schema": "v2", "greeting": "hello from .env"}

    web = docker_api.inspect_container(status["web"].container)
    assert (web["Config"]["Hostname"], web["HostConfig"]["ExtraHosts"]) == (
        "web-host", ["db.internal:10.1.2.3"],
    )  # fmt: skip
    anonymous = [m for m in web["Mounts"] if m["Destination"] == "/var/cache/app"]
    assert anonymous and anonymous[0]["Type"] == "volume"
    # The secret is a file only: not in labels, env, status, plan or config output.
    assert SECRET not in json.dumps(web["Config"]) and SECRET not in json.dumps(web["HostConfig"])
    for command in (["status", "--json"], ["plan"], ["config"]):
        shown = cli("-f", compose, "-p", name, *command)
        assert shown.returncode == 0, shown.stderr
        assert SECRET not in shown.stdout + shown.stderr, command

    # A later up does not run the completed migration again...
    again = cli("-f", compose, "-p", name, "up")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
    # ...and a rotated secret rolls the web service, whose new replica reads the new value.
    (project / "db_password.txt").write_text("rotated")
    plan = cli("-f", compose, "-p", name, "plan")
    assert "config changed: secrets" in plan.stdout, plan.stdout
    rotated = cli("-f", compose, "-p", name, "up")
    assert rotated.returncode == 0, rotated.stderr
    status = {r.service: r for r in api.status(name)}
    url = f"http://127.0.0.1:{status['web'].ports[0].host_port}/"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert json.loads(response.read())["secret"] == "rotated"
    # The replaced container's own volumes went with it.
    assert not docker_api.volumes(filters={"name": anonymous[0]["Name"]})["Volumes"]
