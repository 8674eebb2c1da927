"""Seed 002's app: a Flask app served by gunicorn + gevent."""

import time

from flask import Flask

app = Flask(__name__)


@app.get("/test")
def get_test() -> str:
    time.sleep(0.1)
    return "ok"


@app.get("/health")
def health() -> str:
    return "ok"
