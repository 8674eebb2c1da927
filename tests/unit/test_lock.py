import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deployer.core.events import Event
from deployer.deploy.lock import DeployLock
from deployer.model.errors import LockBusy


@pytest.fixture(autouse=True)
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEPLOYER_LOCK_DIR", str(tmp_path))
    return tmp_path


def test_second_deploy_waits_then_gives_up_with_the_holder() -> None:
    messages: list[Event] = []
    with (
        DeployLock("shop", 1, messages.append),
        pytest.raises(LockBusy) as caught,
        DeployLock("shop", 0.3, messages.append),
    ):
        pass
    assert f"held by pid {os.getpid()}" in str(caught.value)
    assert caught.value.exit_code == 8
    assert str(messages[0]).startswith("waiting for the deploy lock of stack shop (held by pid")


def test_other_stacks_do_not_wait() -> None:
    with DeployLock("shop", 1, print), DeployLock("blog", 0.1, print):
        pass


def test_lock_is_free_again_after_release() -> None:
    messages: list[Event] = []
    with DeployLock("shop", 1, messages.append):
        pass
    with DeployLock("shop", 0.1, messages.append):
        pass
    assert messages == []  # a clean release leaves no note to take over


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sys, time
            from deployer.deploy.lock import DeployLock
            with DeployLock("shop", 5, print):
                print("locked", flush=True)
                time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "DEPLOYER_LOCK_DIR": str(tmp_path)},
    )  # fmt: skip
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    messages: list[Event] = []
    with DeployLock("shop", 2, messages.append):
        pass
    assert len(messages) == 1
    assert str(messages[0]).startswith(
        f"warning: took over a stale deploy lock (held by pid {holder.pid} on "
    )
    assert str(messages[0]).endswith("; that process is gone)")
