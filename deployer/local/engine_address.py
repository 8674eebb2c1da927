"""Which engine a process talks to, and what its address says about where it runs (pure: no
docker import).

The address is, first to last: -H/--host on the command line, the stack's `engine`, then
DOCKER_HOST, the Docker context, the local socket (the last three read by docker_engine).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from deployer.local import ssh_tunnel

_chosen: dict[str, str] = {}


def choose(address: str | None, *, from_command_line: bool = False) -> None:
    """Set the address this process's engine calls use; the command line's is never replaced
    by a stack's."""
    if not address:
        return
    if from_command_line or "command line" not in _chosen:
        _chosen["address"] = address
        ssh_tunnel.prestart(address)
    if from_command_line:
        _chosen["command line"] = address


def prestart_from_environment() -> None:
    """DOCKER_HOST=ssh://...: start its tunnel while the command loads (a stack's `engine` or
    -H, when given, replaces it and this one is closed unused at exit)."""
    if not _chosen:
        ssh_tunnel.prestart(os.environ.get("DOCKER_HOST", ""))


def chosen_address() -> str | None:
    return _chosen.get("address")


def forget() -> None:
    """Back to DOCKER_HOST and the context (tests, and a long-lived process between stacks)."""
    _chosen.clear()


def remote_host(address: str) -> str | None:
    """The machine an engine address points at, when it is not this one: ssh://user@host:22 and
    tcp://host:2376 give "host"; unix:// and npipe:// give None."""
    try:
        parts = urlsplit(address)
    except ValueError:
        return None
    if parts.scheme not in {"ssh", "tcp", "http", "https"} or not parts.hostname:
        return None
    return parts.hostname
