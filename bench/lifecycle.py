"""Bringing a stack up and down: deployer vs Docker Compose on the same Compose file.

The file: the default stack written for Compose (two web replicas + nginx, health-gated, images
present; nginx reaches the replicas by the service's DNS name, so the one file serves both
tools). Each round runs, alternating the tools so that drift hits both alike:

- cold `up` to healthy: `deployer -f compose.yaml up` vs `docker compose up -d --wait`;
- no-op `up`: the same again, nothing changed;
- `down`;
- and, deployer only, a throwaway of the default stack (`deployer.testing.throwaway`: up,
  one request through nginx, down), which integration suites pay per test.

Prints medians with their spread (min-max) and the ratios, and writes
bench/results/lifecycle.json.

    .venv/bin/python bench/lifecycle.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
from bench.compose import binary
from bench.noop_up import compose_service
from deployer import api, load_stack
from deployer.images.build import prepare
from deployer.model.spec import Stack
from deployer.targets.engine.desired import DesiredStack
from deployer.testing import throwaway
from deployer.testing.reaper import Reaper

ROOT = Path(__file__).parents[1]
PHASES = ("cold_up", "noop_up", "down")


def write_compose(stack: Stack, folder: Path) -> Path:
    """The default stack as a Compose file both tools run unchanged."""
    images = prepare(api.connect(), stack, lambda _: None)
    desired = DesiredStack(stack, images)
    services = {}
    for service in stack.services:
        body = compose_service(service, images[service.name].reference)
        if service.proxy:
            upstream = stack.service(service.proxy.upstream)
            tcp = service.model_copy(
                update={"proxy": service.proxy.model_copy(update={"transport": "tcp"})}
            )
            # One upstream name that resolves to every replica under either tool.
            config = desired.proxy_config(tcp, [(1, upstream.name)])
            (folder / "nginx.conf").write_text(config)
            body["volumes"] = [f"{folder / 'nginx.conf'}:/etc/nginx/nginx.conf:ro"]
            body["ports"] = ["127.0.0.1::80"]
            body["depends_on"] = {
                d.service: {"condition": f"service_{d.condition}"} for d in service.depends_on
            }
        services[service.name] = body
    path = folder / "compose.yaml"
    path.write_text(json.dumps({"services": services}, indent=2))
    return path


def timed(
    command: list[str],
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 300,
) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        command, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(values), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
    }


def throwaway_runs(stack: Stack, runs: int) -> list[float]:
    engine = api.connect()
    Reaper.session(engine)  # once per test session, as a suite would
    totals = []
    for _ in range(runs):
        started = time.perf_counter()
        with (
            throwaway(stack, engine=engine) as shop,
            urllib.request.urlopen(shop.url("nginx") + "/", timeout=10) as response,
        ):
            assert response.status == 200
        totals.append(time.perf_counter() - started)
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    smoke.add_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    compose = str(binary())
    python = sys.executable
    stack = load_stack(ROOT / "stack.py")
    times: dict[str, dict[str, list[float]]] = {
        tool: {phase: [] for phase in PHASES} for tool in ("deployer", "compose")
    }
    with tempfile.TemporaryDirectory() as folder:
        path = str(write_compose(stack, Path(folder)))
        commands = {
            "deployer": {
                "cold_up": [python, "-m", "deployer", "-f", path, "-p", "bench-lc-d", "up"],
                "noop_up": [python, "-m", "deployer", "-f", path, "-p", "bench-lc-d", "up"],
                "down": [python, "-m", "deployer", "-f", path, "-p", "bench-lc-d", "down"],
            },
            "compose": {
                "cold_up": [compose, "-f", path, "-p", "bench-lc-c", "up", "-d", "--wait"],
                "noop_up": [compose, "-f", path, "-p", "bench-lc-c", "up", "-d", "--wait"],
                "down": [compose, "-f", path, "-p", "bench-lc-c", "down"],
            },
        }
        try:
            for round_ in range(args.runs):
                order = ("deployer", "compose") if round_ % 2 == 0 else ("compose", "deployer")
                for tool in order:
                    for phase in PHASES:
                        times[tool][phase].append(timed(commands[tool][phase]))
                print(f"round {round_ + 1}: " + "  ".join(
                    f"{tool} " + " ".join(f"{p} {times[tool][p][-1]:.2f}" for p in PHASES)
                    for tool in ("deployer", "compose")
                ))  # fmt: skip
        finally:
            subprocess.run(commands["compose"]["down"], capture_output=True)
            api.down("bench-lc-d", stop_timeout=1)
    throwaway_totals = throwaway_runs(stack, args.runs)
    result: dict[str, object] = {
        "runs": args.runs,
        "compose": binary().name,
        "file": "the default stack as a Compose file (2 web replicas + nginx, health-gated)",
        "deployer": {phase: summary(times["deployer"][phase]) for phase in PHASES},
        "compose_v2": {phase: summary(times["compose"][phase]) for phase in PHASES},
        "ratio_deployer_over_compose": {
            phase: round(
                statistics.median(times["deployer"][phase])
                / statistics.median(times["compose"][phase]),
                3,
            )
            for phase in PHASES
        },
        "throwaway_default_stack": summary(throwaway_totals),
        "targets": {"cold_up": 0.7, "down": 0.5, "throwaway_s": 2.0},
        "all": times,
    }
    results = smoke.results_dir(args.smoke)
    (results / "lifecycle.json").write_text(json.dumps(result, indent=2) + "\n")
    ratios = result["ratio_deployer_over_compose"]
    assert isinstance(ratios, dict)
    for phase in PHASES:
        d, c = summary(times["deployer"][phase]), summary(times["compose"][phase])
        print(f"{phase:8} deployer {d['median_s']:.2f}s ({d['min_s']:.2f}-{d['max_s']:.2f})  "
              f"compose {c['median_s']:.2f}s ({c['min_s']:.2f}-{c['max_s']:.2f})  "
              f"ratio {ratios[phase]:.2f}")  # fmt: skip
    t = summary(throwaway_totals)
    print(
        f"throwaway of the default stack: {t['median_s']:.2f}s ({t['min_s']:.2f}-{t['max_s']:.2f})"
    )
    print(f"wrote {results / 'lifecycle.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
