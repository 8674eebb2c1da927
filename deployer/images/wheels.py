"""The wheelhouse: Python dependencies downloaded by the host into a build context.

Containers reach no package index, so images install with `pip --no-index --find-links`.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from deployer.core.events import BuildOutput, Report
from deployer.model.errors import ImageError

FOLDER = "wheelhouse"
_STAMP = ".requirements.sha256"


def is_wheel(relative: str) -> bool:
    """A downloaded wheel inside a build context (determined by the wheelhouse's stamp)."""
    return relative.startswith(f"{FOLDER}/") and relative.endswith(".whl")


def platforms() -> list[str]:
    """manylinux tags a Debian bookworm (glibc 2.36) image accepts on this architecture."""
    machine = platform.machine() or "x86_64"
    return [f"manylinux_2_{minor}_{machine}" for minor in (36, 34, 31, 28, 24, 17)] + [
        f"manylinux2014_{machine}"
    ]


def ensure(context: Path, requirements: str, python_version: str, report: Report) -> Path:
    """Download wheels for `requirements` into `<context>/wheelhouse` unless already there."""
    folder = context / FOLDER
    requirements_file = context / requirements
    text = requirements_file.read_bytes()
    wanted = hashlib.sha256(text + python_version.encode() + " ".join(platforms()).encode())
    stamp = folder / _STAMP
    if stamp.is_file() and stamp.read_text().strip() == wanted.hexdigest():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    command = [
        sys.executable, "-m", "pip", "download",
        "--disable-pip-version-check", "--progress-bar=off",
        "--only-binary=:all:", "--implementation", "cp", "--python-version", python_version,
        *(arg for tag in platforms() for arg in ("--platform", tag)),
        "-d", str(folder), "-r", str(requirements_file),
    ]  # fmt: skip
    report(BuildOutput("wheelhouse", f"downloading {requirements} for Python {python_version}"))
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ImageError(
            f"downloading wheels for {requirements_file} failed:\n{tail}",
            hint="check the pins in the requirements file; every package needs a wheel for "
            f"CPython {python_version} on Linux",
        )
    count = len(list(folder.glob("*.whl")))
    report(BuildOutput("wheelhouse", f"{count} wheels in {folder}"))
    stamp.write_text(wanted.hexdigest())
    return folder
