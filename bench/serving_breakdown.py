"""Where a request's CPU goes on the default stack, and what each per-request feature costs.

For each variant of the default stack (one feature off, or one setting changed), a throwaway
copy is deployed and loaded through nginx's published 127.0.0.1 port with `wrk -t2 -c100`.
Every variant runs once a round (three rounds by default, the order reversed every other round)
and the unchanged stack twice a round, so that drift shows as the baseline's spread; each
variant's median is reported against the baseline's median, by requests/s and by the CPU the
chain spent per request (every container's cgroup, dockerd, containerd and its shims,
docker-proxy; wrk's own CPU is recorded apart). The copies keep the stack's probe intervals.

A run of its own, before the others, adds
- a py-spy profile of one gunicorn worker (py-spy from PyPI, run on the host against the
  worker's pid), summed by the feature each sample's stack is in, plus the busiest functions.

Writes bench/results/serving-breakdown.json (keeping the "published port" figures that
bench/userland_proxy.py adds: docker's userland proxy against its iptables path).

    .venv/bin/python bench/serving_breakdown.py [--duration 8] [--rounds 3]
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
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
from bench.serving import wrk
from deployer import api, load_stack
from deployer.model.spec import Stack
from deployer.testing import throwaway

ROOT = Path(__file__).parents[1]
LOAD = ["-t2", "-c100"]
TICKS = os.sysconf("SC_CLK_TCK")

Change = Callable[[Stack, Path], Stack]


def web_env(**env: str) -> Change:
    return lambda stack, _: stack.with_service("web", env={**stack.service("web").env, **env})


def proxy(**update: object) -> Change:
    def change(stack: Stack, _: Path) -> Stack:
        nginx = stack.service("nginx")
        assert nginx.proxy is not None
        return stack.with_service("nginx", proxy=nginx.proxy.model_copy(update=update))

    return change


def template(old: str, new: str) -> Change:
    """nginx's config template with one line changed (written beside the run's other files)."""

    def change(stack: Stack, folder: Path) -> Stack:
        nginx = stack.service("nginx")
        assert nginx.proxy is not None
        text = stack.resolve(nginx.proxy.template).read_text()
        assert old in text, f"{old!r} is not in nginx's template"
        path = folder / f"nginx-{abs(hash(new))}.conf.template"
        path.write_text(text.replace(old, new))
        return proxy(template=path)(stack, folder)

    return change


def web_cpus(cpus: float | None) -> Change:
    def change(stack: Stack, _: Path) -> Stack:
        web = stack.service("web")
        return stack.with_service("web", resources=web.resources.model_copy(update={"cpus": cpus}))

    return change


ACCESS_LOG = "access_log /dev/stdout json buffer=64k flush=1s;"
VARIANTS: dict[str, Change] = {
    # The default stack keeps one access log, nginx's; this puts the app's own back.
    "app JSON access log on (as well)": web_env(GUNICORN_ACCESS_LOG="-"),
    "app Prometheus histogram off": web_env(APP_METRICS="0"),
    "app request ids off": web_env(APP_REQUEST_IDS="0"),
    "nginx JSON access log off": template(ACCESS_LOG, "access_log off;"),
    "nginx access log unbuffered": template(ACCESS_LOG, "access_log /dev/stdout json;"),
    "nginx gzip off": template("gzip on;", "gzip off;"),
    "nginx rate-limit zone off": proxy(rate_limit=None),
    "tcp transport (not unix sockets)": proxy(transport="tcp"),
    "nginx 1 worker process (not one per CPU)": template(
        "worker_processes auto;", "worker_processes 1;"
    ),
    "nginx upstream keepalive_requests 100000 (not 1000)": template(
        "keepalive 64;", "keepalive 64;\n        keepalive_requests 100000;"
    ),
    "2 workers per replica": web_env(WEB_CONCURRENCY="2"),
    "3 workers per replica": web_env(WEB_CONCURRENCY="3"),
    "4 workers per replica": web_env(WEB_CONCURRENCY="4"),
    "1 thread per worker": web_env(GUNICORN_THREADS="1"),
    "4 threads per worker": web_env(GUNICORN_THREADS="4"),
    "gevent workers": web_env(GUNICORN_WORKER_CLASS="gevent"),
    "sync workers (no keep-alive to nginx)": web_env(GUNICORN_WORKER_CLASS="sync"),
    "no cpus limit per replica": web_cpus(None),
    "cpus 2.0 per replica": web_cpus(2.0),
}


def _cgroup_cpu_ns(container_id: str) -> int:
    for path in (
        Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage"),
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat"),
    ):
        if path.name == "cpuacct.usage" and path.exists():
            return int(path.read_text())
        if path.exists():  # cgroup v2: usage_usec
            usage = next(line for line in path.read_text().splitlines() if "usage_usec" in line)
            return int(usage.split()[1]) * 1000
    return 0


def _host_processes() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if command in {"dockerd", "containerd", "docker-proxy"} or command.startswith(
            "containerd-shim"
        ):
            found.setdefault("containerd-shim" if "shim" in command else command, []).append(
                int(entry.name)
            )
    return found


def _process_cpu_ns(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // TICKS  # utime + stime


def cpu_snapshot(containers: dict[str, str]) -> dict[str, int]:
    snapshot = {name: _cgroup_cpu_ns(cid) for name, cid in containers.items()}
    for name, pids in _host_processes().items():
        snapshot[name] = sum(_process_cpu_ns(pid) for pid in pids)
    return snapshot


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def profile_worker(master_pid: int, seconds: int, out: Path) -> subprocess.Popen[str] | None:
    """py-spy on one of the replica's gunicorn workers (the master's first child)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("(no profile: pip install py-spy)")
        return None
    workers = [p for p in _children(master_pid) if "gunicorn" in _cmdline(p)]
    if not workers:
        return None
    command = [spy, "record", "-p", str(workers[0]), "-d", str(seconds), "-r", "200",
               "-f", "raw", "-o", str(out), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# A busy sample counts toward the first feature whose marker is in its stack (inclusive time).
FEATURES = [
    ("app JSON access log (gunicorn logger)", ("JsonAccessLogger", "glogging", "logging/")),
    ("Prometheus histogram + counter", ("prometheus_client",)),
    ("request id (uuid4)", ("uuid.py",)),
    ("Flask + Werkzeug request handling", ("flask/", "werkzeug/")),
    ("gunicorn HTTP parsing and socket writes", ("gunicorn/http/", "gunicorn/util.py")),
    ("gunicorn gthread event loop", ("gunicorn/workers/",)),
]
# Leaves where a thread waits for work: idle, not cost.
IDLE = ("EpollSelector.select", "_worker (concurrent/futures/thread.py", "Condition.wait")


def summarise_profile(raw: Path) -> dict[str, Any]:
    samples: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    busy = idle = 0
    for line in raw.read_text().splitlines():  # "frame;frame;...;leaf COUNT"
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        leaf = stack.split(";")[-1]
        if any(marker in leaf for marker in IDLE):
            idle += count
            continue
        busy += count
        feature = next(
            (name for name, markers in FEATURES if any(m in stack for m in markers)), "other"
        )
        samples[feature] += count
        leaves[leaf] += count
    return {
        "busy_samples": busy,
        "idle_samples": idle,
        "share_of_busy_by_feature": {k: round(v / busy, 3) for k, v in samples.most_common()},
        "busiest_functions": [
            {"function": leaf, "share_of_busy": round(count / busy, 3)}
            for leaf, count in leaves.most_common(12)
        ],
    }


def measure(stack: Stack, seconds: int, folder: Path, profile: bool = False) -> dict[str, Any]:
    """wrk through nginx, and the CPU each part of the chain spent per request (with `profile`,
    also a py-spy profile of one worker)."""
    with throwaway(stack, fast_probes=False) as shop:
        url = shop.url("nginx") + "/"
        wrk(url, ["-t2", "-c50"], 2)  # warm-up, not counted
        engine = api.connect()
        containers = {f"{r.service}-{r.replica} (cgroup)": r.id for r in shop.replicas()}
        full = {name: engine.inspect_container(cid).id for name, cid in containers.items()}
        raw = folder / "profile.raw"
        spy = None
        if profile:
            web = next(r for r in shop.replicas("web"))
            master = int(json.loads(subprocess.run(
                ["docker", "inspect", "-f", "{{json .State.Pid}}", web.id],
                capture_output=True, text=True, check=True,
            ).stdout))  # fmt: skip
            worker = _children(master)[0] if _is_init(master) else master
            spy = profile_worker(worker, seconds, raw)
        before = cpu_snapshot(full)
        children_before = os.times()
        figures = wrk(url, LOAD, seconds)
        after = cpu_snapshot(full)
        children_after = os.times()
        requests = figures["requests_per_s"] * seconds
        wrk_ns = int(
            (children_after.children_user + children_after.children_system
             - children_before.children_user - children_before.children_system) * 1e9
        )  # fmt: skip
        per_request = {
            name: round((after[name] - before.get(name, 0)) / requests / 1000, 1) for name in after
        }
        per_request["wrk (load generator)"] = round(wrk_ns / requests / 1000, 1)
        result: dict[str, Any] = {**figures, "cpu_us_per_request": per_request}
        if spy is not None:
            spy.wait(timeout=seconds + 30)
            if raw.exists():
                result["profile_of_one_worker"] = summarise_profile(raw)
        return result


def chain_cpu_us(figures: dict[str, Any]) -> float:
    """CPU the serving chain spent per request: every part but the load generator."""
    parts = figures["cpu_us_per_request"]
    return float(sum(us for part, us in parts.items() if part != "wrk (load generator)"))


def _is_init(pid: int) -> bool:
    return "docker-init" in _cmdline(pid) or _cmdline(pid).startswith("/sbin/docker-init")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    smoke.add_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.duration = 1, 2
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    base = load_stack(ROOT / "stack.py")
    names = list(VARIANTS)
    middle = len(names) // 2
    # The profiled run is apart: py-spy takes CPU from the load. Every variant then runs once a
    # round, the order reversed every other round so that drift hits them all alike.
    order = ["profiled"]
    for round_ in range(args.rounds):
        ordered = names if round_ % 2 == 0 else names[::-1]
        order += ["baseline", *ordered[:middle], "baseline", *ordered[middle:]]
    order.append("baseline")
    if args.smoke:
        # Every variant is still made from today's stack.py; one of them and the baseline run,
        # without the profile (py-spy), for two seconds each.
        with tempfile.TemporaryDirectory() as temp:
            for name in names:
                VARIANTS[name](base, Path(temp))
        order = ["baseline", names[0]]
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for name in order:
            stack = VARIANTS[name](base, folder) if name in VARIANTS else base
            figures = measure(stack, args.duration, folder, profile=name == "profiled")
            runs.setdefault(name, []).append(figures)
            print(f"{name:<34} {figures['requests_per_s']:>8.0f} req/s  "
                  f"p99 {figures['p99_ms']:>7.1f} ms  non-2xx {figures['non_2xx']}  "
                  f"socket errors {figures['socket_errors']}  "
                  f"chain CPU {chain_cpu_us(figures):.0f} us/request", flush=True)  # fmt: skip
    baseline_runs = [float(r["requests_per_s"]) for r in runs["baseline"]]
    baseline = statistics.median(baseline_runs)
    baseline_cpu_runs = [chain_cpu_us(r) for r in runs["baseline"]]
    baseline_cpu = statistics.median(baseline_cpu_runs)
    # This VM's neighbours move requests/s and CPU per request alike by 15-30% from one run to
    # the next: a feature's cost is read from medians over rounds, against the baseline's spread.
    table = {}
    for name, found in runs.items():
        if name not in VARIANTS:
            continue
        rates = [float(run["requests_per_s"]) for run in found]
        cpus = [chain_cpu_us(run) for run in found]
        table[name] = {
            "requests_per_s": {"median": statistics.median(rates), "runs": rates},
            "p99_ms_median": statistics.median(float(run["p99_ms"]) for run in found),
            "vs_baseline": round(statistics.median(rates) / baseline, 3),
            "chain_cpu_us_per_request_median": round(statistics.median(cpus), 1),
            "chain_cpu_vs_baseline": round(statistics.median(cpus) / baseline_cpu, 3),
        }
    result: dict[str, Any] = {
        "load": f"wrk {' '.join(LOAD)} -d{args.duration}s on nginx's published 127.0.0.1 port, /",
        "rounds": args.rounds,
        "baseline_requests_per_s": {
            "median": round(baseline, 1),
            "runs": baseline_runs,
        },
        "baseline_p99_ms_median": statistics.median(float(r["p99_ms"]) for r in runs["baseline"]),
        "baseline_chain_cpu_us_per_request": {
            "median": round(baseline_cpu, 1),
            "runs": [round(cpu, 1) for cpu in baseline_cpu_runs],
        },
        "accounting_and_profile (a run of its own)": runs.get("profiled", [{}])[0],
        "variants": table,
    }
    path = smoke.results_dir(args.smoke) / "serving-breakdown.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}
    if "published port" in earlier:  # bench/userland_proxy.py's figures (it restarts dockerd)
        result["published port"] = earlier["published port"]
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["accounting_and_profile (a run of its own)"], indent=2))
    print(f"baseline median {baseline:.0f} req/s (runs: {baseline_runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
