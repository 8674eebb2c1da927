"""The default stack on a server reached over ssh:// (a dockerd + sshd container here, sshd at
its defaults, MaxSessions 10 among them): which transport, and what a server costs.

One run, each figure measured here and written to bench/results/remote.json:
- the transports, side by side on the same server: deployer's (one OpenSSH tunnel it starts
  itself), docker-py's paramiko (ssh://, one SSH session per pooled connection) and docker-py's
  ssh client (`use_ssh_client`, one `ssh ... docker system dial-stdio` per connection). For each:
  a no-op `up` of the default stack in-process (median), the failures among those runs, and
  whether `exec` gets a plain socket (what `exec -it` pumps);
- a cold `up` onto the fresh server through the CLI (base images loaded from the archive made
  once here, the app built there), then no-op `up`s through the CLI (median, spread);
- a rolling update under load: load through `deployer tunnel` (127.0.0.1 here only).

paramiko is not one of deployer's dependencies: it is put in bench/.cache/paramiko for the
measuring subprocess alone (docker-py loads it with `import docker` when it is importable).

    .venv/bin/python bench/remote.py [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from bench import smoke  # noqa: E402
from deployer.engine.docker_engine import DockerEngine  # noqa: E402
from tests.integration.load import Load  # noqa: E402
from tests.remote.server import Server, start_server, stop_server  # noqa: E402

PARAMIKO = ROOT / "bench" / ".cache" / "paramiko"
NAME = "bench-remote"

# Run in a subprocess per transport: a no-op `up` of the default stack (already deployed) with
# the engine's HTTP client swapped for the transport's, and an exec's raw socket.
_MEASURE = """
import json, socket, statistics, sys, time
import docker
from deployer import api
from deployer.core.events import quiet
from deployer.engine.docker_engine import API_VERSION, DockerEngine
from deployer.stackfile.load import load

transport, address, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
started = time.monotonic()
if transport == "tunnel":
    engine = DockerEngine(base_url=address)
else:
    client = docker.APIClient(base_url=address, version=API_VERSION, timeout=60,
                              use_ssh_client=transport == "ssh-client")
    engine = DockerEngine(base_url=address, client=client)
connected = time.monotonic() - started
stack = load("stack.py")
times, failures = [], []
for _ in range(rounds):
    began = time.monotonic()
    try:
        api.up(stack, engine, quiet)
        times.append(time.monotonic() - began)
    except Exception as error:
        failures.append(f"{type(error).__name__}: {str(error)[:120]}")
plain_socket = None
try:
    container = engine.containers({"label": ["io.deployer.service=web"]})[0].id
    session = engine.exec_session(container, ["true"], tty=False, stdin=False)
    plain_socket = isinstance(session.sock, socket.socket)
except Exception as error:
    failures.append(f"exec: {type(error).__name__}: {str(error)[:120]}")
print(json.dumps({"connect_s": round(connected, 3),
                  "noop_up_median_s": round(statistics.median(times), 3) if times else None,
                  "noop_up_runs": rounds, "failed": len(failures), "errors": failures[:3],
                  "exec_plain_socket": plain_socket}))
"""


def cli(server: Server, *args: str) -> float:
    began = time.monotonic()
    done = server.deployer(*args)
    if done.returncode != 0:
        raise SystemExit(f"deployer {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.monotonic() - began


def paramiko_path() -> Path:
    if not (PARAMIKO / "paramiko").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(PARAMIKO),
             "paramiko==3.5.1"],
            check=True,
        )  # fmt: skip
    return PARAMIKO


def measure(server: Server, transport: str, rounds: int, shims: Path) -> dict[str, Any]:
    """One transport's figures (a subprocess: docker-py's own ssh reads ~/.ssh and `ssh`)."""
    env = server.env()
    address = server.address
    if transport != "tunnel":  # docker-py's ssh:// needs paramiko importable, either way
        env["PYTHONPATH"] = str(paramiko_path())
        # docker-py resolves a host alias with ~/.ssh/config before it runs ssh or paramiko:
        # the address by port needs no alias.
        address = server.address_by_port
    if transport == "paramiko":
        # paramiko reads ~/.ssh/config (the key) and known_hosts: a home of the bench's own.
        env["HOME"] = str(shims)
    if transport == "ssh-client":
        # docker-py runs plain `ssh`: a shim on PATH adds the server's ssh config.
        env["PATH"] = f"{shims / 'bin'}:{env['PATH']}"
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, transport, address, str(rounds)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if done.returncode != 0:
        return {"failed": rounds, "errors": [done.stderr.strip().splitlines()[-1][:200]]}
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def shim_folder(server: Server, folder: Path) -> Path:
    ssh_dir = folder / ".ssh"
    ssh_dir.mkdir(mode=0o700, parents=True)
    shutil.copy(server.config, ssh_dir / "config")
    shutil.copy(server.folder / "known_hosts", ssh_dir / "known_hosts")
    (folder / "bin").mkdir()
    shim = folder / "bin" / "ssh"
    shim.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {server.config} "$@"\n')
    shim.chmod(0o755)
    return folder


def rollout_under_load(server: Server, seconds: float) -> dict[str, Any]:
    """A forced rolling update through the CLI while load goes through `deployer tunnel`."""
    forwarding = subprocess.Popen(
        [sys.executable, "-m", "deployer", "tunnel", "--json", "nginx"], cwd=ROOT,
        env=server.env(), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert forwarding.stdout is not None
        url = json.loads(forwarding.stdout.readline())["forwards"][0]["url"] + "/"
        with Load(url, clients=4) as load:
            load.wait_for(50)
            took = cli(server, "up", "--force-recreate", "web")
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                time.sleep(0.2)
        return {"rollout_s": round(took, 2), "requests": load.result.requests,
                "failed": load.failed, "failures": load.result.failures[:3]}  # fmt: skip
    finally:
        forwarding.terminate()
        forwarding.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    smoke.add_option(parser)
    args = parser.parse_args()
    rounds = 2 if args.smoke else 7
    engine = DockerEngine()
    engine.ping()
    figures: dict[str, Any] = {"measured": datetime.now(UTC).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="deployer-bench-remote-") as folder:
        began = time.monotonic()
        server = start_server(engine, Path(folder), f"{NAME}-{os.getpid()}")
        figures["server_start_s"] = round(time.monotonic() - began, 2)
        try:
            figures["cold_up_s"] = round(cli(server, "up"), 2)
            print(f"cold up onto a fresh server   {figures['cold_up_s']:>6.2f} s", flush=True)
            noops = [cli(server, "up") for _ in range(rounds)]
            figures["cli_noop_up"] = {
                "median_s": round(statistics.median(noops), 3),
                "min_s": round(min(noops), 3), "max_s": round(max(noops), 3), "runs": rounds,
            }  # fmt: skip
            print(f"no-op up (CLI, median of {rounds})  {statistics.median(noops):>6.2f} s")
            shims = shim_folder(server, Path(folder) / "home")
            figures["transports"] = {
                transport: measure(server, transport, rounds, shims)
                for transport in ("tunnel", "paramiko", "ssh-client")
            }
            for transport, found in figures["transports"].items():
                print(f"{transport:<11} {json.dumps(found)}", flush=True)
            figures["rollout_under_load"] = rollout_under_load(server, 2 if args.smoke else 10)
            print(f"rollout under load: {json.dumps(figures['rollout_under_load'])}", flush=True)
            cli(server, "down")
        finally:
            stop_server(engine, server)
    out = smoke.results_dir(args.smoke) / "remote.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}")
    tunnel = figures["transports"]["tunnel"]
    checks = {
        # A transport may fail its ups (that is a finding), but each must have been measured:
        # a bench that cannot even connect one has rotted.
        **{
            f"{transport} measured": "connect_s" in found
            for transport, found in figures["transports"].items()
        },
        "the tunnel's no-op ups all worked": tunnel.get("failed") == 0,
        "exec over the tunnel gets a plain socket": tunnel.get("exec_plain_socket") is True,
        "no request failed during the rollout": figures["rollout_under_load"]["failed"] == 0,
    }
    for check, held in checks.items():
        print(f"{'ok' if held else 'FAILED'}: {check}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
