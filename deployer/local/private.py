"""Folders and files on this host that only the user running deployer controls.

deployer runs as root on most hosts, so a path it opens in a folder another user can write (a
link to /etc/shadow in /tmp) would be theirs to aim. Every local file deployer keeps (deploy
locks, the test cluster's sockets and keys) lives under a folder made here: owned by this user,
mode 0700, every folder above it owned by root or this user and writable by no one else (a
sticky /tmp counts as safe), opened without following links.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from deployer.model.errors import LocalFileError


def runtime_dir(*parts: str) -> Path:
    """A private folder for what lives only while the host runs (locks, sockets).

    DEPLOYER_RUNTIME_DIR, else $XDG_RUNTIME_DIR/deployer, else /run/deployer for root, else
    ~/.cache/deployer/run."""
    return private_dir(_runtime_base().joinpath(*parts))


def _runtime_base() -> Path:
    if os.environ.get("DEPLOYER_RUNTIME_DIR"):
        return Path(os.environ["DEPLOYER_RUNTIME_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "deployer"
    if os.geteuid() == 0:
        return Path("/run/deployer")
    return Path.home() / ".cache" / "deployer" / "run"


def own_folders() -> list[Path]:
    """Where deployer keeps its own files (runtime, cache, config), made or not."""
    return [
        _runtime_base(),
        _xdg("DEPLOYER_CACHE_DIR", "XDG_CACHE_HOME", ".cache"),
        _xdg("DEPLOYER_CONFIG_DIR", "XDG_CONFIG_HOME", ".config"),
    ]


def cache_dir(*parts: str) -> Path:
    """A private folder for what can be made again but is slow to make (base image archives):
    DEPLOYER_CACHE_DIR, else $XDG_CACHE_HOME/deployer, else ~/.cache/deployer."""
    return private_dir(_xdg("DEPLOYER_CACHE_DIR", "XDG_CACHE_HOME", ".cache").joinpath(*parts))


def config_dir(*parts: str) -> Path:
    """A private folder for what must outlive a reboot (keys): DEPLOYER_CONFIG_DIR, else
    $XDG_CONFIG_HOME/deployer, else ~/.config/deployer."""
    return private_dir(_xdg("DEPLOYER_CONFIG_DIR", "XDG_CONFIG_HOME", ".config").joinpath(*parts))


def _xdg(own: str, xdg: str, in_home: str) -> Path:
    """deployer's folder of a kind: $`own`, else $`xdg`/deployer, else ~/`in_home`/deployer."""
    if os.environ.get(own):
        return Path(os.environ[own])
    return Path(os.environ.get(xdg) or str(Path.home() / in_home)) / "deployer"


def private_dir(path: Path) -> Path:
    """`path`, made (0700) where missing; refused unless only this user controls it."""
    path = Path(os.path.abspath(path))
    me = os.geteuid()
    # The folders above it as written, and as they are once links are followed.
    real_parent = Path(os.path.realpath(path.parent))
    for ancestor in [*reversed(path.parents), *reversed(real_parent.parents), real_parent]:
        _check_ancestor(ancestor, me)
    for part in [*reversed(path.parents), path]:
        if part.exists() or part.is_symlink():
            continue
        try:
            part.mkdir(mode=0o700)
        except FileExistsError:
            pass  # made by another process just now; checked below like any other
        except OSError as error:
            raise LocalFileError(
                f"cannot make the folder {part}: {error.strerror}",
                hint="point DEPLOYER_RUNTIME_DIR (or DEPLOYER_CONFIG_DIR) at a folder you own",
            ) from None
        if part != path:
            _check_ancestor(part, me)
    fd = _open_dir(path)
    try:
        info = os.fstat(fd)
        if info.st_uid != me:
            raise LocalFileError(
                f"{path} belongs to user {info.st_uid}, not to you ({me}): deployer keeps its "
                "files only in folders that no other user controls",
                hint="remove it (it may have been planted), or point DEPLOYER_RUNTIME_DIR "
                "elsewhere",
            )
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o700)  # ours: tighten what an older version (or a umask) made
    finally:
        os.close(fd)
    return path


def _open_dir(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        reason = "it is a link" if path.is_symlink() else error.strerror
        raise LocalFileError(
            f"cannot use the folder {path}: {reason}",
            hint="deployer follows no link to its own files; remove the link, or point "
            "DEPLOYER_RUNTIME_DIR at a folder you own",
        ) from None


def _check_ancestor(folder: Path, me: int) -> None:
    """A folder above ours must not let another user swap what lies below it."""
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return
    except OSError as error:
        raise LocalFileError(f"cannot check the folder {folder}: {error.strerror}") from None
    owned = info.st_uid in (0, me)
    writable_by_others = bool(info.st_mode & 0o022) and not info.st_mode & stat.S_ISVTX
    if not owned or (writable_by_others and not stat.S_ISLNK(info.st_mode)):
        raise LocalFileError(
            f"{folder} can be changed by another user (owner {info.st_uid}, mode "
            f"{stat.S_IMODE(info.st_mode):o}): deployer keeps no files below it",
            hint="point DEPLOYER_RUNTIME_DIR (or DEPLOYER_CONFIG_DIR) at a folder only you own",
        )


def open_private_file(folder: Path, name: str, flags: int = os.O_RDWR | os.O_CREAT) -> int:
    """A file in a private folder, opened without following a link; refused unless it is a
    plain file this user owns."""
    if "/" in name or name in {"", ".", ".."}:
        raise LocalFileError(f"{name!r} is not a file name")
    dir_fd = _open_dir(folder)
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    except OSError as error:
        raise LocalFileError(
            f"cannot open {folder / name}: {error.strerror}",
            hint="deployer follows no link to its own files: remove what is there",
        ) from None
    finally:
        os.close(dir_fd)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        os.close(fd)
        raise LocalFileError(
            f"{folder / name} is not a plain file of yours",
            hint="remove it; deployer makes it again",
        )
    return fd


KEY_BYTES = 32


def kept_key(folder: Path, name: str) -> bytes:
    """A random key of this user's, kept 0600 as `name` in the private `folder`; made on first
    use (or when what is there is not a key)."""
    fd = open_private_file(folder, name, os.O_RDWR | os.O_CREAT)
    with os.fdopen(fd, "r+b") as file:
        key = file.read()
        if len(key) != KEY_BYTES:
            key = os.urandom(KEY_BYTES)  # the kernel's CSPRNG, as `secrets` uses
            file.seek(0)
            file.truncate()
            file.write(key)
    return key
