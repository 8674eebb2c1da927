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

Prints medians with their range and the ratio deployer / Compose, and writes
bench/results/cli_latency.json (a smoke run: bench/.cache/smoke).

    .venv/bin/python bench/cli_latency.py [--rounds 7] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
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
            order = list(tools) if round_ % 2 == 0 else list(tools)[::-1]
            for command in COMMANDS:
                for tool in order:
                    times[tool][command].append(timed(tools[tool][command]))
            print(f"{name} round {round_ + 1}: " + "  ".join(
                f"{c} {times['deployer'][c][-1]:.2f}/{times['compose'][c][-1]:.2f}"
                for c in COMMANDS
            ), flush=True)  # fmt: skip
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
    }


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
            "default": write_compose(load_stack(ROOT / "stack.py"), folder),
            f"{plain}_services": plain_services(folder, plain),
        }
        measured = {name: measure(path, name.replace("_", "-"), args.rounds)
                    for name, path in files.items()}  # fmt: skip
    result = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": "2 cores",
        "rounds": args.rounds,
        "compose": binary().name,
        "python_start_floor": interpreter_floor(args.rounds),
        "files": measured,
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
    floor = result["python_start_floor"]
    assert isinstance(floor, dict)
    print(f"\nthe interpreter alone (python -c pass): {floor['median_s']:.3f}s")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
