"""The serving path, side by side: seed 000's configuration vs deployer's default stack.

(a) examples/production: seed 000 as written: gunicorn + gevent with 9 workers, the seed's
    nginx.conf (no upstream keep-alive), its pinned versions and limits (2 CPUs, 1 GB).
(b) stack.py: deployer's default stack.
Each is deployed with deployer (throwaway copies, ephemeral ports), loaded through its nginx URL
with wrk at the same settings, and taken down before the next. Prints requests/s, p50 and p99
latency, non-2xx and socket errors, and the ratio (b)/(a); writes bench/results/serving.json
and, when matplotlib is installed, bench/results/serving.png.

    .venv/bin/python bench/serving.py [--duration 15]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from deployer.testing import throwaway

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "bench" / "results"
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for label, stack_file in STACKS.items():
        with throwaway(stack_file) as stack:
            url = stack.url("nginx") + "/"
            wrk(url, ["-t2", "-c50"], 3)  # warm-up, not counted
            results[label] = {load: wrk(url, options, args.duration) for load, options in LOADS}
    columns = ["req/s", "p50 ms", "p99 ms", "non-2xx", "sock err"]
    print(f"{'':<10} {'load':<10} " + " ".join(f"{c:>9}" for c in columns))
    keys = ["requests_per_s", "p50_ms", "p99_ms", "non_2xx", "socket_errors"]
    for label, loads in results.items():
        for load, figures in loads.items():
            cells = " ".join(f"{figures[k]:>9.0f}" if k != "p50_ms" and k != "p99_ms"
                             else f"{figures[k]:>9.2f}" for k in keys)  # fmt: skip
            print(f"{label:<10} {load:<10} {cells}")
    ratios = {
        load: results["deployer"][load]["requests_per_s"]
        / results["seed 000"][load]["requests_per_s"]
        for load, _ in LOADS
    }
    for load, ratio in ratios.items():
        print(f"ratio deployer / seed 000 at {load}: {ratio:.2f}x requests/s (target >= 3x)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serving.json").write_text(
        json.dumps({"duration_s": args.duration, "results": results, "ratios": ratios}, indent=2)
        + "\n"
    )
    chart(results)
    # The target, at 400 connections: 3x the requests/s, a lower p99, no socket error.
    ours, seed = results["deployer"]["t12-c400"], results["seed 000"]["t12-c400"]
    met = ratios["t12-c400"] >= 3 and ours["p99_ms"] < seed["p99_ms"] and ours["socket_errors"] == 0
    print(f"target at 400 connections (>= 3x req/s, lower p99, no socket errors): "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    return 0 if met else 1


def chart(results: dict[str, dict[str, dict[str, float]]]) -> None:
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
    figure.savefig(RESULTS / "serving.png", dpi=100)


if __name__ == "__main__":
    sys.exit(main())
