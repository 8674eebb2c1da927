"""The Flask app deployer's default stack serves."""

from __future__ import annotations

import os
import socket

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)
    message = os.environ.get("APP_MESSAGE", "Hello from deployer")
    hostname = socket.gethostname()

    @app.get("/")
    def index() -> dict[str, str]:
        return {"message": message, "host": hostname}

    @app.get("/health")
    def health() -> tuple[str, int]:
        # Cheap on purpose: it says the worker answers, and touches no dependency.
        return "ok\n", 200

    return app
