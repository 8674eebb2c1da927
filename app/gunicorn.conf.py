"""gunicorn settings, derived from the CPU limit the container really has."""

import math
import os
from pathlib import Path


def cpu_limit() -> float:
    """CPUs granted by the cgroup (v2 cpu.max or v1 cfs quota), else the visible CPU count."""
    v2 = Path("/sys/fs/cgroup/cpu.max")
    v1_quota = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
    v1_period = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    try:
        if v2.exists():
            quota, period = v2.read_text().split()
            if quota != "max":
                return int(quota) / int(period)
        elif v1_quota.exists():
            quota_us = int(v1_quota.read_text())
            if quota_us > 0:
                return quota_us / int(v1_period.read_text())
    except (OSError, ValueError):
        pass
    return float(os.cpu_count() or 1)


# The port serves healthchecks and direct access; behind deployer's socket transport the app
# also listens on the unix socket its proxy reaches it through.
socket_path = os.environ.get("DEPLOYER_SOCKET")
bind = [f"0.0.0.0:{os.environ.get('PORT', '8000')}"] + (
    [f"unix:{socket_path}"] if socket_path else []
)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
# gevent workers multiplex connections, so one per granted CPU (+1 to ride out a worker restart).
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, math.ceil(cpu_limit()) + 1)))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# Longer than nginx's upstream keep-alive, so nginx (not gunicorn) closes idle connections.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# Well within the stack's stop_grace_period: in-flight requests finish on SIGTERM.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "15"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# The root filesystem is read-only: the heartbeat file and the control socket live in memory.
worker_tmp_dir = "/dev/shm"
control_socket = "/tmp/gunicorn.ctl"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
forwarded_allow_ips = "*"


def when_ready(server: object) -> None:
    """nginx's workers run as another user: let them connect to the socket."""
    if socket_path:
        os.chmod(socket_path, 0o666)
