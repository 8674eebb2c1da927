"""The default serving path on the real engine: metrics, request ids, headers, rate limit,
and a web container that really is locked down."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from deployer import load_stack
from deployer.engine.docker_engine import DockerEngine
from deployer.model.spec import RateLimit
from deployer.testing import Throwaway, throwaway
from tests.integration.conftest import ROOT

# Run inside a web replica: N requests to its own gunicorn, whichever worker answers each.
HIT = """
import sys, urllib.request
for _ in range(int(sys.argv[1])):
    urllib.request.urlopen("http://127.0.0.1:8000/").read()
print(urllib.request.urlopen("http://127.0.0.1:8000/metrics").read().decode())
"""


@pytest.fixture(scope="module")
def shop(engine: DockerEngine) -> Iterator[Throwaway]:
    with throwaway(ROOT / "stack.py", engine=engine) as handle:
        yield handle


def count_of_root(metrics: str) -> float:
    match = re.search(r'^http_requests_total\{endpoint="/",method="GET",status="200"\} (\S+)$',
                      metrics, re.MULTILINE)  # fmt: skip
    return float(match.group(1)) if match else 0.0


def test_metrics_add_up_across_gunicorn_workers(engine: DockerEngine) -> None:
    # The default stack runs one worker per replica (its CPU limit is 1): ask for three.
    stack = load_stack(ROOT / "stack.py")
    several = stack.with_service("web", env={**stack.service("web").env, "WEB_CONCURRENCY": "3"})
    with throwaway(several, engine=engine) as shop:
        _, before = shop.exec("web", ["python3", "-c", HIT, "0"])
        code, after = shop.exec("web", ["python3", "-c", HIT, "40"])
        workers = set(re.findall(r"Booting worker with pid: (\d+)", shop.logs("web")))
    assert code == 0
    assert len(workers) == 3
    assert count_of_root(after) - count_of_root(before) == 40
    assert "http_request_duration_seconds_bucket" in after


def test_metrics_are_not_on_the_public_port(shop: Throwaway) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(shop.url("nginx") + "/metrics")
    assert refused.value.code == 404
    code, inside = shop.exec("web", ["python3", "-c", HIT, "0"])  # the stack's own network
    assert code == 0 and "http_requests_total" in inside


def test_request_id_round_trips_and_is_made_when_missing(shop: Throwaway) -> None:
    request = urllib.request.Request(shop.url("nginx") + "/", headers={"X-Request-ID": "trace-42"})
    with urllib.request.urlopen(request) as response:
        assert response.headers["X-Request-ID"] == "trace-42"
    with urllib.request.urlopen(shop.url("nginx") + "/") as response:
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


@pytest.mark.parametrize(
    "given",
    ["has space", "x" * 129, 'quote"and<tag>', "tab\tinside"],
    ids=["space", "long", "html", "tab"],
)
def test_a_request_id_that_is_not_a_plain_token_is_not_echoed(shop: Throwaway, given: str) -> None:
    request = urllib.request.Request(shop.url("nginx") + "/", headers={"X-Request-ID": given})
    with urllib.request.urlopen(request) as response:
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_security_headers_are_present(shop: Throwaway) -> None:
    with urllib.request.urlopen(shop.url("nginx") + "/") as response:
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["Server"] == "nginx"  # no version


def test_access_logs_are_json_with_the_request_id(shop: Throwaway) -> None:
    request = urllib.request.Request(shop.url("nginx") + "/", headers={"X-Request-ID": "log-me-7"})
    urllib.request.urlopen(request).read()
    # One access log, nginx's, written from its buffer at least once a second.
    deadline = time.monotonic() + 10
    while '"request_id":"log-me-7"' not in (logged := shop.logs("nginx")):
        assert time.monotonic() < deadline, "nginx's access log line did not appear"
        time.sleep(0.1)
    line = next(json.loads(x) for x in logged.splitlines() if '"request_id":"log-me-7"' in x)
    assert (line["path"], line["status"], line["method"]) == ("/", 200, "GET")
    assert float(line["upstream_time"]) >= 0
    web_logs = shop.logs("web", 1) + shop.logs("web", 2)
    assert "log-me-7" not in web_logs  # the app's own access log is off in the default stack


def test_web_runs_as_non_root_on_a_read_only_root(shop: Throwaway) -> None:
    assert shop.exec("web", ["id", "-u"]) == (0, "10001\n")
    code, output = shop.exec("web", ["sh", "-c", "echo x > /app/written"])
    assert code != 0 and "Read-only file system" in output
    assert shop.exec("web", ["sh", "-c", "echo x > /tmp/written"])[0] == 0


def test_nginx_root_is_read_only_too(shop: Throwaway) -> None:
    code, output = shop.exec("nginx", ["sh", "-c", "echo x > /etc/nginx/written"])
    assert code != 0 and "Read-only file system" in output


def test_rate_limit_answers_429_past_its_threshold(engine: DockerEngine) -> None:
    stack = load_stack(ROOT / "stack.py")
    nginx = stack.service("nginx")
    assert nginx.proxy is not None
    strict = nginx.model_copy(
        update={
            "proxy": nginx.proxy.model_copy(update={"rate_limit": RateLimit(per_second=1, burst=2)})
        }
    )
    limited = stack.model_copy(update={"services": (stack.service("web"), strict)})
    statuses = []
    with throwaway(limited, engine=engine) as shop:
        for _ in range(12):
            try:
                with urllib.request.urlopen(shop.url("nginx") + "/") as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
    assert statuses[:3] == [200, 200, 200]  # one, plus a burst of two
    assert 429 in statuses
