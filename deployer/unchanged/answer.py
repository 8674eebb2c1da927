"""The fast answer itself (`attempt`), and the record a full `up` leaves for it (`remember`)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from deployer.core import labels
from deployer.engine import wire
from deployer.model.errors import DeployerError
from deployer.unchanged import inputs, record
from deployer.unchanged.invocation import Invocation, parse

if TYPE_CHECKING:
    from deployer.core.status import Deployment
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


def replica_noun(target: str) -> str:
    """What a replica is on the target, in the words its own tools use."""
    return "container" if target == "engine" else "task"


def on_target(target: str) -> str:
    """How a message says where the stack runs ("" for one engine, the default)."""
    return "" if target == "engine" else f" on the {target}"


def up_summary(stack: str, addresses: list[str], target: str = "engine", probed: int = 0) -> str:
    """What a no-op `up` prints, whichever way it found that nothing differs."""
    said = notes(addresses, probed)
    first = f"{nothing_to_do(stack)}{on_target(target)}; every {replica_noun(target)} is healthy"
    return first + (f"\n{said}" if said else "")


def deployment_summary(deployment: Deployment, engine_address: str) -> str:
    """What a no-op `up` of this deployment prints once Docker has given every healthcheck its
    verdict: the only time the fast answer answers, so no replica is left as merely probed."""
    from deployer.core.status import addresses

    reach = [a.text() for a in addresses(deployment.replicas, engine_address)]
    return up_summary(deployment.stack, reach, deployment.target)


def _listed(reader: wire.Reader, path: str, **filters: list[str]) -> list[dict[str, Any]] | None:
    """A list call's items; None when the engine says anything but 200 with a list."""
    status, found = reader.get(path, {"all": 1, **wire.label_filter(**filters)})
    return found if status == 200 and isinstance(found, list) else None


def _ids(items: list[dict[str, Any]] | None) -> list[str] | None:
    return None if items is None else sorted(str(item.get("ID") or item["Id"]) for item in items)


def snapshot(
    reader: wire.Reader, stack: str, kind: str = "engine", starting: bool = False
) -> dict[str, Any] | None:
    """The stack's objects on the engine (or a swarm's manager), as far as the fast answer
    compares them; None when a replica is not running healthy (with `starting`, a healthcheck
    yet to give its first verdict is allowed), a deploy holds the lock, or the engine says no."""
    locks = _listed(reader, "/containers/json", label=[f"{labels.LOCK}={stack}"])
    networks = _ids(_listed(reader, "/networks", label=[f"{labels.STACK}={stack}"]))
    if locks is None or locks or networks is None:
        return None
    found = _swarm(reader, stack) if kind == "swarm" else _containers(reader, stack, starting)
    return None if found is None else {**found, "networks": networks}


def _containers(reader: wire.Reader, stack: str, starting: bool) -> dict[str, Any] | None:
    listed = _listed(reader, "/containers/json", label=[f"{labels.STACK}={stack}"])
    if listed is None:
        return None
    # With `starting`, a healthcheck yet to give its first verdict passes too.
    passing = {"healthy", "", "starting"} if starting else {"healthy", ""}
    containers: dict[str, str] = {}
    images: dict[str, str] = {}
    for item in listed:
        found = item.get("Labels") or {}
        if labels.ONE_OFF in found or labels.SWARM_TASK in found:
            continue
        health = wire.listed_health(str(item.get("Status", "")))
        if item.get("State") != "running" or health not in passing:
            return None
        containers[str(item["Id"])] = str(item.get("ImageID", ""))
        images[str(item.get("Image", ""))] = ""
    for reference in images:
        image_id = _image_id(reader, reference)
        if image_id is None:
            return None
        images[reference] = image_id
    return {"containers": containers, "images": images}


def _image_id(reader: wire.Reader, reference: str) -> str | None:
    """The id of the image a reference names on that engine; None when it has none."""
    status, image = reader.get(f"/images/{quote(reference, safe='/:@')}/json")
    return str(image.get("Id", "")) if status == 200 and isinstance(image, dict) else None


def _swarm(reader: wire.Reader, stack: str) -> dict[str, Any] | None:
    """Services by version (any update bumps it), their running tasks (a replaced task has
    another id), secrets and configs (named by their content)."""
    services = _listed(reader, "/services", label=[f"{labels.STACK}={stack}"])
    if not services:
        return None
    versions = {str(s["ID"]): int((s.get("Version") or {}).get("Index", 0)) for s in services}
    tasks = _listed(reader, "/tasks", service=sorted(versions), **{"desired-state": ["running"]})
    if tasks is None or any((t.get("Status") or {}).get("State") != "running" for t in tasks):
        return None
    secrets = _ids(_listed(reader, "/secrets", label=[f"{labels.STACK}={stack}"]))
    configs = _ids(_listed(reader, "/configs", label=[f"{labels.STACK}={stack}"]))
    if secrets is None or configs is None:
        return None
    return {"services": versions, "tasks": _ids(tasks), "secrets": secrets, "configs": configs}


def _images_where_built(socket_path: str, images: dict[str, str]) -> bool:
    """Whether each image (reference -> id) is still that id where deployer builds."""
    reader = wire.Reader(socket_path, TIMEOUT)
    try:
        return all(_image_id(reader, ref) == image_id for ref, image_id in images.items())
    finally:
        reader.close()


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


def remember(
    engine: Engine,
    stack: str,
    summary: str,
    builder: Engine | None = None,
    built: dict[str, str] | None = None,
) -> None:
    """After an `up` that left every replica healthy: the record for the next one. `summary`:
    what the no-op `up` prints; on a swarm, `builder` is where deployer built `built`
    (reference -> image id), which the fast answer checks too."""
    current = _recording
    if current is None:
        return
    manager = _local_socket(engine)
    where_built = _local_socket(builder) if builder is not None else ""
    if manager is None or where_built is None:
        return  # over ssh or tcp: not a local socket's engine
    kind = current.invocation.target
    reader = wire.Reader(manager, TIMEOUT)
    try:
        # Replicas whose healthcheck passed when deployer ran it early may not have Docker's
        # own verdict yet: the fast answer waits for that verdict, the record need not.
        state = snapshot(reader, stack, kind, starting=True)
    except (OSError, ValueError):
        state = None
    finally:
        reader.close()
    # A cache: without it the next `up` runs in full, as it always could.
    with suppress(DeployerError, OSError):
        _write(current, kind, manager, stack, summary, state, where_built, built)


def recording_now() -> bool:
    """Whether this process records its command line for a fast answer next time."""
    return _recording is not None


def _write(
    current: _Recording,
    kind: str,
    manager: str,
    stack: str,
    summary: str,
    state: dict[str, Any] | None,
    where_built: str,
    built: dict[str, str] | None,
) -> None:
    key = record.key()
    identity = current.invocation.identity()
    name = inputs.keyed_name(key, identity)
    if current.recorder.racy:
        record.forget(name)
        return
    # With no state (a replica still starting, say) the record still names the stack for
    # `status` and `logs`; only an `up` that finds a state equal to it is answered fast.
    seen = dict(current.recorder.seen)
    record.write(name, {
        "digest": inputs.digest(key, identity, seen), "paths": sorted(seen), "kind": kind,
        "socket": manager, "stack": stack, "summary": summary, "state": state,
        "builder": {"socket": where_built, "images": built or {}} if where_built else None,
    })  # fmt: skip


def _local_socket(engine: Engine | None) -> str | None:
    """The unix socket of an engine on this machine; None for any other."""
    from deployer.engine.docker_engine import DockerEngine

    if not isinstance(engine, DockerEngine) or engine.tunnel is not None:
        return None  # over ssh the socket is the tunnel's, gone with this command
    return engine.socket_path


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
    stack, summary = found
    if invocation.command == "plan":
        print(nothing_to_do(stack))
        return 0
    print(f"[{time.monotonic() - started:6.1f}s] {nothing_to_do(stack)}", file=sys.stderr)
    print(summary)
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


def _matching_record(invocation: Invocation) -> tuple[str, str] | None:
    found = _current_record(invocation)
    if found is None or found.get("kind") != invocation.target:
        return None
    reader = wire.Reader(str(found["socket"]), TIMEOUT)
    try:
        state = snapshot(reader, str(found["stack"]), invocation.target)
    finally:
        reader.close()
    if state is None or found["state"] is None or state != found["state"]:
        return None
    builder = found.get("builder")
    if builder and not _images_where_built(str(builder["socket"]), dict(builder["images"])):
        return None
    return str(found["stack"]), str(found["summary"])
