"""A bounded HTTP load loop for integration tests: keep-alive clients aimed at 127.0.0.1 only,
counting every request and every failure, until told to stop (or a hard time limit)."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

HARD_LIMIT_SECONDS = 300.0


@dataclass
class LoadResult:
    requests: int = 0
    failures: list[str] = field(default_factory=list)


class Load:
    def __init__(self, url: str, clients: int = 8) -> None:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1", "load is only ever aimed at 127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.clients = clients
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
            thread.join(timeout=10)

    def _client(self) -> None:
        deadline = time.monotonic() + HARD_LIMIT_SECONDS
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            try:
                connection.request("GET", self.path)
                response = connection.getresponse()
                response.read()
                failure = None if response.status == 200 else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as error:
                failure = f"{type(error).__name__}: {error}"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            with self.lock:
                self.result.requests += 1
                if failure:
                    self.result.failures.append(failure)
        connection.close()
