"""What each daily command loads stays pinned: a command pays only for what it uses, and an
import added later cannot quietly bring back a cost (deterministic: module names, not time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer import api, load_stack
from deployer.engine.docker_engine import DockerEngine
from tests.integration.conftest import unique_name

# Never needed by a daily command on one engine: the other targets, test helpers, the Compose
# machinery (the file here is a stack.py), key and password handling.
NOT_DAILY = {
    "deployer.cluster", "deployer.testing", "deployer.swarm", "deployer.targets.swarm",
    "deployer.targets.kubernetes", "deployer.stackfile.compose", "deployer.stackfile.codegen",
    "deployer.stackfile.sources", "deployer.local.keys", "deployer.local.registries",
    "bcrypt", "hypothesis",
}  # fmt: skip
# What only deploying needs: the models (pydantic), the pipeline, images. `status`, `ls` and
# `down --name` read the engine and answer without them.
DEPLOYING = {"pydantic", "deployer.model.spec", "deployer.api", "deployer.images.build"}
# Over a unix socket (the local engine, an ssh:// engine's tunnel) the reads of `ls` and
# `status` are plain HTTP: docker-py and requests load only for what needs them.
DOCKER_PY = {"docker", "requests", "urllib3"}
PINNED = {
    # --help lists every command: `cluster` and `export` are imported for it, nothing heavier.
    ("--help",): NOT_DAILY
    - {"deployer.cluster", "deployer.targets.kubernetes", "deployer.local.registries"}
    | DEPLOYING
    | {"docker", "requests", "rich", "yaml"},
    ("ls",): NOT_DAILY | DEPLOYING | DOCKER_PY | {"yaml", "rich"},
    # The models load here only to read the stack's name from stack.py (`--name` needs none).
    ("status", "--json"): NOT_DAILY
    | DEPLOYING - {"pydantic", "deployer.model.spec"}
    | DOCKER_PY
    | {"yaml", "rich"},
    ("up",): NOT_DAILY | {"yaml", "rich", "deployer.operate"},  # a no-op up
}

_PROBE = """
import contextlib, io, json, sys
from deployer.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, engine: DockerEngine) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("pinned")
    name = unique_name("pin")
    (folder / "stack.py").write_text(
        "from deployer import Service, Stack\n"
        f"stack = Stack(name={name!r}, services=[Service(name='s', init=True,\n"
        "    image='deployer/python:bookworm', command=['sleep', '1000'])])\n"
    )
    api.up(load_stack(folder / "stack.py"), engine)
    yield folder
    api.down(name, engine, stop_timeout=0)


@pytest.mark.parametrize("argv", sorted(PINNED), ids=" ".join)
def test_a_daily_command_loads_nothing_it_does_not_use(
    argv: tuple[str, ...], deployed: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], cwd=deployed, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stderr
    loaded = {
        m for m in result["modules"] if any(m == p or m.startswith(p + ".") for p in PINNED[argv])
    }
    assert not loaded, f"`deployer {' '.join(argv)}` loaded {sorted(loaded)}"


# The fast answer of an unchanged `up`/`plan` (deployer.unchanged): the standard library and
# its own few modules, nothing that parses a command line, a stack or an engine's objects.
FAST = {
    "typer", "click", "pydantic", "yaml", "docker", "requests", "urllib3", "http.client",
    "hashlib", "dataclasses", "deployer.cli.app", "deployer.model.spec", "deployer.core.state",
    "deployer.core.events", "deployer.engine.docker_engine", "deployer.engine.protocol",
}  # fmt: skip


def test_an_unchanged_up_or_plan_answers_from_its_record_loading_nothing_else(
    deployed: Path, tmp_path: Path
) -> None:
    for path in [deployed, *deployed.iterdir()]:  # settled: an up now may leave its record
        os.utime(path, (path.stat().st_atime - 60, path.stat().st_mtime - 60))
    env = {**os.environ, "DEPLOYER_CACHE_DIR": str(tmp_path)}

    def probe(*argv: str, pinned: set[str] = FAST) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, *argv], cwd=deployed, capture_output=True,
            text=True, timeout=120, env=env,
        )  # fmt: skip
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["code"] == 0, done.stderr
        modules: list[str] = result["modules"]
        return {m for m in modules if any(m == p or m.startswith(p + ".") for p in pinned)}

    assert "pydantic" in probe("up")  # the full `up`, which leaves the record
    for argv in (["up"], ["plan"]):
        assert not probe(*argv), f"`deployer {' '.join(argv)}` loaded {sorted(probe(*argv))}"
    # `status` finds the stack's name in the record too: stack.py is not run for it.
    assert not probe("status", "--json", pinned={"pydantic", "deployer.model.spec"})
