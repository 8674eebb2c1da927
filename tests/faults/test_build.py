"""The disk fills up while an image is built: exit 4 with the system's own words, nothing made."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.faults.conftest import Record
from tests.faults.faults import deployer
from tests.integration.conftest import leftovers, unique_name

STACK = """
name: {name}
services:
  big:
    build:
      context: app
      args:
        BASE_IMAGE: deployer/python:bookworm
    command: ["sleep", "infinity"]
"""


@pytest.fixture
def small_tmp(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs: what TMPDIR looks like on a full disk."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "small-tmp"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_while_packing_the_build_context_is_exit_4_and_creates_nothing(
    tmp_path: Path,
    small_tmp: Path,
    docker_api: docker.APIClient,
    cleanup: list[str],
    figures: Record,
) -> None:
    name = unique_name("diskfull")
    cleanup.append(name)
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY data /data\n")
    (context / "data").write_bytes(os.urandom(4 * 1024 * 1024))  # 4x the space there is
    path = tmp_path / "stack.yaml"
    path.write_text(STACK.format(name=name))
    environment = dict(os.environ, TMPDIR=str(small_tmp))
    up = deployer(
        "up", "-f", str(path), env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, stderr = up.communicate(timeout=300)
    figures("disk full while packing a build context", exit_code=up.returncode)
    assert up.returncode == 4, stderr
    assert "No space left on device" in stderr and "TMPDIR" in stderr
    assert "Traceback" not in stderr
    assert leftovers(docker_api, name) == ([], [], [])
    assert not docker_api.images(filters={"label": f"io.deployer.stack={name}"})
