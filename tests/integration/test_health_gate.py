"""The health gate, read from the engine's own event log: a dependant starts only after its
dependency's healthcheck command has passed (deployer probes it early, through exec, rather
than wait for the engine's first interval), however long that takes."""

from __future__ import annotations

import time
from pathlib import Path

import docker

from tests.integration.conftest import cli, engine_verdicts, unique_name

READY_AFTER = 4  # seconds before the dependency's healthcheck can pass

STACK = """
name: {name}
services:
  slow:
    image: deployer/python:bookworm
    command: ["sh", "-c", "sleep {ready}; touch /tmp/ready; exec sleep infinity"]
    init: true
    healthcheck:
      command: "test -f /tmp/ready"
      interval: 1s
      timeout: 1s
      retries: 30
  app:
    image: deployer/python:bookworm
    command: ["sleep", "infinity"]
    init: true
    depends_on:
      - service: slow
        condition: healthy
"""


def test_a_dependant_starts_only_after_its_dependency_turned_healthy(
    tmp_path: Path, docker_api: docker.APIClient, cleanup: list[str]
) -> None:
    name = unique_name("gate")
    cleanup.append(name)
    path = tmp_path / "stack.yaml"
    path.write_text(STACK.format(name=name, ready=READY_AFTER))
    since = int(time.time()) - 1
    up = cli("up", "-f", str(path))
    assert up.returncode == 0, up.stderr
    engine_verdicts(name)  # `up` went on its early probe; the engine's own check follows
    events = docker_api.events(
        since=since, until=int(time.time()) + 1, decode=True,
        filters={"type": "container", "label": f"io.deployer.stack={name}"},
    )  # fmt: skip
    seen: dict[tuple[str, str], int] = {}
    for event in events:
        who = event["Actor"]["Attributes"]["io.deployer.service"]
        seen.setdefault((who, event["Action"]), event["timeNano"])
    slow_started = seen[("slow", "start")]
    slow_healthy = seen[("slow", "health_status: healthy")]
    app_started = seen[("app", "start")]
    print(f"app started {(app_started - slow_started) / 1e9:.2f}s after slow; the engine "
          f"called slow healthy after {(slow_healthy - slow_started) / 1e9:.2f}s")  # fmt: skip
    # The healthcheck can pass only READY_AFTER seconds in: deployer's own probe (early) or the
    # engine's, whichever passes first, lets the dependant go; never before.
    assert app_started - slow_started >= READY_AFTER * 1e9
    assert slow_healthy - slow_started >= READY_AFTER * 1e9
