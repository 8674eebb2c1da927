"""The deploy lock's marker on the real engine, through plain HTTP on the unix socket (the
engine module's own transport, engine.wire): taken once, refused to a second taker, renewed,
read back, released, and its image imported where it is missing."""

from __future__ import annotations

import contextlib
import threading
import uuid

import docker

from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from deployer.model.errors import DeployerError


def test_a_marker_is_taken_once_renewed_read_and_released(
    engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    name = labels.lock_name(f"lock-{uuid.uuid4().hex[:8]}")
    taken = engine.claim(name, {labels.LOCK: "x", labels.LOCK_WHAT: "up"})
    try:
        assert taken is not None
        assert engine.claim(name, {labels.LOCK: "x"}) is None  # held: the second taker waits
        seen = engine.claim_info(name)
        assert seen is not None and seen.id == taken and seen.labels[labels.LOCK_WHAT] == "up"
        engine.renew_claim(taken, 7)
        renewed = engine.claim_info(name)
        assert renewed is not None and renewed.lease == 7
        marker = docker_api.inspect_container(taken)
        assert marker["HostConfig"]["NetworkMode"] == "none" and not marker["State"]["Running"]
    finally:
        if taken:
            engine.release_claim(taken)
    assert engine.claim_info(name) is None
    engine.release_claim(taken or "")  # released twice: nothing to do, no error


def test_the_marker_image_is_imported_where_it_is_missing(
    engine: DockerEngine, docker_api: docker.APIClient
) -> None:
    before = engine.image_id(labels.LOCK_IMAGE)
    engine._import_lock_image()  # what claim() does on a 404 for the image
    after = engine.image_id(labels.LOCK_IMAGE)
    assert after is not None
    if before and before != after:  # the one it replaced, unless a marker still uses it
        with contextlib.suppress(docker.errors.APIError):
            docker_api.remove_image(before)
    found = engine.claim_info(labels.lock_name("never-taken-" + uuid.uuid4().hex[:6]))
    assert found is None


def test_a_waiter_reading_the_marker_while_its_holder_releases_it_sees_it_released(
    engine: DockerEngine,
) -> None:
    """Read while being removed, the marker's lease file may be refused with a 500 ("RWLayer
    ... is unexpectedly nil"; measured: 191 in 150 releases read in a loop). A waiter takes that
    for a release, not an engine failure: a second `up` once failed with exit 6 so."""
    name = labels.lock_name(f"lock-{uuid.uuid4().hex[:8]}")
    failures: list[str] = []

    def wait_on_it(reading: threading.Event, released: threading.Event) -> None:
        while True:
            done = released.is_set()  # one more read after the release has returned
            try:
                engine.claim_info(name)
            except DeployerError as error:
                failures.append(str(error))
            reading.set()
            if done:
                return

    for _ in range(30):
        taken = engine.claim(name, {labels.LOCK: "x"})
        assert taken is not None
        reading, released = threading.Event(), threading.Event()
        waiter = threading.Thread(target=wait_on_it, args=(reading, released))
        waiter.start()
        assert reading.wait(timeout=60)  # the waiter has read the marker as held
        engine.release_claim(taken)
        released.set()
        waiter.join(timeout=60)
    assert failures == [], failures[:3]
    assert engine.claim_info(name) is None
