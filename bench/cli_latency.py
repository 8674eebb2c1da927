"""The daily commands' latency: deployer's CLI vs Docker Compose v2 on the same Compose files.

Two files, each run by both tools under their own project names: the default stack written for
Compose (two web replicas behind nginx, health-gated), and 40 plain services (no healthcheck).
For each file, every round times each command once per tool, the tools' order alternating from
round to round, so that drift hits both alike:

| deployer | docker compose |
|---|---|
| `--help` | `--help` |
| `ls` | `ls` |
| `status` | `ps` |
| `plan` (nothing to do) | `--dry-run up -d` |
| `up` (nothing to do) | `up -d` |
| `logs --tail 10` | `logs --tail 10` |
| `down`, then `up` | `down`, then `up -d --wait` |

An unchanged `up` or `plan` is answered from the record the last full `up` left
(deployer.unchanged); each round starts once both tools' containers have Docker's first health
verdict (until then, deployer's `up` runs the healthchecks itself, in full); the files are
written "a minute ago" (their times set back), as files a
user edits then deploys are, so that the first `up` leaves its record (a file changed within the
last second is not trusted by its times).

Also measured, in the same run:
- each command's fixed start-up: the same command with no engine to reach (DOCKER_HOST names a
  socket that does not exist), so it stops at its first engine request, exit 3 (`--help`: its
  whole run). For `up` and `plan` that is the full pipeline's start-up (the stack file loaded
  into the models), which a changed stack pays; an unchanged one is answered fast (above).
- the swarm no-op, deployer's `--target swarm up` against `docker stack deploy` on the same file
  of plain services (bench/swarm_noop.py, on the local test cluster).

Prints medians with their range and the ratio deployer / Compose, and writes
bench/results/cli_latency.json (a smoke run: bench/.cache/smoke).

    .venv/bin/python bench/cli_latency.py [--rounds 7] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke, swarm_noop
from bench.compose import binary
from bench.lifecycle import summary, timed, write_compose
from deployer import load_stack

ROOT = Path(__file__).parents[1]
PLAIN_SERVICES = 40
COMMANDS = ["help", "ls", "status", "plan", "noop_up", "logs", "down", "up"]


def plain_services(folder: Path, count: int) -> Path:
    """A Compose file of `count` services that only sleep: the engine's work is small, so the
    tools' own cost shows."""
    body = {
        f"s{index:02d}": {
            "image": "deployer/python:bookworm",
            "command": ["python3", "-c", "import time; time.sleep(1e9)"],
            "init": True,
            # The engine's own bridge: removing a network that 40 containers just left hits a
            # known engine bug now and then (moby/moby#42119, "has active endpoints"), under
            # either tool; the tools' cost is what this file measures.
            "network_mode": "bridge",
        }
        for index in range(count)
    }
    path = folder / "plain.yaml"
    path.write_text(json.dumps({"services": body}, indent=2))
    return path


def commands(tool: str, path: Path, project: str) -> dict[str, list[str]]:
    if tool == "deployer":
        base = [sys.executable, "-m", "deployer"]
        stack = [*base, "-f", str(path), "-p", project]
        return {
            "help": [*base, "--help"], "ls": [*base, "ls"], "status": [*stack, "status"],
            "plan": [*stack, "plan"], "noop_up": [*stack, "up"],
            "logs": [*stack, "logs", "--tail", "10"], "down": [*stack, "down"],
            "up": [*stack, "up"],
        }  # fmt: skip
    compose = str(binary())
    stack = [compose, "-f", str(path), "-p", project]
    return {
        "help": [compose, "--help"], "ls": [compose, "ls"], "status": [*stack, "ps"],
        "plan": [compose, "--dry-run", "-f", str(path), "-p", project, "up", "-d"],
        "noop_up": [*stack, "up", "-d"], "logs": [*stack, "logs", "--tail", "10"],
        "down": [*stack, "down"], "up": [*stack, "up", "-d", "--wait"],
    }  # fmt: skip


def measure(path: Path, name: str, rounds: int) -> dict[str, object]:
    tools = {
        "deployer": commands("deployer", path, f"bench-cl-{name}-d"),
        "compose": commands("compose", path, f"bench-cl-{name}-c"),
    }
    times: dict[str, dict[str, list[float]]] = {t: {c: [] for c in COMMANDS} for t in tools}
    try:
        for tool in tools:  # both deployed before the first round
            timed(tools[tool]["up"])
        for round_ in range(rounds):
            # A settled stack: Docker has given every healthcheck its first verdict (right
            # after a deploy, deployer's `up` runs the healthchecks itself: the full command).
            for project in (f"bench-cl-{name}-d", f"bench-cl-{name}-c"):
                wait_settled(project)
            order = list(tools) if round_ % 2 == 0 else list(tools)[::-1]
            for command in COMMANDS:
                for tool in order:
                    times[tool][command].append(timed(tools[tool][command]))
            print(f"{name} round {round_ + 1}: " + "  ".join(
                f"{c} {times['deployer'][c][-1]:.2f}/{times['compose'][c][-1]:.2f}"
                for c in COMMANDS
            ), flush=True)  # fmt: skip
        wait_settled(f"bench-cl-{name}-d")
        fast = fast_answer(tools["deployer"]["noop_up"])
    finally:
        for tool in tools:
            subprocess.run(tools[tool]["down"], capture_output=True, timeout=300)
    return {
        "deployer": {c: summary(times["deployer"][c]) for c in COMMANDS},
        "compose": {c: summary(times["compose"][c]) for c in COMMANDS},
        "ratio_deployer_over_compose": {
            c: round(
                statistics.median(times["deployer"][c]) / statistics.median(times["compose"][c]),
                2,
            )
            for c in COMMANDS
        },
        "all": times,
        "noop_answered_fast": fast,
    }


def fast_answer(argv: list[str]) -> bool:
    """Whether a settled no-op `up` takes the fast answer (the models never load); if not, the
    figures under its name measured the full pipeline."""
    # -X rather than PYTHONPROFILEIMPORTTIME: a variable more is another environment, which
    # the record rightly does not answer.
    python, *rest = argv
    done = subprocess.run(
        [python, "-X", "importtime", *rest], capture_output=True, text=True, timeout=120
    )
    return done.returncode == 0 and not re.search(r"\|\s+pydantic$", done.stderr, re.MULTILINE)


NO_ENGINE = "unix:///nonexistent/deployer-bench/docker.sock"
TARGET_STARTUP_S = 0.15


def startup(path: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Each command's fixed cost: run with no engine to reach, it stops at its first request."""
    env = {**os.environ, "DOCKER_HOST": NO_ENGINE}
    times: dict[str, list[float]] = {c: [] for c in COMMANDS if c != "up"}
    for _ in range(rounds):
        for command, argv in commands("deployer", path, "bench-cl-startup").items():
            if command not in times:
                continue
            started = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
            times[command].append(time.perf_counter() - started)
            expected = 0 if command == "help" else 3  # 3: no engine
            if done.returncode != expected:
                raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}\n{done.stderr}")
    return {command: summary(values) for command, values in times.items()}


def settled(path: Path) -> Path:
    """`path`, the files beside it (an nginx.conf it mounts) and its folder as if written a
    minute ago: a file written within the last second leaves no record of an `up` (racy)."""
    for each in [*path.parent.iterdir(), path.parent]:
        found = each.stat()
        os.utime(each, (found.st_atime - 60, found.st_mtime - 60))
    return path


def wait_settled(project: str, limit: float = 120) -> None:
    """Until no container of the project (either tool's labels) waits for its first health
    verdict."""
    deadline = time.monotonic() + limit
    for label in (f"io.deployer.stack={project}", f"com.docker.compose.project={project}"):
        while "(health: starting)" in subprocess.run(
            ["docker", "ps", "--filter", f"label={label}", "--format", "{{.Status}}"],
            capture_output=True, text=True, timeout=60,
        ).stdout:  # fmt: skip
            if time.monotonic() > deadline:
                raise SystemExit(f"{project}: still starting after {limit:.0f}s")
            time.sleep(0.2)


def interpreter_floor(rounds: int) -> dict[str, float]:
    """What any Python command pays before it does anything: the interpreter's own start."""
    return summary([timed([sys.executable, "-c", "pass"]) for _ in range(max(rounds, 3))])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    smoke.add_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    plain = 4 if args.smoke else PLAIN_SERVICES
    # As an installed package has it (pip compiles on install): with PYTHONDONTWRITEBYTECODE
    # set, a checkout's changed modules would otherwise be compiled again on every command.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "deployer")], check=True)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        files = {
            "default": settled(write_compose(load_stack(ROOT / "stack.py"), folder)),
            f"{plain}_services": settled(plain_services(folder, plain)),
        }
        measured = {name: measure(path, name.replace("_", "-"), args.rounds)
                    for name, path in files.items()}  # fmt: skip
        started_up = startup(files["default"], args.rounds)
        on_swarm = swarm_noop.measure(args.rounds, 4 if args.smoke else swarm_noop.SERVICES, folder)
    result = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": "2 cores",
        "rounds": args.rounds,
        "compose": binary().name,
        "python_start_floor": interpreter_floor(args.rounds),
        "files": measured,
        "startup_no_engine": started_up,
        "swarm_noop": on_swarm,
    }
    path = smoke.results_dir(args.smoke) / "cli_latency.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    for name, figures in measured.items():
        print(f"\n{name}: median seconds, deployer vs compose (ratio)")
        deployer, compose = figures["deployer"], figures["compose"]
        ratio = figures["ratio_deployer_over_compose"]
        assert isinstance(deployer, dict) and isinstance(compose, dict)
        assert isinstance(ratio, dict)
        for command in COMMANDS:
            print(f"  {command:<8} {deployer[command]['median_s']:6.3f}  "
                  f"{compose[command]['median_s']:6.3f}  ({ratio[command]:.2f}x)")  # fmt: skip
    print(f"\nfixed start-up (no engine to reach; target {TARGET_STARTUP_S}s): median seconds")
    for command, startup_figures in started_up.items():
        median = startup_figures["median_s"]
        print(f"  {command:<8} {median:6.3f}  {'ok' if median <= TARGET_STARTUP_S else 'over'}")
    print(f"\nswarm no-op, {on_swarm['services']} services: deployer "
          f"{on_swarm['deployer']['median_s']:.3f}s, docker stack deploy "
          f"{on_swarm['docker_stack']['median_s']:.3f}s "
          f"({on_swarm['ratio_deployer_over_docker_stack']:.2f}x)")  # fmt: skip
    floor = result["python_start_floor"]
    assert isinstance(floor, dict)
    print(f"\nthe interpreter alone (python -c pass): {floor['median_s']:.3f}s")
    print(f"wrote {path}")
    checks = {
        f"{name}: a settled no-op up took the fast answer": figures["noop_answered_fast"] is True
        for name, figures in measured.items()
    }
    for check, held in checks.items():
        print(f"{'ok' if held else 'FAILED'}: {check}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
