"""gunicorn settings, derived from the CPU limit the container really has."""

import json
import math
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from gunicorn.glogging import Logger


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
# Threads, not gevent: measured behind nginx at 400 connections on 2 cores, gevent workers took
# connections unevenly (p99 1.4-1.7 s, hundreds of 2 s timeouts) while gthread answered everything
# (p99 0.3-0.45 s, no timeout) at the same throughput. GUNICORN_WORKER_CLASS=gevent still works.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# The app is imported once, by the master, and its workers start as forks of it: a replica's
# start costs 0.37 s of CPU instead of 0.56 s (measured here, two workers), since no worker
# imports Flask again. prometheus_client's multiprocess values notice the fork by their pid.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
# One worker per granted CPU (a worker's interpreter uses one CPU at most), two threads each so
# that a slow request does not stall it. Measured behind nginx at c100, three rounds each: one
# worker in a 1-CPU replica answered as many requests/s as two (1.02x) with p99 111 ms against
# 189 ms, as a second worker only competes for the same CPU. While a worker restarts, nginx
# sends requests to the other replicas.
workers = int(os.environ.get("WEB_CONCURRENCY", max(1, math.ceil(cpu_limit()))))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# Longer than nginx's upstream keep-alive, so nginx (not gunicorn) closes idle connections.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# Well within the stack's stop_grace_period: in-flight requests finish on SIGTERM.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "15"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# The root filesystem is read-only: the heartbeat file lives in memory.
worker_tmp_dir = "/dev/shm"
# gunicorn's control socket (gunicornc) is unused here, and it costs: an asyncio thread in the
# master, stopped and restarted around every worker fork, and joined at every stop.
control_socket_disable = True
# "" turns the app's own access log off (nginx logs every request, with its id, too).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
forwarded_allow_ips = "*"


class JsonAccessLogger(Logger):  # type: ignore[misc]
    """One JSON object per request on stdout; the client is who nginx says it is."""

    def access(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        if not self.access_log_enabled:
            return
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        headers = dict((name.lower(), value) for name, value in resp.headers)
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "remote_addr": environ.get("HTTP_X_REAL_IP")
            or forwarded.split(",")[0].strip()
            or environ.get("REMOTE_ADDR", ""),
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),
            "status": resp.status_code,
            "bytes": getattr(resp, "sent", 0),
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
            "request_id": headers.get("x-request-id", ""),
            "request_time": round(request_time.total_seconds(), 6),
        }
        self.access_log.info(json.dumps(record))


logger_class = JsonAccessLogger


def on_starting(server: object) -> None:
    """Metrics of workers from a previous life must not be added to this one's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server: object, worker: object) -> None:
    """A worker that exits stops counting toward live gauges: prometheus_client's
    mark_process_dead, without importing the client into the master (0.13 s, paid by every
    stop)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        for path in Path(folder).glob(f"gauge_live*_{worker.pid}.db"):  # type: ignore[attr-defined]
            path.unlink(missing_ok=True)


def worker_exit(server: object, worker: object) -> None:
    """A finished worker leaves at once: its interpreter's teardown (0.14 s measured here) would
    only delay every stop and every rolling replace. Nothing is lost: metrics live in shared
    files, and each log line was flushed when written."""
    # The SystemExit on its way out carries the worker's exit code, which the master reads (a
    # boot error halts gunicorn); anything else leaves the usual way.
    leaving = sys.exc_info()[1]
    if not isinstance(leaving, SystemExit) or not isinstance(leaving.code, int):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(leaving.code)


def when_ready(server: object) -> None:
    """nginx's workers run as another user: let them connect to the socket."""
    if socket_path:
        os.chmod(socket_path, 0o666)
