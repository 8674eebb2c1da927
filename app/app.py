"""The Flask app deployer's default stack serves."""

from __future__ import annotations

import os
import re
import socket
import time
import uuid

import metrics
from flask import Flask, Response, g, request

# A request id from outside is kept only if it is short and plain (it is logged and echoed).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _switched_on(name: str) -> bool:
    """A per-request feature, on unless its variable says 0 (bench/serving_breakdown.py
    measures what each one costs by turning it off)."""
    return os.environ.get(name, "1") != "0"


def create_app() -> Flask:
    app = Flask(__name__)
    message = os.environ.get("APP_MESSAGE", "Hello from deployer")
    hostname = socket.gethostname()
    request_ids, measured = _switched_on("APP_REQUEST_IDS"), _switched_on("APP_METRICS")

    @app.before_request
    def start() -> None:
        if request_ids:
            given = request.headers.get("X-Request-ID", "")
            g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        if request_ids:
            response.headers["X-Request-ID"] = g.request_id
        if measured:
            endpoint = request.url_rule.rule if request.url_rule else "unmatched"
            elapsed = time.perf_counter() - g.started
            metrics.observe(request.method, endpoint, response.status_code, elapsed)
        return response

    @app.get("/")
    def index() -> dict[str, str]:
        return {"message": message, "host": hostname}

    @app.get("/health")
    def health() -> tuple[str, int]:
        # Cheap on purpose: it says the worker answers, and touches no dependency.
        return "ok\n", 200

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.exposition(), mimetype="text/plain; version=0.0.4")

    return app
