"""A rolling update of the web image under continuous load: did any request fail?

Deploys the default stack, builds a second web image (a one-line change to the app), then runs
wrk against nginx and rolls the new image out halfway through. Prints the request and error
counts, writes bench/results/rollout_under_load.json, and exits non-zero if any request failed
(non-2xx, or any socket error: connect, read, write, timeout).

    .venv/bin/python bench/rollout_under_load.py [--connections 32] [--duration 40]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
from bench.stack_copy import write_default_stack
from deployer import api, load_stack
from deployer.images.build import prepare

ROOT = Path(__file__).parents[1]
NAME = "bench-rollout"


def parse_wrk(output: str) -> dict[str, float]:
    def number(pattern: str) -> float:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else 0.0

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    connect, read, write, timeout = (int(g) for g in errors.groups()) if errors else (0, 0, 0, 0)
    return {
        "requests": number(r"(\d+) requests in"),
        "requests_per_s": number(r"Requests/sec:\s+([\d.]+)"),
        "non_2xx_3xx": number(r"Non-2xx or 3xx responses: (\d+)"),
        "socket_connect": connect,
        "socket_read": read,
        "socket_write": write,
        "socket_timeout": timeout,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=40, help="seconds of load")
    smoke.add_option(parser)
    args = parser.parse_args()
    if args.smoke:  # long enough for the rollout to finish inside the load
        args.connections, args.duration = 4, 25
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        v1 = load_stack(write_default_stack(Path(first), NAME, "version one"))
        v2 = load_stack(write_default_stack(Path(second), NAME, "version two"))
        try:
            api.up(v1, report=print)
            prepare(api.connect(), v2, lambda _: None)  # build v2 before the clock starts
            nginx = next(r for r in api.status(NAME) if r.service == "nginx")
            url = f"http://127.0.0.1:{nginx.ports[0].host_port}/"
            wrk = subprocess.Popen(
                ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "10s",
                 "--latency", url],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            time.sleep(5)
            started = time.monotonic()
            rollout = api.up(v2, report=print)
            rollout_seconds = time.monotonic() - started
            output, _ = wrk.communicate(timeout=args.duration + 30)
            finished_in_window = 5 + rollout_seconds < args.duration
            served = urllib_get(url)
        finally:
            api.down(NAME, stop_timeout=1, remove_images=True)
    figures = parse_wrk(output)
    failed = sum(v for k, v in figures.items() if k.startswith(("non_", "socket_")))
    result = {
        **figures,
        "failed": failed,
        "connections": args.connections,
        "duration_s": args.duration,
        "rollout_s": round(rollout_seconds, 2),
        "rollout_actions": [a.text() for a in rollout.plan.actions],
        "rollout_inside_load_window": finished_in_window,
        "served_after": served,
    }
    (smoke.results_dir(args.smoke) / "rollout_under_load.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )
    print(output)
    print(f"rollout of a new web image under load: {rollout_seconds:.1f}s, "
          f"{int(figures['requests'])} requests, {int(figures['non_2xx_3xx'])} non-2xx, "
          f"socket errors connect {int(figures['socket_connect'])} read "
          f"{int(figures['socket_read'])} write {int(figures['socket_write'])} timeout "
          f"{int(figures['socket_timeout'])}; after it: {served}")  # fmt: skip
    if not finished_in_window:
        print("the rollout outlasted the load: raise --duration")
        return 2
    return 0 if failed == 0 and "version two" in served else 1


def urllib_get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


if __name__ == "__main__":
    sys.exit(main())
