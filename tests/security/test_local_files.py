"""Another local user must not aim deployer's own files (it runs as root): audit finding 1.

The planted folders belong to a real other user (uid 65534, "nobody"), so these need root;
a developer's unprivileged run skips them, CI runs as root.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deployer import api
from deployer.local.private import private_dir
from deployer.local.ssh_tunnel import Tunnel, parse
from deployer.model.errors import LocalFileError
from deployer.model.spec import Service, Stack
from tests.fakes import FakeEngine

OTHER_USER = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="plants files as another user: needs root")


def demo() -> Stack:
    return Stack(name="demo", services=[Service(name="web", image="web:1")])


def fake() -> FakeEngine:
    return FakeEngine(images={"web:1": "sha256:w"})


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file only root may change, with content no one else may read."""
    file = tmp_path / "shadow"
    file.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    file.chmod(0o600)
    return file


@pytest.fixture(autouse=True)
def own_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYER_LOCK_DIR", raising=False)
    monkeypatch.setenv("DEPLOYER_RUNTIME_DIR", str(tmp_path / "run"))


@as_root
def test_a_link_planted_where_the_old_lock_lived_is_never_opened(
    victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The old lock folder, /tmp/deployer-locks, made by another user before root's `up`.
    planted = Path("/tmp/deployer-locks")
    planted.mkdir(exist_ok=True)
    os.chown(planted, OTHER_USER, OTHER_USER)
    links = [planted / f"{name}--demo.lock" for name in ("default", "FAKE_ENGINE_ID")]
    for link in links:
        link.unlink(missing_ok=True)
        link.symlink_to(victim)
    messages: list[object] = []
    try:
        api.up(demo(), engine=fake(), report=messages.append)
    finally:
        for link in links:
            link.unlink(missing_ok=True)
    assert victim.read_text().startswith("root:$6$secret-hash")
    assert not any("secret-hash" in str(message) for message in messages)


@as_root
def test_a_runtime_folder_of_another_user_is_refused_with_exit_9(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = tmp_path / "run"
    planted.mkdir()
    os.chown(planted, OTHER_USER, OTHER_USER)
    monkeypatch.setenv("DEPLOYER_RUNTIME_DIR", str(planted))
    with pytest.raises(LocalFileError) as refused:
        Tunnel(parse("ssh://deploy@server.example"))
    assert refused.value.exit_code == 9
    assert str(planted) in refused.value.message
    assert "can be changed by another user (owner 65534" in refused.value.message


def test_a_link_in_place_of_the_tunnel_folder_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "tunnels").symlink_to(elsewhere)
    with pytest.raises(LocalFileError, match="it is a link"):
        Tunnel(parse("ssh://deploy@server.example"))
    assert list(elsewhere.iterdir()) == []


@as_root
def test_a_folder_above_that_others_may_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # no sticky bit: anyone may swap what is below
    with pytest.raises(LocalFileError, match="can be changed by another user"):
        private_dir(shared / "deployer" / "locks")
    assert not (shared / "deployer").exists()


def test_the_tunnel_folder_is_private_and_the_deploy_lock_writes_no_local_file(
    tmp_path: Path,
) -> None:
    tunnel = Tunnel(parse("ssh://deploy@server.example"))
    assert tunnel.socket_path.parent.stat().st_mode & 0o777 == 0o700
    api.up(demo(), engine=fake())
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["tunnels"]


def test_an_unreadable_lock_folder_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    with pytest.raises(LocalFileError):
        private_dir(blocked / "locks")


def test_gc_removes_only_the_dead_sessions_throwaway_objects() -> None:
    from deployer.core import labels

    fake = FakeEngine(images={"web:1": "sha256:w"})
    # A dead test session's throwaway, and someone's real stack that happens to share its name.
    dead = {labels.THROWAWAY: "1", labels.SESSION: "4242-dead"}
    throwaway = Stack(name="shop", labels=dead, services=[Service(name="tmp", image="web:1")])
    api.up(throwaway, engine=fake)
    real = Stack(name="shop", services=[Service(name="web", image="web:1")])
    api.up(real, engine=fake, options=api.UpOptions(services=("web",)))
    assert len(fake.container_state) == 2
    removed = api.gc(engine=fake)
    left = sorted(c.name for c in fake.container_state.values())
    assert left == ["shop-web-1"]
    assert removed == 2  # its container and its network


def test_a_folder_of_ours_that_others_may_enter_is_tightened(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o755)
    assert private_dir(loose) == loose
    assert loose.stat().st_mode & 0o777 == 0o700
