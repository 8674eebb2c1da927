"""deployer's own base images, built from Debian packages (mmdebstrap + import): no registry."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.core import labels
from deployer.local.private import cache_dir
from deployer.model.errors import ImageError

if TYPE_CHECKING:  # a type only: `--help` lists the bases without the engine seam
    from deployer.core.events import Report
    from deployer.engine import Engine

SUITE = "bookworm"
# Documentation, man pages and translations are dead weight in an image.
_SLIM = [
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-include=/usr/share/locale/locale.alias",
]


@dataclass(frozen=True)
class BaseImage:
    key: str
    reference: str
    packages: tuple[str, ...]
    changes: tuple[str, ...]
    description: str
    for_cluster: bool = False  # built by `cluster up`, not by a plain `images bootstrap`


BASES = {
    base.key: base
    for base in (
        BaseImage(
            key="python",
            reference=f"deployer/python:{SUITE}",
            packages=("python3", "python3-venv", "ca-certificates"),
            changes=("ENV LANG=C.UTF-8", 'CMD ["python3"]'),
            description="Debian's python3 with venv",
        ),
        BaseImage(
            key="uwsgi",
            reference=f"deployer/uwsgi:{SUITE}",
            packages=("python3", "python3-venv", "uwsgi-core", "uwsgi-plugin-python3"),
            changes=("ENV LANG=C.UTF-8", 'CMD ["uwsgi", "--help"]'),
            description="Debian's uWSGI with its python3 plugin",
        ),
        BaseImage(
            key="nginx",
            reference=f"deployer/nginx:{SUITE}",
            packages=("nginx-light", "curl"),
            changes=(
                "ENV LANG=C.UTF-8",
                "EXPOSE 80",
                'CMD ["nginx", "-g", "daemon off;"]',
            ),
            description="Debian's nginx (light) with curl for healthchecks",
        ),
        # The test cluster's own images (deployer cluster up builds them when missing).
        BaseImage(
            key="node",
            reference=f"deployer/node:{SUITE}",
            # socat: a node reaches the cluster's registry at the same loopback address as
            # the host does, so one image reference works everywhere. openssh-server: the
            # remote test bed's server is a node that deployer reaches over ssh://.
            packages=(
                "docker.io",
                "iptables",
                "ca-certificates",
                "procps",
                "iproute2",
                "socat",
                "openssh-server",
            ),
            changes=("ENV LANG=C.UTF-8", 'CMD ["dockerd"]'),
            description="a Swarm node or an SSH server: Debian's dockerd and sshd, as a container",
            for_cluster=True,
        ),
        BaseImage(
            key="registry",
            reference=f"deployer/registry:{SUITE}",
            packages=("docker-registry",),
            changes=(
                "ENV LANG=C.UTF-8",
                "EXPOSE 5000",
                'CMD ["docker-registry", "serve", "/etc/docker/registry/config.yml"]',
            ),
            description="Debian's image registry (distribution), for the test cluster",
            for_cluster=True,
        ),
    )
}

BOOTSTRAP_COMMAND = "python -m deployer images bootstrap"


def by_reference(reference: str) -> BaseImage | None:
    for base in BASES.values():
        if base.reference == reference:
            return base
    return None


def mirror_lines(suite: str = SUITE) -> list[str]:
    """sources.list lines for `suite` taken from the host's own apt configuration.

    DEPLOYER_DEBIAN_MIRROR (a URL) overrides it. Raises ImageError when nothing fits.
    """
    override = os.environ.get("DEPLOYER_DEBIAN_MIRROR")
    if override:
        return [f"deb {override} {suite} main"]
    lines = []
    for uri, suites, components in _host_sources(Path("/etc/apt")):
        lines += [f"deb {uri} {s} {components}" for s in suites if s.split("-")[0] == suite]
    if not lines:
        raise ImageError(
            f"no Debian {suite} package source found in /etc/apt",
            hint="set DEPLOYER_DEBIAN_MIRROR to the URL of a Debian mirror you can reach",
        )
    return lines


def _host_sources(apt: Path) -> list[tuple[str, list[str], str]]:
    found: list[tuple[str, list[str], str]] = []
    one_line = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]
    for file in one_line:
        if file.is_file():
            for line in file.read_text().splitlines():
                match = re.match(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$", line)
                if match:
                    found.append((match[1], [match[2]], match[3].strip()))
    for file in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in file.read_text().split("\n\n"):
            fields = dict(
                (key.strip().lower(), value.strip())
                for key, _, value in (line.partition(":") for line in stanza.splitlines())
                if value and not key.startswith("#")
            )
            if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
                for uri in fields.get("uris", "").split():
                    found.append(
                        (uri, fields.get("suites", "").split(), fields.get("components", "main"))
                    )
    return found


def archive_path(base: BaseImage) -> Path:
    """Where the base's `docker load` archive is kept, made once for every engine."""
    return cache_dir("images") / f"{base.key}-{SUITE}.tar"


def bootstrap(
    engine: Engine,
    base: BaseImage,
    report: Report,
    force: bool = False,
) -> str:
    """Put `base` on `engine`: load its archive, made once here from Debian packages
    (mmdebstrap) and kept, so every engine gets the same image id. Returns the image id."""
    # Loaded here: `--help` lists the bases without events or archives.
    from deployer.core.events import BuildOutput
    from deployer.images import archive as image_archive

    existing = engine.image_id(base.reference)
    if existing and not force:
        report(BuildOutput(base.reference, f"present ({existing[7:19]})"))
        return existing
    saved = archive_path(base)
    expected = None if force else image_archive.archive_image_id(saved)
    if expected is None:
        expected = _make_archive(base, saved, report)
    report(BuildOutput(base.reference, f"loading {saved.stat().st_size >> 20} MiB"))
    loaded = engine.load_image(saved, base.reference)
    if loaded != expected:
        raise ImageError(
            f"loading {base.reference}: the engine made image {loaded[7:19]} of an archive "
            f"that holds {expected[7:19]}",
            hint=f"remove {saved} and run {BOOTSTRAP_COMMAND} again",
        )
    return loaded


def _make_archive(base: BaseImage, saved: Path, report: Report) -> str:
    from deployer.core.events import BuildOutput
    from deployer.images import archive as image_archive

    if shutil.which("mmdebstrap") is None:
        raise ImageError(
            f"cannot build {base.reference}: mmdebstrap is not installed",
            hint="apt-get install -y mmdebstrap, then " + BOOTSTRAP_COMMAND,
        )
    with tempfile.TemporaryDirectory(prefix="deployer-base-", dir=saved.parent) as folder:
        rootfs = Path(folder) / "rootfs.tar"
        command = [
            "mmdebstrap",
            "--variant=minbase",
            "--include=" + ",".join(base.packages),
            *_SLIM,
            SUITE,
            str(rootfs),
            *mirror_lines(),
        ]
        report(BuildOutput(base.reference, f"mmdebstrap {', '.join(base.packages)}"))
        _run(command, base.reference, report)
        changes = (*base.changes, f"LABEL {labels.BASE_IMAGE}={base.key}")
        report(BuildOutput(base.reference, "packing"))
        made = Path(folder) / "image.tar"
        image = image_archive.write_image_archive(rootfs, base.reference, changes, made)
        made.replace(saved)  # whole or not at all: a killed bootstrap leaves no half archive
    return image


def _run(command: list[str], what: str, report: Report) -> None:
    from deployer.core.events import BuildOutput

    tail: list[str] = []
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        tail = [*tail[-19:], line]
        if line.startswith(("I: ", "E: ", "W: ")):
            report(BuildOutput(what, line.rstrip("\n")))
    if process.wait() != 0:
        raise ImageError(
            f"building {what} failed (mmdebstrap exit {process.returncode}):\n" + "".join(tail)
        )
