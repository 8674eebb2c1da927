"""`ssh://user@host[:port]`: an OpenSSH tunnel from a private unix socket here to the server's
Docker socket, started and stopped by deployer itself.

Why OpenSSH and not paramiko (docker-py's own ssh://), measured against a server with sshd's
default `MaxSessions 10` (bench/remote.py, README "Deploy to a server"): docker-py opens one SSH
session per pooled HTTP connection, so deployer's parallel reads hit the session limit
("ChannelException: Connect failed"), and a raw exec/attach socket is a paramiko Channel that
an interactive `exec -it` cannot pump. One `ssh -L` multiplexes every connection over one
session, uses the user's ssh config, keys, agent and known_hosts as `ssh` itself does, and gives
plain sockets to everything. `ssh` is run with BatchMode: it never asks for a password or to
accept a host key; it fails, and deployer says what to do.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from deployer.local.private import runtime_dir
from deployer.model.errors import DeployerError, EngineUnavailable

DEFAULT_REMOTE_SOCKET = "/var/run/docker.sock"
OPEN_TIMEOUT = 30.0  # ssh's own ConnectTimeout (10 s) is the usual bound; this is the last one
# Lines of ssh's stderr kept for a message (its log goes to a private file, never a pipe that a
# long session could fill).
_KEPT_LINES = 6
_OPENED: list[Tunnel] = []  # this process's tunnels, to tell a dropped link from a dead engine
_STARTED: dict[str, Tunnel] = {}  # engine tunnels started ahead (prestart), by address


@dataclass(frozen=True)
class SshAddress:
    """Where a server's engine is: ssh://[user@]host[:port][/path/to/docker.sock]."""

    host: str
    user: str | None = None
    port: int | None = None
    socket: str = DEFAULT_REMOTE_SOCKET

    @property
    def url(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        path = "" if self.socket == DEFAULT_REMOTE_SOCKET else self.socket
        return f"ssh://{user}{self.host}{port}{path}"

    def ssh_arguments(self) -> list[str]:
        port = ["-p", str(self.port)] if self.port else []
        user = ["-l", self.user] if self.user else []
        return [*port, *user]


def parse(url: str) -> SshAddress:
    """An ssh:// address, or EngineUnavailable (exit 3) naming what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise EngineUnavailable(f"engine address {url!r}: {error}") from None
    if parts.scheme != "ssh" or not parts.hostname:
        raise EngineUnavailable(
            f"engine address {url!r} is not ssh://[user@]host[:port]",
            hint="e.g. DOCKER_HOST=ssh://deploy@example.com or -H ssh://deploy@example.com:2222",
        )
    if parts.password is not None or parts.query or parts.fragment:
        raise EngineUnavailable(
            f"engine address {url!r}: ssh:// takes no password, query or fragment",
            hint="deployer uses your ssh keys and agent; put other settings in ~/.ssh/config",
        )
    return SshAddress(
        host=parts.hostname,
        user=unquote(parts.username) if parts.username else None,
        port=port,
        socket=parts.path or DEFAULT_REMOTE_SOCKET,
    )


def _die_with_parent() -> None:  # in the child, before exec: no ssh outlives a killed deployer
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class Tunnel:
    """One `ssh -N -L ...` for this process: by default from a private unix socket here to the
    server's Docker socket (the engine's transport); with `ports`, from 127.0.0.1:LOCAL here to
    HOST:PORT on the server (`deployer tunnel`)."""

    def __init__(
        self, address: SshAddress, ports: list[tuple[int, str, int]] | None = None
    ) -> None:
        self.address = address
        self.ports = ports or []
        folder = runtime_dir("tunnels")
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.socket_path = folder / f"{token}.sock"
        self.log_path = folder / f"{token}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def local_url(self) -> str:
        return f"unix://{self.socket_path}"

    def forwards(self) -> list[str]:
        if self.ports:
            return [
                arg
                for local, host, port in self.ports
                for arg in ("-L", f"127.0.0.1:{local}:{host}:{port}")
            ]
        return ["-L", f"{self.socket_path}:{self.address.socket}"]

    def command(self) -> list[str]:
        config = os.environ.get("DEPLOYER_SSH_CONFIG")  # an ssh_config file, as `ssh -F`
        return [
            "ssh", *(["-F", config] if config else []),
            "-N", "-T",
            "-o", "BatchMode=yes",  # never a prompt: no stdin in CI, none behind a script
            "-o", "ExitOnForwardFailure=yes",
            "-o", "StreamLocalBindUnlink=yes",
            "-o", "StreamLocalBindMask=0177",  # the socket is this user's alone
            "-o", "ServerAliveInterval=5",  # a dead link is noticed in ~15 s, not hours
            "-o", "ServerAliveCountMax=3",
            "-o", "ControlPath=none",  # this process owns its tunnel: no shared master
            "-o", "ConnectTimeout=10",
            *self.address.ssh_arguments(),
            *self.forwards(),
            "--", self.address.host,
        ]  # fmt: skip

    def _ready(self) -> bool:
        if not self.ports:
            return self.socket_path.exists()
        for local, _, _ in self.ports:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", local)) != 0:
                    return False
        return True

    def start(self) -> None:
        """Start ssh (open() waits for it)."""
        if self.process is not None:
            return
        if shutil.which("ssh") is None:
            raise EngineUnavailable(
                f"cannot reach the Docker engine at {self.address.url}: no ssh client here",
                hint="install OpenSSH's client: `apt-get install -y openssh-client`",
            )
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                # Its own session: Ctrl-C reaches deployer, which still needs the engine to
                # finish (stop an attached stack, say), and deployer closes the tunnel last.
                start_new_session=True,
                preexec_fn=_die_with_parent
                if threading.current_thread() is threading.main_thread()
                else None,
            )
        finally:
            os.close(log)
        atexit.register(self.close)
        _OPENED.append(self)

    def open(self) -> str:
        """Start ssh (unless started) and wait until its forwards listen; the unix:// URL of
        the engine's."""
        self.start()
        assert self.process is not None
        deadline = time.monotonic() + OPEN_TIMEOUT
        while not self._ready():
            if self.process.poll() is not None:
                raise self.failure()
            if time.monotonic() > deadline:
                self.close()
                raise EngineUnavailable(
                    f"cannot reach the Docker engine at {self.address.url}: ssh did not open "
                    f"the tunnel within {OPEN_TIMEOUT:.0f}s",
                    hint=f"check that `ssh {self.address.host}` works from here",
                )
            time.sleep(0.01)
        return self.local_url

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def messages(self) -> str:
        """ssh's last words (its log file), one line."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        lines = [line for line in lines if not line.startswith("Warning: Permanently added")]
        return " / ".join(lines[-_KEPT_LINES:])

    def failure(self) -> EngineUnavailable:
        """Why the tunnel is down, with what to do, as the exit-3 error."""
        said = self.messages() or "ssh exited"
        self.close()
        return EngineUnavailable(
            f"cannot reach {self.address.url}: ssh: {said}",
            hint=hint_for(said, self.address),
        )

    def close(self) -> None:
        if self in _OPENED:
            _OPENED.remove(self)
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for path in (self.socket_path, self.log_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def prestart(url: str) -> None:
    """Start the engine tunnel of `url` now, so that ssh's handshake overlaps deployer's own
    start-up (imports, loading the stack); `engine_tunnel` then finds it started. Quiet: what
    is wrong with it is said when the engine is first used."""
    if url.startswith("ssh://") and url not in _STARTED:
        try:
            tunnel = Tunnel(parse(url))
            tunnel.start()
        except DeployerError:
            return
        _STARTED[url] = tunnel


def engine_tunnel(url: str) -> Tunnel:
    """The open tunnel to the engine at ssh:// `url` (started by prestart, or now)."""
    tunnel = _STARTED.pop(url, None) or Tunnel(parse(url))
    tunnel.open()
    return tunnel


def dropped() -> Tunnel | None:
    """A tunnel of this process that was open and whose ssh has since ended."""
    for tunnel in _OPENED:
        if tunnel.process is not None and tunnel.process.poll() is not None:
            return tunnel
    return None


def free_port(preferred: int) -> int:
    """`preferred` when nothing here listens on it, else a free port the kernel picks."""
    for wanted in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", wanted))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


def hint_for(said: str, address: SshAddress) -> str:
    """What to do about what ssh said."""
    login = f"ssh {' '.join(address.ssh_arguments())} {address.host}".replace("  ", " ")
    if re.search(r"Host key verification failed|host key for .* has changed|No .* host key", said):
        return (
            f"the server's host key is not one your known_hosts trusts: connect once with "
            f"`{login}` and check the fingerprint it shows (deployer never accepts a host key "
            "by itself)"
        )
    if "Permission denied" in said or "Too many authentication failures" in said:
        return (
            "the server refused your key: add your public key to the user's "
            "~/.ssh/authorized_keys there (`ssh-copy-id`), or name the key in ~/.ssh/config "
            "(IdentityFile); deployer never asks for a password"
        )
    if re.search(r"Could not resolve|Name or service not known", said):
        return f"check the server's name in {address.url}"
    if re.search(r"Connection refused|timed out|No route to host|Network is unreachable", said):
        return f"is sshd running on {address.host} and reachable on port {address.port or 22}?"
    if re.search(r"forwarding|open failed|No such file", said):
        return (
            f"sshd refused to forward to {address.socket}: the server needs Docker running "
            "and `AllowStreamLocalForwarding yes` (sshd's default)"
        )
    return f"check that `{login}` works from here"


def tunnel_hint(failure: str, address: SshAddress) -> str:
    """Why an engine call through a live tunnel failed: usually the SSH user's rights."""
    return (
        f"ssh connected, but the server's Docker socket ({address.socket}) did not answer: is "
        "Docker running there, and is the SSH user in the `docker` group "
        f"(`sudo usermod -aG docker {address.user or 'USER'}`)? ({failure})"
    )
