"""The fast answer itself (`attempt`), and the record a full `up` leaves for it (`remember`)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from deployer.core import labels
from deployer.engine import wire
from deployer.unchanged import inputs, record
from deployer.unchanged.invocation import Invocation, parse

if TYPE_CHECKING:
    from deployer.engine.protocol import Engine

TIMEOUT = 10.0  # seconds: a slower engine gets the full command, which reports what is wrong


def nothing_to_do(stack: str) -> str:
    """The plan's text when nothing differs (deployer.core.plan.Plan.text says the same)."""
    return f"stack {stack}: nothing to do"


def notes(addresses: list[str], probed: int = 0) -> str:
    """What follows an `up`'s last line: healthchecks run early, then where the stack answers."""
    lines = [
        f"  ({probed} container(s) passed their healthcheck when deployer ran it; "
        "Docker's own verdict follows at its first interval)"
    ] if probed else []  # fmt: skip
    return "\n".join([*lines, *(f"  {a}" for a in addresses)])


def up_summary(
    stack: str, addresses: list[str], where: str = "", noun: str = "container", probed: int = 0
) -> str:
    """What a no-op `up` prints, whichever way it found that nothing differs."""
    said = notes(addresses, probed)
    return f"{nothing_to_do(stack)}{where}; every {noun} is healthy" + (f"\n{said}" if said else "")


def snapshot(reader: wire.Reader, stack: str) -> dict[str, Any] | None:
    """The stack's objects on the engine, as far as the fast answer compares them; None when
    a container is not running healthy, a deploy holds the lock, or the engine says no."""
    status, listed = reader.get(
        "/containers/json", {"all": 1, **wire.label_filter(label=[f"{labels.STACK}={stack}"])}
    )
    if status != 200 or not isinstance(listed, list):
        return None
    containers: dict[str, str] = {}
    images: dict[str, str] = {}
    for item in listed:
        found = item.get("Labels") or {}
        if labels.ONE_OFF in found or labels.SWARM_TASK in found:
            continue
        health = wire.listed_health(str(item.get("Status", "")))
        if item.get("State") != "running" or health not in {"healthy", ""}:
            return None
        containers[str(item["Id"])] = str(item.get("ImageID", ""))
        images[str(item.get("Image", ""))] = ""
    status, locks = reader.get(
        "/containers/json", {"all": 1, **wire.label_filter(label=[f"{labels.LOCK}={stack}"])}
    )
    if status != 200 or locks:
        return None
    status, networks = reader.get("/networks", wire.label_filter(label=[f"{labels.STACK}={stack}"]))
    if status != 200 or not isinstance(networks, list):
        return None
    for reference in images:
        status, image = reader.get(f"/images/{reference}/json")
        if status != 200 or not isinstance(image, dict):
            return None
        images[reference] = str(image.get("Id", ""))
    return {
        "containers": containers,
        "images": images,
        "networks": sorted(str(n["Id"]) for n in networks),
    }


class _Recording:
    """The command line being recorded, and what it read so far."""

    def __init__(self, invocation: Invocation) -> None:
        from deployer.local.private import own_folders

        self.invocation = invocation
        self.recorder = inputs.Recorder([str(f) for f in own_folders()])


_recording: _Recording | None = None


@contextmanager
def recording(argv: list[str]) -> Iterator[None]:
    """While the full command runs: note what it reads, when its command line can be answered
    fast next time (`remember` then keeps it)."""
    global _recording
    invocation = parse(argv)
    if invocation is None or _unreachable_fast():
        yield
        return
    _recording = _Recording(invocation)
    try:
        with _recording.recorder:
            yield
    finally:
        _recording = None


def remember(engine: Engine, stack: str, addresses: list[str]) -> None:
    """After an `up` that left every container healthy: the record for the next one."""
    current = _recording
    if current is None:
        return
    from deployer.engine.docker_engine import DockerEngine

    if not isinstance(engine, DockerEngine) or engine.tunnel is not None:
        return  # over ssh, the socket is the tunnel's, gone with this command
    if not engine.socket_path:
        return
    reader = wire.Reader(engine.socket_path, TIMEOUT)
    try:
        state = snapshot(reader, stack)
    except (OSError, ValueError):
        state = None
    finally:
        reader.close()
    key = record.key()
    identity = current.invocation.identity()
    name = inputs.keyed_name(key, identity)
    if state is None or current.recorder.racy:
        record.forget(name)
        return
    seen = dict(current.recorder.seen)
    record.write(name, {
        "digest": inputs.digest(key, identity, seen), "paths": sorted(seen),
        "socket": engine.socket_path, "stack": stack, "addresses": addresses, **state,
    })  # fmt: skip


def _unreachable_fast() -> bool:
    """Where the fast answer never goes: another engine than a local socket's, completion."""
    host = os.environ.get("DOCKER_HOST", "")
    return bool(
        (host and not host.startswith("unix://"))
        or any(k.endswith("_COMPLETE") for k in os.environ)
    )


def attempt(argv: list[str]) -> int | None:
    """Answer an unchanged `up` or `plan` as the full command would (its exit code), or None:
    then the full command runs. Never raises: any doubt is a None."""
    started = time.monotonic()
    invocation = parse(argv)
    if invocation is None or _unreachable_fast():
        return None
    try:
        found = _matching_record(invocation)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if found is None:
        return None
    stack, addresses = found
    if invocation.command == "plan":
        print(nothing_to_do(stack))
        return 0
    print(f"[{time.monotonic() - started:6.1f}s] {nothing_to_do(stack)}", file=sys.stderr)
    print(up_summary(stack, addresses))
    return 0


def recorded_stack(invocation: Invocation) -> str | None:
    """The stack's name as the record of its last `up` has it, when every input it was made
    from is unchanged (`status` then needs no stack.py run to know it); else None."""
    try:
        found = _current_record(invocation)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(found["stack"]) if found else None


def _current_record(invocation: Invocation) -> dict[str, Any] | None:
    """The record of this command line, if its inputs are as they were then."""
    from deployer.model.errors import DeployerError

    try:
        key = record.key()
    except DeployerError:
        return None
    identity = invocation.identity()
    found = record.read(inputs.keyed_name(key, identity))
    if found is None:
        return None
    paths = [str(p) for p in found["paths"]]
    if inputs.digest(key, identity, inputs.current(paths)) != found["digest"]:
        return None
    return found


def _matching_record(invocation: Invocation) -> tuple[str, list[str]] | None:
    found = _current_record(invocation)
    if found is None:
        return None
    reader = wire.Reader(str(found["socket"]), TIMEOUT)
    try:
        state = snapshot(reader, str(found["stack"]))
    finally:
        reader.close()
    if state is None or any(state[k] != found[k] for k in ("containers", "images", "networks")):
        return None
    return str(found["stack"]), [str(a) for a in found["addresses"]]
