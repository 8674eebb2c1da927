"""Seed 002's gunicorn.conf.py: gevent workers and JSON access logs with ISO timestamps.

Adjusted for a container: bind on all interfaces, and the pid file in /tmp (the root filesystem
is read-only; /tmp is a tmpfs).
"""

from datetime import datetime
from pathlib import Path

import gunicorn.glogging


class CustomLogger(gunicorn.glogging.Logger):  # type: ignore[misc]
    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        """Override the 't' (timestamp) atom with an ISO 8601 time."""
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["t"] = datetime.now().astimezone().isoformat(timespec="seconds")
        return atoms


preload_app = True
workers = 4
worker_class = "gevent"
worker_connections = 2000
bind = "0.0.0.0:8000"
proc_name = "flask-app"
pidfile = "/tmp/gunicorn.pid"
logger_class = CustomLogger
access_log_format = (
    '{"@timestamp": "%(t)s", '
    '"remote_addr": "%(h)s", '
    '"protocol": "%(H)s", '
    '"host": "%({host}i)s", '
    '"request_method": "%(m)s", '
    '"request_path": "%(U)s", '
    '"status_code": %(s)s, '
    '"response_length": %(b)s, '
    '"referer": "%(f)s", '
    '"user_agent": "%(a)s", '
    '"x_tracking_id": "%({x-tracking-id}i)s", '
    '"request_time": %(L)s}'
)
accesslog = str(Path(__file__).parent.parent / "logs" / "access.log")
errorlog = str(Path(__file__).parent.parent / "logs" / "error.log")
loglevel = "info"
