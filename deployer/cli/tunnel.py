"""`deployer tunnel`: the ports a stack publishes on a server's loopback, forwarded here.

A server's stack publishes on its loopback by default (nothing listens beyond it without
authentication): this forwards each such port through ssh to the same port on this machine's
127.0.0.1 (another when that one is taken), until Ctrl-C.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import TYPE_CHECKING

import typer

from deployer.cli.app import (
    FilesOption,
    JsonOption,
    NameOption,
    ProjectOption,
    ServicesArgument,
    TargetOption,
    chosen_target,
    source,
)
from deployer.model.errors import NotFound
from deployer.targets.base import NotOnTarget

if TYPE_CHECKING:  # a type only: the tunnel module loads when the command runs
    from deployer.local.ssh_tunnel import Tunnel

commands = typer.Typer(rich_markup_mode=None)  # put on the root app by deployer.cli.main


@commands.command()
def tunnel(
    ctx: typer.Context,
    services: ServicesArgument = None,
    files: FilesOption = None,
    project: ProjectOption = None,
    name: NameOption = None,
    json_output: JsonOption = False,
    target_name: TargetOption = None,
) -> int:
    """Forward the ports the stack publishes on a server (ssh://) to this machine's loopback,
    until Ctrl-C."""
    from deployer.local.ssh_tunnel import Tunnel, free_port, parse

    target = chosen_target(ctx, "tunnel")
    stack_name = name or source(ctx, files, project).name()
    rows = target.status(stack_name)
    address = target.engine_address()
    if not address.startswith("ssh://"):
        raise NotOnTarget(
            f"`tunnel`: the engine ({address}) is not reached over ssh://; its published ports "
            "are already where it runs",
        )
    wanted = set(services or [])
    known = {row.service for row in rows}
    if wanted - known:
        raise NotFound(
            f"stack {stack_name} has no running service {', '.join(sorted(wanted - known))}",
            hint=f"its services: {', '.join(sorted(known)) or 'none (is it up?)'}",
        )
    ports: dict[tuple[str, int], tuple[str, str]] = {}  # (host ip, port) -> (service, container)
    for row in rows:
        if wanted and row.service not in wanted:
            continue
        for port in row.ports:
            if port.protocol == "tcp":
                host = "127.0.0.1" if port.host_ip in {"", "0.0.0.0"} else port.host_ip
                ports.setdefault((host, port.host_port), (row.service, str(port.container_port)))
    if not ports:
        raise NotFound(f"stack {stack_name} publishes no TCP port to forward")
    forwards = [(free_port(port), host, port) for host, port in ports]
    opened = Tunnel(parse(address), forwards)
    opened.open()
    lines = [
        {"service": ports[(host, port)][0], "url": f"http://127.0.0.1:{local}",
         "server_port": f"{host}:{port}"}
        for local, host, port in forwards
    ]  # fmt: skip
    if json_output:
        print(json.dumps({"stack": stack_name, "forwards": lines}), flush=True)
    else:
        for line in lines:
            print(f"{line['service']}: {line['url']} -> {line['server_port']} on the server",
                  flush=True)  # fmt: skip
        print("forwarding until Ctrl-C", file=sys.stderr, flush=True)
    return _hold(opened)


def _hold(opened: Tunnel) -> int:
    """Until Ctrl-C or SIGTERM (exit 0), or until ssh ends (exit 3 with its message)."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            if not opened.alive():
                raise opened.failure()
    except KeyboardInterrupt:
        pass
    opened.close()
    return 0
