"""Which engine this process talks to (no docker import here).

The address is, first to last: -H/--host on the command line, the stack's `engine`, then
DOCKER_HOST, the Docker context, the local socket (the last three read by docker_engine).
"""

from __future__ import annotations

import os

_chosen: dict[str, str] = {}


def choose(address: str | None, *, from_command_line: bool = False) -> None:
    """Set the address this process's engine calls use; the command line's is never replaced
    by a stack's."""
    if not address:
        return
    if (from_command_line or "command line" not in _chosen) and _chosen.get("address") != address:
        _chosen["address"] = address
        _prestart(address)  # once per address: a stack loaded again starts no second ssh
    if from_command_line:
        _chosen["command line"] = address


def prestart_from_environment() -> None:
    """DOCKER_HOST=ssh://...: start its tunnel while the command loads (a stack's `engine` or
    -H, when given, replaces it and this one is closed unused at exit)."""
    if not _chosen:
        _prestart(os.environ.get("DOCKER_HOST", ""))


def _prestart(address: str) -> None:
    if address.startswith("ssh://"):
        from deployer.local import ssh_tunnel  # only an ssh:// engine pays for it

        ssh_tunnel.prestart(address)


def chosen_address() -> str | None:
    return _chosen.get("address")
