"""No-op `up`: deployer vs `docker compose up -d`, side by side in one run.

Both deploy the default stack (web x2 behind nginx, same images, same settings) under their own
names, then run `up` again and again with nothing changed. Prints the medians and the ratio and
writes bench/results/noop_up.json. Target: deployer at most half of Compose's time.

    .venv/bin/python bench/noop_up.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
from bench.compose import binary
from bench.stack_copy import write_default_stack
from deployer import api, load_stack
from deployer.core.render import healthcheck
from deployer.images.build import prepare
from deployer.model.spec import Service, Stack
from deployer.targets.engine.desired import DesiredStack

ROOT = Path(__file__).parents[1]


def compose_service(service: Service, image: str) -> dict[str, object]:
    """The same service written for Compose."""
    limits = service.resources
    body: dict[str, object] = {
        "image": image,
        "environment": dict(service.env),
        "restart": service.restart,
        "init": service.init,
        "read_only": service.read_only,
        "stop_grace_period": f"{int(service.stop_grace_period.total_seconds())}s",
        "deploy": {
            "replicas": service.replicas,
            "resources": {
                "limits": {"cpus": str(limits.cpus), "memory": str(limits.memory),
                           "pids": limits.pids},
            },
        },
    }  # fmt: skip
    if service.healthcheck:
        check = healthcheck(service.healthcheck)
        body["healthcheck"] = {
            # Compose interpolates the file: a literal '$' in the command is written '$$'.
            "test": [part.replace("$", "$$") for part in check["Test"]],
            "interval": f"{check['Interval'] // 1_000_000}ms",
            "timeout": f"{check['Timeout'] // 1_000_000}ms",
            "retries": check["Retries"],
            "start_period": f"{check['StartPeriod'] // 1_000_000}ms",
        }
    optional = {
        "user": service.user, "tmpfs": [f"{p}:{o}" if o else p for p, o in service.tmpfs.items()],
        "cap_drop": list(service.cap_drop), "cap_add": list(service.cap_add),
        "security_opt": list(service.security_opt),
        "ulimits": {k: {"soft": v.soft, "hard": v.hard} for k, v in service.ulimits.items()},
        "stop_signal": service.stop_signal,
    }  # fmt: skip
    body.update({key: value for key, value in optional.items() if value})
    if service.logging:
        body["logging"] = {
            "driver": service.logging.driver,
            "options": {
                "max-size": service.logging.max_size,
                "max-file": str(service.logging.max_file),
            },
        }
    return body


def compose_file(stack: Stack, project: str, folder: Path) -> Path:
    images = prepare(api.connect(), stack, lambda _: None)
    desired = DesiredStack(stack, images)
    services = {}
    for service in stack.services:
        body = compose_service(service, images[service.name].reference)
        if service.proxy:
            upstream = stack.service(service.proxy.upstream)
            members = [
                (n, f"{project}-{upstream.name}-{n}") for n in range(1, upstream.replicas + 1)
            ]
            # Compose has no socket slots: its nginx reaches the replicas by name over TCP.
            tcp = service.model_copy(
                update={"proxy": service.proxy.model_copy(update={"transport": "tcp"})}
            )
            (folder / "nginx.conf").write_text(desired.proxy_config(tcp, members))
            body["volumes"] = [f"{folder / 'nginx.conf'}:/etc/nginx/nginx.conf:ro"]
            body["ports"] = ["127.0.0.1::80"]
            body["depends_on"] = {d.service: {"condition": f"service_{d.condition}"}
                                  for d in service.depends_on}  # fmt: skip
        services[service.name] = body
    path = folder / "compose.yaml"
    path.write_text(json.dumps({"name": project, "services": services}, indent=2))
    return path


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    smoke.add_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    compose = str(binary())
    with tempfile.TemporaryDirectory() as folder:
        stack_file = write_default_stack(Path(folder), "bench-noop")
        stack = load_stack(stack_file)
        compose_yaml = compose_file(stack, "bench-compose", Path(folder))
        deployer_cmd = [sys.executable, "-m", "deployer", "up", "-f", str(stack_file)]
        compose_cmd = [compose, "-f", str(compose_yaml), "up", "-d"]
        # deployer's `up` also confirms health before it returns; Compose does with --wait.
        compose_wait_cmd = [*compose_cmd, "--wait"]
        try:
            first_deployer = timed(deployer_cmd)
            first_compose = timed(compose_wait_cmd)
            print(f"first up (containers created, to healthy): deployer {first_deployer:.2f}s, "
                  f"compose {first_compose:.2f}s")  # fmt: skip
            deployer_times, compose_times, compose_wait_times = [], [], []
            for _ in range(args.runs):  # alternate, so drift hits all alike
                deployer_times.append(timed(deployer_cmd))
                compose_times.append(timed(compose_cmd))
                compose_wait_times.append(timed(compose_wait_cmd))
        finally:
            subprocess.run([compose, "-f", str(compose_yaml), "down", "-t", "1"],
                           capture_output=True)  # fmt: skip
            api.down("bench-noop", stop_timeout=1)
    deployer_median = statistics.median(deployer_times)
    compose_median = statistics.median(compose_times)
    compose_wait_median = statistics.median(compose_wait_times)
    ratio = deployer_median / compose_median
    result = {
        "runs": args.runs,
        "compose": binary().name,
        "deployer_up_median_s": round(deployer_median, 4),
        "compose_up_d_median_s": round(compose_median, 4),
        "compose_up_d_wait_median_s": round(compose_wait_median, 4),
        "ratio_deployer_over_compose_up_d": round(ratio, 3),
        "ratio_deployer_over_compose_up_d_wait": round(deployer_median / compose_wait_median, 3),
        "deployer_all_s": [round(t, 4) for t in deployer_times],
        "compose_up_d_all_s": [round(t, 4) for t in compose_times],
        "compose_up_d_wait_all_s": [round(t, 4) for t in compose_wait_times],
    }
    (smoke.results_dir(args.smoke) / "noop_up.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"no-op up, median of {args.runs}:")
    print(f"  deployer up                 {deployer_median:.3f}s")
    print(
        f"  docker compose up -d        {compose_median:.3f}s   ratio {ratio:.2f} (target <= 0.50)"
    )
    print(f"  docker compose up -d --wait {compose_wait_median:.3f}s   "
          f"ratio {deployer_median / compose_wait_median:.2f}")  # fmt: skip
    return 0 if ratio <= 0.5 or args.smoke else 1  # a smoke run checks it works, not its speed


if __name__ == "__main__":
    sys.exit(main())
