"""deployer's reaper: removes what a test session created once that session's connection drops.

It runs in a container of its own with the engine's socket mounted. Protocol, one TCP connection
per test process, held open for the process's whole life:

    client -> "<session token> label=<session label>=<session id>\\n"
    reaper -> "ACK\\n"

The reaper is started for one session (REAPER_SESSION_LABEL, REAPER_SESSION) with a secret token
(REAPER_TOKEN) that only the session's process knows: it accepts that filter with that token and
nothing else ("ERR ..."), so whatever reaches its port can never make it remove anything but that
session's objects. Only connections that gave the token count: another local process that
connects and drops can neither make it reap early nor keep it from reaping. When every counted
connection has closed and none comes back within GRACE seconds, it removes every container, then
every network and volume, carrying the session's label, and exits. A process that is SIGKILLed
closes its connection all the same (the kernel does it), which is the point.

A reaper for a Swarm (REAPER_SWARM=1, the manager's API socket mounted) removes the session's
services, configs and secrets on the manager instead, then their stacks' networks.
"""

from __future__ import annotations

import hmac
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from typing import Any

ENGINE_SOCKET = os.environ.get("REAPER_ENGINE_SOCKET", "/var/run/docker.sock")
PORT = int(os.environ.get("REAPER_PORT", "8080"))
GRACE = float(os.environ.get("REAPER_GRACE", "2"))
FIRST_CONNECTION_TIMEOUT = float(os.environ.get("REAPER_FIRST_CONNECTION_TIMEOUT", "60"))
API = "/v1.41"
SWARM = os.environ.get("REAPER_SWARM", "") == "1"
TOKEN = os.environ.get("REAPER_TOKEN", "")
STACK_LABEL = os.environ.get("REAPER_STACK_LABEL", "io.deployer.stack")
# Removed services' tasks let go of their configs, secrets and networks a few seconds later.
RELEASE_SECONDS = 60.0
SESSION_FILTER = "label={}={}".format(
    os.environ.get("REAPER_SESSION_LABEL", "io.deployer.session"),
    os.environ.get("REAPER_SESSION", ""),
)

filters: set[str] = set()
connections = 0
seen_any = False  # a connection that gave the token
last_change = time.monotonic()
lock = threading.Lock()


class EngineConnection(http.client.HTTPConnection):
    def __init__(self) -> None:
        super().__init__("localhost", timeout=60)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(ENGINE_SOCKET)
        self.sock = sock


def call(method: str, path: str, query: dict[str, str] | None = None) -> Any:
    connection = EngineConnection()
    url = API + path + ("?" + urllib.parse.urlencode(query) if query else "")
    connection.request(method, url)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status >= 400 and response.status != 404:
        print(f"reaper: {method} {path}: {response.status} {body[:200]!r}", flush=True)
        return False
    return json.loads(body) if body.startswith((b"[", b"{")) else True


def remove_until_released(path: str, what: str) -> None:
    """A config, secret or network stays in use until the removed services' tasks are gone."""
    deadline = time.monotonic() + RELEASE_SECONDS
    while call("DELETE", path) is False and time.monotonic() < deadline:
        time.sleep(0.5)
    print(f"reaper: removed {what}", flush=True)


def reap_swarm(query: dict[str, str]) -> None:
    services = call("GET", "/services", query) or []
    stacks = {(s["Spec"].get("Labels") or {}).get(STACK_LABEL, "") for s in services}
    for service in services:
        call("DELETE", f"/services/{service['ID']}")
        print(f"reaper: removed service {service['Spec']['Name']}", flush=True)
    for kind in ("configs", "secrets"):
        for item in call("GET", f"/{kind}", query) or []:
            remove_until_released(f"/{kind}/{item['ID']}", f"{kind[:-1]} {item['Spec']['Name']}")
    for stack in sorted(stacks - {""}):
        by_stack = {"filters": json.dumps({"label": [f"{STACK_LABEL}={stack}"]})}
        for network in call("GET", "/networks", by_stack) or []:
            remove_until_released(f"/networks/{network['Id']}", f"network {network['Name']}")


def reap() -> None:
    wanted = sorted(filters)
    print(f"reaper: removing everything matching {wanted}", flush=True)
    if SWARM:
        for flt in wanted:
            key, _, value = flt.partition("=")
            reap_swarm({"filters": json.dumps({key: [value]})})
        return
    for flt in wanted:
        key, _, value = flt.partition("=")
        query = {"filters": json.dumps({key: [value]})}
        for container in call("GET", "/containers/json", {**query, "all": "1"}) or []:
            call("DELETE", f"/containers/{container['Id']}", {"force": "1", "v": "1"})
    for flt in wanted:
        key, _, value = flt.partition("=")
        query = {"filters": json.dumps({key: [value]})}
        for network in call("GET", "/networks", query) or []:
            call("DELETE", f"/networks/{network['Id']}")
        volumes = call("GET", "/volumes", query) or {}
        for volume in volumes.get("Volumes") or []:
            call("DELETE", f"/volumes/{volume['Name']}")


def authentic(text: str) -> bool:
    token, _, wanted = text.partition(" ")
    if not TOKEN or SESSION_FILTER.endswith("="):
        return False
    return hmac.compare_digest(token.encode(), TOKEN.encode()) and wanted == SESSION_FILTER


def serve_client(client: socket.socket) -> None:
    global connections, last_change, seen_any
    counted = False
    buffer = b""
    try:
        client.settimeout(10)  # a stranger that says nothing is dropped
        while True:
            data = client.recv(4096)
            if not data:
                break
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                text = line.decode(errors="replace").strip()
                if authentic(text):
                    with lock:
                        filters.add(SESSION_FILTER)
                        if not counted:
                            connections += 1
                            seen_any = True
                            last_change = time.monotonic()
                    counted = True
                    client.settimeout(None)
                    client.sendall(b"ACK\n")
                elif text:
                    print("reaper: refused a line without the session's token", flush=True)
                    client.sendall(b"ERR this reaper removes only its own session's objects\n")
            if len(buffer) > 4096:
                break
    except OSError:
        pass
    finally:
        client.close()
        if counted:
            with lock:
                connections -= 1
                last_change = time.monotonic()


def main() -> int:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", PORT))
    server.listen(64)
    server.settimeout(0.2)
    print(f"reaper: listening on {PORT}", flush=True)
    started = time.monotonic()
    while True:
        try:
            client, _ = server.accept()
            threading.Thread(target=serve_client, args=(client,), daemon=True).start()
        except TimeoutError:
            pass
        with lock:
            idle = connections == 0 and time.monotonic() - last_change > GRACE
            authenticated = seen_any
        if authenticated and idle:
            reap()
            return 0
        if not authenticated and time.monotonic() - started > FIRST_CONNECTION_TIMEOUT:
            print("reaper: nobody connected; exiting", flush=True)
            return 0


if __name__ == "__main__":
    sys.exit(main())
