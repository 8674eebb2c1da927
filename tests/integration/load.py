"""A bounded HTTP load loop for integration tests: keep-alive clients aimed at 127.0.0.1 only,
counting every request and every failure, until told to stop (or a hard time limit).

It also notes when each failure happened, the slowest answer, and when each replica (the
`host` the default app puts in its JSON answer) last answered, so fault tests can measure
downtime and the moment a replica is back in the upstream.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

HARD_LIMIT_SECONDS = 300.0
BACKOFF_SECONDS = 0.01  # after a failure: a client that retries in a hot loop counts noise


@dataclass
class LoadResult:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    failure_times: list[float] = field(default_factory=list)  # time.monotonic() of each
    slowest: float = 0.0  # seconds
    host_seen: dict[str, float] = field(default_factory=dict)  # host -> last answer's time


class Load:
    def __init__(self, url: str, clients: int = 8, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1", "load is only ever aimed at 127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.clients = clients
        self.timeout = timeout
        self.stop_event = threading.Event()
        self.result = LoadResult()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=self.timeout + 5)

    @property
    def failed(self) -> int:
        return len(self.result.failures)

    def wait_for(self, more: int, limit: float = 60.0) -> None:
        """Until `more` further requests have been answered (or failed)."""
        target = self.result.requests + more
        deadline = time.monotonic() + limit
        while self.result.requests < target:
            assert time.monotonic() < deadline, f"load stalled at {self.result.requests} requests"
            time.sleep(0.02)

    def first_answer_from(self, host: str, after: float, limit: float = 60.0) -> float:
        """When (time.monotonic) `host` first answered after `after`."""
        deadline = time.monotonic() + limit
        while self.result.host_seen.get(host, 0.0) <= after:
            assert time.monotonic() < deadline, f"{host} did not answer within {limit:.0f}s"
            time.sleep(0.02)
        return self.result.host_seen[host]

    def _client(self) -> None:
        deadline = time.monotonic() + HARD_LIMIT_SECONDS
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            host = None
            sent = time.monotonic()
            try:
                connection.request("GET", self.path)
                response = connection.getresponse()
                body = response.read()
                failure = None if response.status == 200 else f"HTTP {response.status}"
                host = _host_in(body)
            except (OSError, http.client.HTTPException) as error:
                failure = f"{type(error).__name__}: {error}"
                connection.close()
                connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout
                )
            answered = time.monotonic()
            with self.lock:
                self.result.requests += 1
                self.result.slowest = max(self.result.slowest, answered - sent)
                if failure:
                    self.result.failures.append(failure)
                    self.result.failure_times.append(answered)
                elif host:
                    self.result.host_seen[host] = answered
            if failure:
                time.sleep(BACKOFF_SECONDS)
        connection.close()


def _host_in(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    host = data.get("host") if isinstance(data, dict) else None
    return host if isinstance(host, str) else None
