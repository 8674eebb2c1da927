"""Taking a stack (or what an update left) off one engine: containers in reverse dependency
order, each level at once; then its networks and deployer's volumes. `down` needs nothing else
(no models, no images), so it loads nothing else."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from deployer.core import labels
from deployer.core.events import ContainerRemoved, ObjectRemoved, Report, Warning
from deployer.core.graph import levels
from deployer.core.plan import Action, Cause, CauseKind, Kind
from deployer.core.state import ObservedState, replica_of
from deployer.deploy.lock import DeployLock
from deployer.engine import Engine
from deployer.model.errors import EngineError
from deployer.targets.engine.observe import observe_for_removal

DOWN = Cause(CauseKind.DOWN)


# How long the engine may take to let go of a removed container's endpoint on a network.
ENDPOINT_RELEASE_SECONDS = 15.0
# After this long an endpoint whose container is gone is stale (moby/moby#42119): cut it off.
STALE_ENDPOINT_SECONDS = 3.0


def remove_network(engine: Engine, network_id: str, report: Report | None = None) -> None:
    """Remove a network whose containers were just removed. The engine frees their endpoints
    asynchronously: with dozens of containers, "has active endpoints" can still come a moment
    after the last removal returned, so that answer is retried until it stops; an endpoint
    still there after STALE_ENDPOINT_SECONDS whose container no longer exists is one the engine
    leaked, and is force-disconnected (as `docker network disconnect -f` would)."""
    started = time.monotonic()
    deadline = started + ENDPOINT_RELEASE_SECONDS
    released = False
    while True:
        try:
            engine.remove_network(network_id)
            return
        except EngineError as error:
            if "active endpoints" not in error.message:
                raise
            if not released and time.monotonic() - started > STALE_ENDPOINT_SECONDS:
                released = True
                freed = engine.release_stale_endpoints(network_id)
                if freed and report is not None:
                    kept = ", ".join(freed)
                    report(Warning(f"network {network_id[:12]}: cut off the endpoints the engine "
                                   f"kept of removed containers: {kept}"))  # fmt: skip
                continue
            if time.monotonic() > deadline:
                raise EngineError(
                    error.message,
                    hint="the stack's containers are gone, but the engine still counts an "
                    "endpoint on the network: a known engine bug (moby/moby#42119) that a "
                    "restart of dockerd clears; `down` again afterwards removes the network",
                ) from None
        time.sleep(0.1)


def remove_containers(
    engine: Engine,
    actions: list[Action],
    observed: ObservedState,
    report: Report,
    stop_timeout: int | None = None,
) -> None:
    """Stop and remove containers in reverse dependency order, in parallel within a level.

    With `stop_timeout` 0 (no grace: a throwaway, say) nothing drains, so there is no order to
    keep: every container is killed and removed at once.
    """
    edges = observed.dependency_edges()
    by_service: dict[str, list[Action]] = {}
    for action in actions:
        by_service.setdefault(action.service, []).append(action)
    order = levels({s: [d for d in edges.get(s, []) if d in by_service] for s in by_service})
    if stop_timeout == 0:
        order = [[service for level in order for service in level]]
    for level in reversed(order):
        batch = [action for service in level for action in by_service[service]]

        def stop_and_remove(action: Action) -> None:
            if stop_timeout != 0:
                engine.stop(action.object_id, stop_timeout)
            engine.remove_container(action.object_id)  # forced: it kills what still runs
            report(ContainerRemoved(action.resource, action.why()))

        with ThreadPoolExecutor(max_workers=max(1, len(batch))) as pool:
            list(pool.map(stop_and_remove, batch))


@dataclass(frozen=True)
class Removal:
    """How `down` goes about it."""

    stop_timeout: int | None = None  # seconds before a kill; None: each container's own
    remove_images: bool = False  # the images deployer built for the stack
    remove_volumes: bool = False  # named data volumes too
    lock_timeout: float | None = None  # hold the stack's deploy lock (None: the caller does)
    only: dict[str, str] | None = None  # only objects that also carry these labels


def down(name: str, engine: Engine, report: Report, how: Removal = Removal()) -> int:
    """Stop and remove the stack's containers, networks and deployer's volumes (and, as asked,
    data volumes and built images). Returns how many objects went."""
    if how.lock_timeout is not None:
        with DeployLock(name, how.lock_timeout, report, engine, "down"):
            return down(name, engine, report, replace(how, lock_timeout=None))
    observed = observe_for_removal(engine, name, how.only)
    removals = [
        Action(Kind.REMOVE, c.name, DOWN, c.labels.get(labels.SERVICE, ""), replica_of(c), c.id)
        for c in [*observed.one_offs, *observed.containers]
    ]
    remove_containers(engine, removals, observed, report, how.stop_timeout)
    for network in observed.networks:
        remove_network(engine, network.id, report)
        report(ObjectRemoved("network", network.name))
    volumes = [
        v for v in observed.volumes
        if how.remove_volumes or v.labels.get(labels.VOLUME_KIND, "socket") != "data"
    ]  # fmt: skip
    for volume in volumes:
        engine.remove_volume(volume.name)
        report(ObjectRemoved("volume", volume.name))
    built = engine.images(labels.image_filter(name)) if how.remove_images else []
    for tag in built:
        engine.remove_image(tag)
        report(ObjectRemoved("image", tag))
    containers = len(observed.containers) + len(observed.one_offs)
    return containers + len(observed.networks) + len(volumes) + len(built)
