"""The published port's path: docker's userland proxy vs its iptables path, side by side.

The default stack's nginx is published on 127.0.0.1. By default dockerd runs a docker-proxy
process per published port that copies every byte between the client and the container; with
`dockerd --userland-proxy=false` the kernel forwards the connection (iptables DNAT) instead.
That is a setting of the engine, not of a stack, so this bench restarts dockerd: it stops the
engine, starts it with the proxy off, measures, and starts it again as scripts/host-setup does,
alternating (off, on) for each round. Every running container on the engine stops with it: pass
`--restart-engine` to say that is fine.

Each measurement is bench/serving_breakdown.py's accounted baseline (wrk -t2 -c100 through nginx,
CPU per request by part of the chain). Writes the figures into
bench/results/serving-breakdown.json under "published port".

    .venv/bin/python bench/userland_proxy.py --restart-engine [--rounds 3] [--duration 8]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
from bench.serving_breakdown import measure
from deployer import EngineUnavailable, api, load_stack

ROOT = Path(__file__).parents[1]
LOG = Path("/var/log/deployer-dockerd.log")


def _stop_engine() -> None:
    pids = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout
    if not pids.split():
        raise SystemExit("no dockerd process to restart (is the engine managed elsewhere?)")
    pid = int(pids.split()[0])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            raise SystemExit("dockerd did not stop within 60 s")
        time.sleep(0.1)


def start_engine(userland_proxy: bool) -> None:
    """dockerd again, with or without its userland proxy; returns once it answers."""
    _stop_engine()
    if userland_proxy:  # the way every other part of the project starts it
        subprocess.run([str(ROOT / "scripts" / "host-setup")], check=True, timeout=180)
        return
    # Detached as scripts/host-setup detaches it: not this process's child, so it is reaped.
    subprocess.run(
        ["sh", "-c", f"nohup dockerd --userland-proxy=false >>{LOG} 2>&1 </dev/null &"],
        check=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            api.connect().ping()
            return
        except EngineUnavailable:  # not answering yet
            if time.monotonic() > deadline:
                raise SystemExit(f"dockerd did not answer within 60 s; see {LOG}") from None
            time.sleep(0.2)


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [run["requests_per_s"] for run in runs]
    parts = sorted({part for run in runs for part in run["cpu_us_per_request"]})
    return {
        "requests_per_s": {"median": statistics.median(rates), "runs": rates},
        "p99_ms_median": statistics.median(run["p99_ms"] for run in runs),
        "cpu_us_per_request_median": {
            part: statistics.median(run["cpu_us_per_request"].get(part, 0.0) for run in runs)
            for part in parts
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--restart-engine", action="store_true", help="allow dockerd restarts")
    smoke.add_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.duration = 1, 2
    if not args.restart_engine:
        print("this bench restarts dockerd (every container on it stops): pass --restart-engine")
        return 64
    if os.geteuid() != 0:
        print("restarting dockerd needs root")
        return 77
    stack = load_stack(ROOT / "stack.py")
    labels = {False: "iptables (dockerd --userland-proxy=false)", True: "docker-proxy (default)"}
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    proxy_off = False
    try:
        with tempfile.TemporaryDirectory() as folder:
            for round_ in range(args.rounds):
                for userland in (False, True):
                    proxy_off = not userland  # (set first: a failed start leaves no engine)
                    start_engine(userland)
                    figures = measure(stack, args.duration, Path(folder))
                    runs[userland].append(figures)
                    print(
                        f"round {round_ + 1} {labels[userland]}: "
                        f"{figures['requests_per_s']:.0f} req/s, p99 {figures['p99_ms']:.0f} ms",
                        flush=True,
                    )
    finally:
        if proxy_off:  # a failure mid-run: leave the engine as it was found
            start_engine(True)
    summary = {labels[userland]: _summary(found) for userland, found in runs.items()}
    off, on = (summary[labels[u]]["requests_per_s"]["median"] for u in (False, True))
    print(f"iptables path / docker-proxy: {off / on:.2f}x requests/s")
    path = smoke.results_dir(args.smoke) / "serving-breakdown.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["published port"] = {
        "load": f"wrk -t2 -c100 -d{args.duration}s, alternating, {args.rounds} rounds",
        **summary,
        "iptables_over_docker_proxy": round(off / on, 3),
    }
    results.pop("not measured", None)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
