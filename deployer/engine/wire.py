"""Plain HTTP to an engine's unix socket: the transport of deployer's reads, without docker-py.

Part of the engine module (docker_engine speaks through it); kept to the standard library so
that the fast answer of an unchanged `up` (deployer.unchanged) reads the engine without paying
for docker-py, requests or deployer's models. Errors are the transport's own (OSError; a
ValueError for an answer that is not HTTP): the callers translate them.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlencode

API_VERSION = "1.41"  # Engine 20.10; newer engines still speak it, so bodies mean the same.


# Docker's words for a healthcheck's verdict in a list's Status ("Up 2 minutes (healthy)").
LISTED_HEALTH = {
    "(healthy)": "healthy",
    "(unhealthy)": "unhealthy",
    "(health: starting)": "starting",
}


def listed_health(status: str) -> str:
    """healthy, unhealthy, starting, or "" (no healthcheck) from a list call's Status."""
    return next((verdict for word, verdict in LISTED_HEALTH.items() if word in status), "")


def demultiplexed(body: bytes) -> bytes:
    """The payloads of a stream the engine multiplexes (a container without a TTY: each frame
    an 8-byte header, its stream and its length, then that many bytes), joined in order."""
    payloads, at = [], 0
    while at + 8 <= len(body):
        size = int.from_bytes(body[at + 4 : at + 8], "big")
        payloads.append(body[at + 8 : at + 8 + size])
        at += 8 + size
    return b"".join(payloads)


def url_of(path: str, params: dict[str, object]) -> str:
    """The request target of an API `path` with its query, at the API version deployer speaks."""
    query = f"?{urlencode(params, doseq=True)}" if params else ""
    return f"/v{API_VERSION}{path}{query}"


def label_filter(**filters: list[str]) -> dict[str, object]:
    """The `filters` query parameter of a list call: {"label": ["k=v"]} as the engine reads it."""
    return {"filters": json.dumps(filters)}


class Reader:
    """Requests over one kept-alive connection: a few in a row pay for one connect.

    Speaks just the HTTP/1.1 an engine's answers take (a length, or chunks):
    http.client would cost the fast answer ~25 ms of imports (email, ssl) before any request."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.pending = b""

    def get(self, path: str, params: dict[str, object] | None = None) -> tuple[int, object]:
        """The status and the JSON body of GET `path` (None when the body is not JSON)."""
        status, _, headers, body = self.request("GET", path, params or {})
        if not headers.get("content-type", "").startswith("application/json") or not body:
            return status, None
        return status, json.loads(body)

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, object],
        body: bytes = b"",
        content_type: str = "application/json",
    ) -> tuple[int, str, dict[str, str], bytes]:
        """One request: the answer's status, reason, headers (by lowercase name) and body.
        OSError when the socket fails, ValueError when the answer is not HTTP."""
        if self.sock is None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
            self.sock.connect(self.socket_path)
        target = url_of(path, params)
        head = f"{method} {target} HTTP/1.1\r\nHost: docker\r\n"
        if body or method in {"POST", "PUT"}:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)
        lines = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP answer: {lines[0][:40]!r}")
        status, _, reason = rest.partition(" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in {"204", "304"}:
            answer = b""  # no body, whatever its headers say
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            answer = self._chunks()
        else:
            answer = self._exactly(int(headers.get("content-length", "0")))
        return int(status), reason, headers, answer

    def _chunks(self) -> bytes:
        parts = []
        while True:
            size = int(self._until(b"\r\n").split(b";")[0], 16)
            parts.append(self._exactly(size))
            self._exactly(2)  # the CRLF after each chunk (and after the last, empty one)
            if size == 0:
                return b"".join(parts)

    def _until(self, mark: bytes) -> bytes:
        while mark not in self.pending:
            self._receive()
        found, _, self.pending = self.pending.partition(mark)
        return found

    def _exactly(self, count: int) -> bytes:
        while len(self.pending) < count:
            self._receive()
        found, self.pending = self.pending[:count], self.pending[count:]
        return found

    def _receive(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the engine closed the connection mid-answer")
        self.pending += data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
