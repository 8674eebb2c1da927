"""The serving path, side by side: seed 000's configuration vs deployer's default stack.

(a) examples/production: seed 000 as written: gunicorn + gevent with 9 workers, the seed's
    nginx.conf (no upstream keep-alive), its pinned versions and limits (2 CPUs, 1 GB).
(b) stack.py: deployer's default stack.
Each is deployed with deployer (throwaway copies, ephemeral 127.0.0.1 ports) and loaded through
its nginx with wrk at the same settings, then taken down before the next. The two alternate,
A B A B A B, and each figure is the median of the three runs with their spread, so one noisy
minute cannot decide the ratio. Ceiling probes put the result in proportion: nginx alone
(its own /nginx-health, through the same published port) and one gunicorn replica without nginx
(its port published for the probe).

Prints requests/s, p50 and p99 latency, non-2xx and socket errors, and the ratios (b)/(a);
writes bench/results/serving.json and, when matplotlib is installed, bench/results/serving.png.

    .venv/bin/python bench/serving.py [--duration 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
from deployer import load_stack
from deployer.model.spec import Port
from deployer.testing import throwaway

ROOT = Path(__file__).parents[1]
STACKS = {"seed 000": ROOT / "examples/production/stack.py", "deployer": ROOT / "stack.py"}
LOADS = [("t2-c100", ["-t2", "-c100"]), ("t12-c400", ["-t12", "-c400"])]
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(url: str, options: list[str], seconds: int) -> dict[str, float]:
    command = ["wrk", *options, f"-d{seconds}s", "--latency", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def latency(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")

    errors = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    counts = [int(g) for g in errors.groups()] if errors else [0, 0, 0, 0]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return {
        "requests_per_s": float(rps.group(1)) if rps else 0.0,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(counts),
        "timeouts": counts[3],
    }


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    summary = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    rates = [run["requests_per_s"] for run in runs]
    return {**summary, "requests_per_s_min": min(rates), "requests_per_s_max": max(rates)}


def ceilings(seconds: int) -> dict[str, dict[str, float]]:
    """The chain's parts alone, at 100 connections: nginx answering by itself, and one
    gunicorn replica reached without nginx."""
    stack = load_stack(STACKS["deployer"])
    probe = stack.with_service("web", ports=(Port(container=8000),))
    with throwaway(probe, fast_probes=False) as shop:
        found = {
            "nginx alone (/nginx-health)": shop.url("nginx") + "/nginx-health",
            "one gunicorn replica, no nginx (/)": shop.url("web") + "/",
        }
        for url in found.values():
            wrk(url, ["-t2", "-c50"], 2)  # warm-up, not counted
        return {name: wrk(url, ["-t2", "-c100"], seconds) for name, url in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    smoke.add_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.duration = 1, 2
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    runs: dict[str, dict[str, list[dict[str, float]]]] = {
        label: {load: [] for load, _ in LOADS} for label in STACKS
    }
    for round_ in range(args.rounds):
        for label, stack_file in STACKS.items():  # A, B; then A, B again
            with throwaway(stack_file, fast_probes=False) as stack:
                url = stack.url("nginx") + "/"
                wrk(url, ["-t2", "-c50"], 3)  # warm-up, not counted
                for load, options in LOADS:
                    runs[label][load].append(wrk(url, options, args.duration))
            print(f"round {round_ + 1} {label:<9} " + "  ".join(
                f"{load} {runs[label][load][-1]['requests_per_s']:.0f} req/s "
                f"p99 {runs[label][load][-1]['p99_ms']:.0f} ms" for load, _ in LOADS
            ), flush=True)  # fmt: skip
    results = {
        label: {load: _median(r) for load, r in loads.items()} for label, loads in runs.items()
    }
    limits = ceilings(args.duration)
    columns = ["req/s", "min", "max", "p50 ms", "p99 ms", "non-2xx", "sock err"]
    print(f"{'':<10} {'load':<10} " + " ".join(f"{c:>9}" for c in columns))
    keys = ["requests_per_s", "requests_per_s_min", "requests_per_s_max", "p50_ms", "p99_ms",
            "non_2xx", "socket_errors"]  # fmt: skip
    for label, loads in results.items():
        for load, figures in loads.items():
            cells = " ".join(f"{figures[k]:>9.1f}" if k.startswith("p") else f"{figures[k]:>9.0f}"
                             for k in keys)  # fmt: skip
            print(f"{label:<10} {load:<10} {cells}")
    for name, figures in limits.items():
        print(f"ceiling: {name}: {figures['requests_per_s']:.0f} req/s, "
              f"p99 {figures['p99_ms']:.1f} ms")  # fmt: skip
    ratios = {
        load: results["deployer"][load]["requests_per_s"]
        / results["seed 000"][load]["requests_per_s"]
        for load, _ in LOADS
    }
    replica = limits["one gunicorn replica, no nginx (/)"]["requests_per_s"]
    fraction = results["deployer"]["t2-c100"]["requests_per_s"] / (2 * replica)
    for load, ratio in ratios.items():
        print(f"ratio deployer / seed 000 at {load}: {ratio:.2f}x requests/s")
    print(f"deployer at c100 = {fraction:.2f} of two replicas' ceiling without nginx")
    ours, seed = results["deployer"], results["seed 000"]
    goal = {
        "c100: >= 3x the seed's requests/s": ratios["t2-c100"] >= 3,
        "c100: p99 below the seed's": ours["t2-c100"]["p99_ms"] < seed["t2-c100"]["p99_ms"],
        "c400: no socket error": ours["t12-c400"]["socket_errors"] == 0,
        "c400: no non-2xx": ours["t12-c400"]["non_2xx"] == 0,
    }
    for name, met in goal.items():
        print(f"goal {name}: {'met' if met else 'NOT met'}")
    results_dir = smoke.results_dir(args.smoke)
    (results_dir / "serving.json").write_text(json.dumps({
        "duration_s": args.duration, "rounds": args.rounds, "order": "A B A B A B (seed, ours)",
        "median_of_rounds": results, "all_runs": runs, "ratios": ratios, "ceilings": limits,
        "fraction_of_two_replicas_ceiling_at_c100": round(fraction, 3), "goal": goal,
    }, indent=2) + "\n")  # fmt: skip
    chart(results, results_dir)
    return 0 if all(goal.values()) or args.smoke else 1  # smoke: that it runs, not its figures


def chart(results: dict[str, dict[str, dict[str, float]]], folder: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no chart: pip install matplotlib)")
        return
    loads = [load for load, _ in LOADS]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.38
    for index, (label, loads_of) in enumerate(results.items()):
        xs = [i + (index - 0.5) * width for i in range(len(loads))]
        left.bar(xs, [loads_of[x]["requests_per_s"] for x in loads], width, label=label)
        right.bar(xs, [loads_of[x]["p99_ms"] for x in loads], width, label=label)
    for axis, title in (
        (left, "requests/s (higher is better)"),
        (right, "p99 latency ms (lower is better)"),
    ):
        axis.set_xticks(range(len(loads)), [f"wrk -{x.replace('-', ' -')}" for x in loads])
        axis.set_title(title)
        axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "serving.png", dpi=100)


if __name__ == "__main__":
    sys.exit(main())
