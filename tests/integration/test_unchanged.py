"""The fast answer of an unchanged `up`/`plan` (deployer.unchanged), on the real engine: it says
what the full command says, and any change at all (a file, a variable, a container, the lock)
sends the command back to the full pipeline, which then does what the change calls for.

Which way a command went is read from what it imported (`-X importtime`): the full command
loads pydantic to read the stack; the fast answer never does. Deterministic, not timed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from deployer.core import labels
from deployer.deploy.lock import DeployLock
from deployer.engine.docker_engine import DockerEngine
from deployer.unchanged import answer
from tests.integration.conftest import unique_name

SECRET_VALUE = "fast-answer-secret-4e1f"


def settle(folder: Path) -> None:
    """Every file and folder as if written a minute ago: files changed within the last second
    are not trusted by their times (deployer.unchanged.inputs.RACY_NS), so an `up` right after
    writing them would leave no record."""
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            found = path.stat()
            os.utime(path, (found.st_atime - 60, found.st_mtime - 60))


class Project:
    def __init__(self, folder: Path, name: str, cache: Path) -> None:
        self.folder, self.name, self.cache = folder, name, cache
        self.env = {**os.environ, "DEPLOYER_CACHE_DIR": str(cache), "GREETING": SECRET_VALUE}

    def run(self, *args: str) -> tuple[subprocess.CompletedProcess[str], bool]:
        """The command's result, and whether it took the fast answer."""
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "deployer", "-p", self.name, *args],
            cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
        fast = "pydantic" not in loaded
        done.stderr = "\n".join(
            line for line in done.stderr.splitlines() if not line.startswith("import time:")
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done, fast


COMPOSE = """\
services:
  web:
    build: ./web
    command: ["python3", "-c", "import time; time.sleep(1e9)"]
    init: true
    environment:
      GREETING: ${GREETING}
  worker:
    image: deployer/python:bookworm
    command: ["python3", "-c", "import time; time.sleep(1e9)"]
    init: true
"""


@pytest.fixture
def project(tmp_path: Path, engine: DockerEngine) -> Iterator[Project]:
    folder = tmp_path / "app"
    (folder / "web").mkdir(parents=True)
    (folder / "compose.yaml").write_text(COMPOSE)
    (folder / "web" / "Dockerfile").write_text("FROM deployer/python:bookworm\nCOPY . /srv/\n")
    (folder / "web" / "hello.txt").write_text("hello\n")
    settle(folder)
    made = Project(folder, unique_name("fast"), tmp_path / "cache")
    yield made
    down = subprocess.run(
        [sys.executable, "-m", "deployer", "down", "--name", made.name, "-v", "--rmi"],
        env=made.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert down.returncode == 0, down.stderr


def test_an_unchanged_up_is_answered_fast_with_the_full_answer_and_changes_nothing(
    project: Project, docker_api: docker.APIClient
) -> None:
    first, fast = project.run("up")
    assert not fast and "is up and healthy" in first.stdout
    before = docker_api.containers(all=True, filters={"label": f"{labels.STACK}={project.name}"})

    again, fast = project.run("up")
    assert fast, again.stderr
    plan, plan_fast = project.run("plan")
    assert plan_fast and plan.stdout == f"stack {project.name}: nothing to do\n"
    # The full command, made to run by a changed input that changes nothing, says the same.
    (project.folder / "compose.yaml").write_text(COMPOSE)
    settle(project.folder)
    full, fast = project.run("up")
    assert not fast and full.stdout == again.stdout
    assert again.stdout == f"stack {project.name}: nothing to do; every container is healthy\n"
    after = docker_api.containers(all=True, filters={"label": f"{labels.STACK}={project.name}"})
    assert {c["Id"] for c in after} == {c["Id"] for c in before}
    # Neither the record nor anything else deployer keeps holds a variable's value.
    for path in project.cache.rglob("*"):
        assert not path.is_file() or SECRET_VALUE.encode() not in path.read_bytes(), path


CHECKED = """\
services:
  worker:
    image: deployer/python:bookworm
    command: ["python3", "-c", "import time; time.sleep(1e9)"]
    init: true
    healthcheck:
      test: ["CMD", "true"]
      interval: 5s
"""


def test_a_record_made_before_dockers_verdict_answers_as_the_full_command_does_then(
    project: Project, docker_api: docker.APIClient
) -> None:
    """A new replica's healthcheck is run by `up` itself, which says so; the fast answer waits
    for Docker's own verdict, and then says what the full command says: no such note."""
    (project.folder / "compose.yaml").write_text(CHECKED)
    settle(project.folder)
    first, _ = project.run("up")
    assert "passed their healthcheck when deployer ran it" in first.stdout, first.stdout
    selector = {"label": f"{labels.STACK}={project.name}"}
    deadline = time.monotonic() + 60
    while "(healthy)" not in docker_api.containers(filters=selector)[0]["Status"]:
        assert time.monotonic() < deadline, "no verdict from Docker within 60s"
        time.sleep(0.2)
    again, fast = project.run("up")
    assert fast, again.stderr
    (project.folder / "compose.yaml").write_text(CHECKED)
    settle(project.folder)
    full, fast = project.run("up")
    assert not fast and again.stdout == full.stdout
    assert "deployer ran it" not in again.stdout


def test_every_kind_of_change_goes_back_to_the_full_command(
    project: Project, docker_api: docker.APIClient
) -> None:
    project.run("up")
    assert project.run("up")[1]

    # A variable the stack reads: the full command rolls the service it changes.
    project.env["GREETING"] = "changed"
    plan, fast = project.run("plan")
    assert not fast and "web" in plan.stdout and "nothing to do" not in plan.stdout
    project.run("up")
    assert project.run("up")[1]

    # A file made in the build context: a new image, a new container.
    (project.folder / "web" / "more.txt").write_text("more\n")
    settle(project.folder)
    changed, fast = project.run("up")
    assert not fast and "is up and healthy" in changed.stdout
    assert project.run("up")[1]

    # A container stopped behind deployer's back: the full command starts it again.
    web = docker_api.containers(filters={"label": f"{labels.SERVICE}=web",
                                         "name": f"{project.name}-web-1"})[0]  # fmt: skip
    docker_api.stop(web["Id"], timeout=1)
    _, fast = project.run("up")
    assert not fast and docker_api.inspect_container(web["Id"])["State"]["Running"]
    assert project.run("up")[1]

    # The same command line from another folder is another record.
    other = project.folder / "elsewhere"
    other.mkdir()
    (other / "compose.yaml").write_text(COMPOSE)
    (other / "web").symlink_to(project.folder / "web")
    settle(other)
    moved = Project(other, project.name, project.cache)
    moved.env = project.env
    assert not moved.run("plan")[1]


def test_a_deploy_holding_the_lock_is_never_answered_fast(
    project: Project, engine: DockerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.folder)
    for key, value in project.env.items():
        monkeypatch.setenv(key, value)
    project.env = dict(os.environ)  # the record is for the environment this process has
    project.run("up")
    assert project.run("up")[1]
    argv = ["-p", project.name, "up"]
    with DeployLock(project.name, 5, lambda _: None, engine, "up"):
        assert answer.attempt(argv) is None
    assert answer.attempt(argv) == 0


def test_an_image_rebuilt_where_deployer_builds_is_a_change(engine: DockerEngine) -> None:
    """On a swarm, the record also holds the images as they were where deployer built them."""
    assert engine.socket_path is not None
    reference = "deployer/python:bookworm"
    current = engine.image_id(reference)
    assert current is not None
    assert answer._images_where_built(engine.socket_path, {reference: current})
    assert not answer._images_where_built(engine.socket_path, {reference: "sha256:" + "0" * 64})
    assert not answer._images_where_built(engine.socket_path, {"deployer/none:gone": current})
