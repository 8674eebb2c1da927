"""The deploy lock on the engine (deployer.deploy.lock), against fake engines: two FakeEngines
sharing one `claims` dict are two processes' connections to one engine."""

import os
import subprocess
import threading
import time

import pytest

from deployer.core import labels
from deployer.core.events import Event, LockWaiting
from deployer.deploy import lock
from deployer.deploy.lock import DeployLock, this_machine
from deployer.engine.protocol import Claim
from deployer.model.errors import LockBusy
from tests.fakes import FakeEngine


def one_engine_twice() -> tuple[FakeEngine, FakeEngine]:
    shared: dict[str, Claim] = {}
    return FakeEngine(claims=shared), FakeEngine(claims=shared)


def planted(engine: FakeEngine, stack: str, *, pid: int, machine: str) -> None:
    """A marker someone else made: a process `pid` on `machine`."""
    engine.claim(
        labels.lock_name(stack),
        {labels.LOCK: stack, labels.LOCK_PID: str(pid), labels.LOCK_HOST: "elsewhere",
         labels.LOCK_MACHINE: machine, labels.LOCK_SINCE: "2026-12-03T10:00:00Z",
         labels.LOCK_WHAT: "up"},
    )  # fmt: skip


def test_second_deploy_on_the_same_engine_waits_then_gives_up_naming_the_holder() -> None:
    first, second = one_engine_twice()
    messages: list[Event] = []
    with (
        DeployLock("shop", 1, messages.append, first, "up"),
        pytest.raises(LockBusy) as caught,
        DeployLock("shop", 0.3, messages.append, second, "down"),
    ):
        pass
    assert f"up by pid {os.getpid()} on " in str(caught.value)
    assert caught.value.exit_code == 8
    assert isinstance(messages[0], LockWaiting)
    assert str(messages[0]).startswith(
        f"waiting for the deploy lock of stack shop (up by pid {os.getpid()}"
    )


def test_the_waiter_gets_the_lock_when_the_holder_releases_it() -> None:
    first, second = one_engine_twice()
    order: list[str] = []
    holding = threading.Event()

    def hold() -> None:
        with DeployLock("shop", 1, print, first, "up"):
            holding.set()
            time.sleep(0.3)
            order.append("first done")

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait()
    with DeployLock("shop", 5, print, second, "up"):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


def test_other_stacks_and_other_engines_do_not_wait() -> None:
    first, second = one_engine_twice()
    with DeployLock("shop", 1, print, first), DeployLock("blog", 0.1, print, second):
        pass
    with DeployLock("shop", 1, print, FakeEngine()), DeployLock("shop", 0.1, print, FakeEngine()):
        pass


def test_a_released_lock_leaves_no_marker_and_no_note() -> None:
    engine = FakeEngine()
    messages: list[Event] = []
    with DeployLock("shop", 1, messages.append, engine):
        assert list(engine.claims) == ["deployer-lock.shop"]
    assert engine.claims == {}
    with DeployLock("shop", 0.1, messages.append, engine):
        pass
    assert messages == []


def test_released_when_the_work_fails() -> None:
    engine = FakeEngine()
    with pytest.raises(RuntimeError), DeployLock("shop", 1, print, engine):
        raise RuntimeError("the deploy failed")
    assert engine.claims == {}


def test_the_marker_says_who_when_and_what() -> None:
    engine = FakeEngine()
    with DeployLock("shop", 1, print, engine, "rollback"):
        held = engine.claims["deployer-lock.shop"].labels
    assert held[labels.LOCK_PID] == str(os.getpid())
    assert held[labels.LOCK_WHAT] == "rollback"
    assert held[labels.LOCK_MACHINE] == this_machine()
    assert held[labels.LOCK_SINCE].endswith("Z")


def test_a_holder_gone_from_this_machine_is_taken_over_at_once() -> None:
    engine = FakeEngine()
    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its pid names no process
    planted(engine, "shop", pid=dead.pid, machine=this_machine())
    messages: list[Event] = []
    started = time.monotonic()
    with DeployLock("shop", 5, messages.append, engine):
        assert engine.claims["deployer-lock.shop"].labels[labels.LOCK_PID] == str(os.getpid())
    assert time.monotonic() - started < 1
    assert [str(m) for m in messages] == [
        f"warning: took over the deploy lock of up by pid {dead.pid} on elsewhere, since "
        "2026-12-03T10:00:00Z (its process is gone)"
    ]


def test_a_holder_elsewhere_whose_lease_stopped_is_taken_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lock, "LEASE_SECONDS", 0.4)
    engine = FakeEngine()
    planted(engine, "shop", pid=1, machine="another-machine")
    messages: list[Event] = []
    with DeployLock("shop", 5, messages.append, engine):
        pass
    assert isinstance(messages[0], LockWaiting)
    assert str(messages[-1]).endswith("(its lease ran out)")


def test_a_holder_elsewhere_that_renews_its_lease_keeps_the_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lock, "LEASE_SECONDS", 0.4)
    monkeypatch.setattr(lock, "RENEW_SECONDS", 0.05)
    monkeypatch.setattr(lock, "POLL_SECONDS", 0.05)
    first, second = one_engine_twice()
    with DeployLock("shop", 5, print, first):
        # The holder looks as if it were on another machine: only its lease tells it is alive.
        name = labels.lock_name("shop")
        held = first.claims[name]
        first.claims[name] = Claim(held.id, {**held.labels, labels.LOCK_MACHINE: "other"}, 0)
        with pytest.raises(LockBusy), DeployLock("shop", 1.2, print, second):
            pass
        assert first.claims[name].lease > 3  # renewed while the other waited
