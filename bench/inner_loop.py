"""The inner loop: from saving the app's source to the new response, under load, with
`deployer watch` rebuilding and rolling the service out start-first behind nginx.

Deploys a copy of the default stack whose web service has one watch rule (rebuild on app/),
starts `deployer watch`, runs wrk against nginx, and in each round edits the app's message;
times each save until nginx serves the new message, waits for the rollout to finish, and counts
failed requests over the whole run (non-2xx, and every socket error). Writes
bench/results/inner_loop.json and exits non-zero if any request failed.

    .venv/bin/python bench/inner_loop.py [--rounds 3] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
from bench.rollout_under_load import parse_wrk
from bench.stack_copy import write_default_stack

NAME = "bench-inner-loop"
DEPLOYER = [sys.executable, "-m", "deployer"]
WATCHED = """\
from pathlib import Path

from deployer import Watch, load_stack

stack = load_stack(Path(__file__).parent / "stack.py").with_service(
    "web", watch=(Watch(path="app", action="rebuild", ignore=("wheelhouse/", "__pycache__/")),)
)
"""


def message(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(json.loads(response.read())["message"])
    except (OSError, ValueError, KeyError):
        return ""


def until(condition: object, limit: float, what: str) -> float:
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - started > limit:
            raise SystemExit(f"{what}: not within {limit:.0f}s")
        time.sleep(0.05)
    return time.monotonic() - started


def front_door(folder: Path) -> str:
    shown = subprocess.run([*DEPLOYER, "status", "--name", NAME, "--json"], cwd=folder,
                           capture_output=True, text=True, check=True)  # fmt: skip
    for row in json.loads(shown.stdout)["replicas"]:
        if row["service"] == "nginx" and row["ports"]:
            return f"http://127.0.0.1:{row['ports'][0]['host_port']}/"
    raise SystemExit("nginx publishes no port")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    smoke.add_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        write_default_stack(folder, NAME, app_message="version 0")
        (folder / "watched.py").write_text(WATCHED)
        env = dict(os.environ)
        subprocess.run([*DEPLOYER, "-f", "watched.py", "up"], cwd=folder, env=env, check=True,
                       capture_output=True)  # fmt: skip
        try:
            figures = measure(folder, args.rounds, args.connections)
        finally:
            subprocess.run([*DEPLOYER, "down", "--name", NAME], cwd=folder, capture_output=True)
    figures["measured"] = datetime.now(UTC).isoformat(timespec="seconds")
    path = smoke.results_dir(args.smoke) / "inner_loop.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 1 if figures["failed"] else 0


def measure(folder: Path, rounds: int, connections: int) -> dict[str, object]:
    url = front_door(folder)
    watcher = subprocess.Popen([*DEPLOYER, "-f", "watched.py", "watch", "--no-up"], cwd=folder,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    said: list[str] = []
    assert watcher.stderr is not None
    stream = watcher.stderr
    for line in stream:
        if "watching" in line:
            break
    threading.Thread(target=lambda: said.extend(stream), daemon=True).start()
    # Load until every round is done (wrk prints its figures when interrupted).
    wrk = subprocess.Popen(["wrk", "-t2", f"-c{connections}", "-d600s", "--timeout", "10s", url],
                           stdout=subprocess.PIPE, text=True)  # fmt: skip
    to_new: list[float] = []
    try:
        app = folder / "app" / "app.py"
        for round_ in range(1, rounds + 1):
            time.sleep(1)  # load before the save (wrk is running: this is the workload's pace)
            done_before = sum("web: rebuild done" in line for line in said)
            old, new = f'"version {round_ - 1}"', f'"version {round_}"'
            app.write_text(app.read_text().replace(old, new))
            served = new.strip('"')
            to_new.append(until(lambda: message(url) == served, 240, "the new version"))  # noqa: B023
            until(lambda: sum("web: rebuild done" in line for line in said) > done_before,  # noqa: B023
                  240, "the rollout")  # fmt: skip
        time.sleep(1)  # load past the last rollout too
        wrk.send_signal(signal.SIGINT)
        output, _ = wrk.communicate(timeout=30)
    finally:
        wrk.kill()
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=30)
    load = parse_wrk(output)
    failed = int(sum(load[key] for key in ("non_2xx_3xx", "socket_connect", "socket_read",
                                             "socket_write", "socket_timeout")))  # fmt: skip
    return {
        "rounds": rounds,
        "save_to_new_response_s": {
            "median": round(statistics.median(to_new), 2),
            "all": [round(value, 2) for value in to_new],
        },
        "requests": int(load.get("requests", 0)),
        "failed": failed,
        "watch_exit_code": watcher.returncode,
    }


if __name__ == "__main__":
    sys.exit(main())
