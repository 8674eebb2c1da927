"""A throwaway of the default stack, end to end: up, healthy, one request through nginx, down.

Runs it several times (warm images; the reaper is started once, before the first run, as in a
test session) and prints each phase and the median. Target: well under five seconds.

    .venv/bin/python bench/throwaway_lifecycle.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
from deployer import api, load_stack
from deployer.testing import throwaway
from deployer.testing.reaper import Reaper

ROOT = Path(__file__).parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    smoke.add_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    engine = api.connect()
    stack = load_stack(ROOT / "stack.py")
    started = time.perf_counter()
    Reaper.session(engine)
    reaper_s = time.perf_counter() - started
    print(f"reaper started in {reaper_s:.2f}s (once per test session)")
    runs = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        with throwaway(stack, engine=engine) as shop:
            t1 = time.perf_counter()
            with urllib.request.urlopen(shop.url("nginx") + "/", timeout=10) as response:
                assert response.status == 200
            t2 = time.perf_counter()
        t3 = time.perf_counter()
        run = {"up_s": t1 - t0, "request_s": t2 - t1, "down_s": t3 - t2, "total_s": t3 - t0}
        runs.append(run)
        print("  ".join(f"{k} {v:.3f}" for k, v in run.items()))
    median = statistics.median(r["total_s"] for r in runs)
    result = {
        "runs": args.runs,
        "reaper_start_s": round(reaper_s, 3),
        "median_total_s": round(median, 3),
        "median_up_s": round(statistics.median(r["up_s"] for r in runs), 3),
        "median_down_s": round(statistics.median(r["down_s"] for r in runs), 3),
        "all": [{k: round(v, 3) for k, v in r.items()} for r in runs],
    }
    results = smoke.results_dir(args.smoke)
    (results / "throwaway_lifecycle.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"throwaway lifecycle, median of {args.runs}: {median:.2f}s (target: well under 5s)")
    return 0 if median < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
