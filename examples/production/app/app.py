"""Seed 000: Flask with a health endpoint and Prometheus metrics."""

from flask import Flask
from prometheus_client import Counter, generate_latest

app = Flask(__name__)
REQUEST_COUNTER = Counter("http_requests_total", "Total HTTP Requests")


@app.route("/")
def hello() -> str:
    REQUEST_COUNTER.inc()
    return "Hello Production Docker World!"


@app.route("/health")
def health() -> tuple[str, int]:
    return "OK", 200


@app.route("/metrics")
def metrics() -> bytes:
    return generate_latest()
