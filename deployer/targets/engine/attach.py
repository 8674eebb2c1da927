"""Connecting the local terminal (or pipes) to a process in a container.

With a TTY the local terminal goes into raw mode and follows window resizes; without one, the
engine's multiplexed frames are split back into stdout and stderr, and local stdin is forwarded
until it ends (then the process sees end of file).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import struct
import sys
import termios
import tty
from collections.abc import Iterator
from types import FrameType
from typing import BinaryIO

from deployer.engine import Engine
from deployer.engine.protocol import Session

_CHUNK = 65536
_HEADER = struct.Struct(">BxxxI")  # stream (1 stdout, 2 stderr), payload size


class FrameSplitter:
    """Splits the engine's multiplexed stream into (stream, payload) as bytes arrive."""

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self.pending += data
        while len(self.pending) >= _HEADER.size:
            stream, size = _HEADER.unpack_from(self.pending)
            if len(self.pending) < _HEADER.size + size:
                return
            payload = self.pending[_HEADER.size : _HEADER.size + size]
            self.pending = self.pending[_HEADER.size + size :]
            yield stream, payload


@contextlib.contextmanager
def _raw_terminal(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def pump(
    engine: Engine,
    session: Session,
    container_id: str,
    *,
    forward_stdin: bool,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
) -> None:
    """Copy between local stdio and the session until the process closes its output."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    stderr = stderr or sys.stderr.buffer
    interactive = session.tty and forward_stdin and os.isatty(stdin.fileno())
    if not interactive:
        _copy(session, stdin if forward_stdin else None, stdout, stderr)
        return
    fd = stdin.fileno()

    def resize(_signal: int = 0, _frame: FrameType | None = None) -> None:
        size = shutil.get_terminal_size()
        with contextlib.suppress(Exception):
            engine.resize(session, container_id, size.lines, size.columns)

    previous = signal.signal(signal.SIGWINCH, resize)
    try:
        resize()
        with _raw_terminal(fd):
            _copy(session, stdin, stdout, stderr)
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _copy(session: Session, stdin: BinaryIO | None, stdout: BinaryIO, stderr: BinaryIO) -> None:
    sock = session.sock
    splitter = FrameSplitter()
    watching: list[int] = [sock.fileno()]
    stdin_fd = stdin.fileno() if stdin is not None else -1
    if stdin is not None:
        watching.append(stdin_fd)
    else:
        _close_write(sock)
    while True:
        try:
            readable, _, _ = select.select(watching, [], [])
        except InterruptedError:  # a resize signal
            continue
        if stdin_fd in readable:
            data = os.read(stdin_fd, _CHUNK)
            if data:
                sock.sendall(data)
            else:
                watching.remove(stdin_fd)
                _close_write(sock)  # the process now reads end of file
        if sock.fileno() in readable:
            data = sock.recv(_CHUNK)
            if not data:
                break
            if session.tty:
                _write(stdout, data)
                continue
            for stream, payload in splitter.feed(data):
                _write(stderr if stream == 2 else stdout, payload)
    sock.close()


def _write(target: BinaryIO, data: bytes) -> None:
    target.write(data)
    target.flush()


def _close_write(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
