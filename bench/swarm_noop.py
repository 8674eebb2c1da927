"""A no-op deploy on the local test Swarm: deployer's CLI (`--target swarm up`) against
`docker stack deploy`, on the same Compose file of plain services, interleaved.

Part of bench/cli_latency.py (its "swarm" figures); it forms the test cluster when none runs
(`cluster up`) and leaves it as it found it. Both tools deploy once before the first round, so
every timed run finds nothing to change. `docker stack deploy` reads the image deployer pushed
to the cluster's registry (`--resolve-image never`: the nodes have it), logged in from a
throwaway Docker config folder that is removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.lifecycle import summary, timed
from deployer.cluster import lifecycle
from deployer.cluster.options import ClusterOptions
from deployer.core.events import quiet
from deployer.engine.docker_engine import DockerEngine
from deployer.local import registries
from deployer.model.errors import NotFound

IMAGE = "deployer/python:bookworm"
SERVICES = 10  # 40 services' tasks keep this 2-core host's three nodes busy for minutes


def _run(command: list[str], env: dict[str, str], stdin: str | None = None) -> float:
    return timed(command, env, stdin, timeout=600)  # a swarm's first deploy pushes images


def _plain(count: int, image: str) -> dict[str, Any]:
    return {
        "services": {
            f"s{index:02d}": {
                "image": image, "init": True,
                "command": ["python3", "-c", "import time; time.sleep(1e9)"],
            }
            for index in range(count)
        }
    }  # fmt: skip


def _all_running(env: dict[str, str], stack: str) -> bool:
    """Every service of `stack` runs all its replicas ("1/1"), as `docker service ls` says."""
    listed = subprocess.run(
        ["docker", "service", "ls", "--filter", f"name={stack}_", "--format", "{{.Replicas}}"],
        env=env, capture_output=True, text=True, timeout=60,
    ).stdout.split()  # fmt: skip
    return bool(listed) and all(a == b for a, _, b in (r.partition("/") for r in listed))


def _wait_running(env: dict[str, str], stack: str, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while not _all_running(env, stack):
        if time.monotonic() > deadline:
            raise SystemExit(f"{stack}: its tasks did not all run within {limit:.0f}s")
        time.sleep(0.5)


def measure(rounds: int, services: int, folder: Path) -> dict[str, Any]:
    engine = DockerEngine()
    try:
        was_running = bool(lifecycle.status(engine).nodes)
    except NotFound:
        was_running = False
    cluster = lifecycle.up(ClusterOptions(), engine, quiet)
    env = {**os.environ, **cluster.environment()}
    env.pop("DEPLOYER_FILE", None)
    ours, theirs = "bench-cl-swarm-d", "bench-cl-swarm-c"
    plain = folder / "swarm-plain.yaml"
    plain.write_text(json.dumps(_plain(services, IMAGE), indent=2))
    for each in (plain, folder):  # written "a minute ago", as cli_latency's files
        found = each.stat()
        os.utime(each, (found.st_atime - 60, found.st_mtime - 60))
    deployer = [sys.executable, "-m", "deployer", "-f", str(plain), "-p", ours]
    docker_config = Path(tempfile.mkdtemp(prefix="bench-docker-config-"))
    docker_env = {**env, "DOCKER_CONFIG": str(docker_config)}
    times: dict[str, list[float]] = {"deployer": [], "docker_stack": []}
    try:
        _run([*deployer, "up"], env)  # builds nothing; pushes the base image once
        pushed = subprocess.run(
            ["docker", "service", "inspect", f"{ours}_s00", "--format",
             "{{.Spec.TaskTemplate.ContainerSpec.Image}}"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        kept = registries.credentials(cluster.registry) or {}
        _run(["docker", "login", "-u", kept.get("username", ""), "--password-stdin",
              cluster.registry], docker_env, stdin=kept.get("password", ""))  # fmt: skip
        stack_file = folder / "swarm-stack.yaml"
        stack_file.write_text(json.dumps(_plain(services, pushed), indent=2))
        docker = ["docker", "stack", "deploy", "--with-registry-auth", "--resolve-image",
                  "never", "-c", str(stack_file), theirs]  # fmt: skip
        _run(docker, docker_env)
        # Each round then finds a settled swarm: every task of both stacks running.
        _wait_running(env, ours)
        _wait_running(env, theirs)
        _run([*deployer, "up"], env)  # the record of a swarm whose every task runs
        tools = {"deployer": ([*deployer, "up"], env), "docker_stack": (docker, docker_env)}
        for round_ in range(rounds):
            order = list(tools) if round_ % 2 == 0 else list(tools)[::-1]
            for tool in order:
                command, tool_env = tools[tool]
                times[tool].append(_run(command, tool_env))
            print(f"swarm round {round_ + 1}: deployer {times['deployer'][-1]:.2f} "
                  f"docker stack {times['docker_stack'][-1]:.2f}", flush=True)  # fmt: skip
    finally:
        subprocess.run([*deployer, "down"], env=env, capture_output=True, timeout=600)
        subprocess.run(["docker", "stack", "rm", theirs], env=docker_env, capture_output=True,
                       timeout=600)  # fmt: skip
        shutil.rmtree(docker_config, ignore_errors=True)
        if not was_running:
            lifecycle.down(engine, quiet)
    medians = {tool: statistics.median(values) for tool, values in times.items()}
    return {
        "services": services,
        "deployer": summary(times["deployer"]),
        "docker_stack": summary(times["docker_stack"]),
        "ratio_deployer_over_docker_stack": round(medians["deployer"] / medians["docker_stack"], 2),
        "all": times,
    }
