"""A base image as an archive `docker load` takes, made here from a root filesystem tarball.

`docker import` stamps the time of the import into the image, so every engine that imports the
same rootfs gets another image id (and every app built on it another tag). The archive made here
has a fixed creation time: its image id is the digest of its config, the same on every engine it
is loaded onto (a laptop, a server over SSH, a swarm node).
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import tarfile
from pathlib import Path

# The image's creation time: fixed, so the id depends on the content alone.
_EPOCH = "1970-01-01T00:00:00Z"
_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le"}


def image_config(changes: tuple[str, ...], diff_id: str) -> dict[str, object]:
    """The image config that `docker import --change` would have made of these changes (ENV,
    CMD as a JSON list, EXPOSE, LABEL: what deployer's bases use)."""
    config: dict[str, object] = {}
    env: list[str] = []
    labels: dict[str, str] = {}
    exposed: dict[str, dict[str, str]] = {}
    for change in changes:
        instruction, _, argument = change.partition(" ")
        if instruction == "ENV":
            env.append(argument)
        elif instruction == "CMD":
            config["Cmd"] = json.loads(argument)
        elif instruction == "EXPOSE":
            port = argument if "/" in argument else f"{argument}/tcp"
            exposed[port] = {}
        elif instruction == "LABEL":
            key, _, value = argument.partition("=")
            labels[key] = value
        else:
            raise ValueError(f"unsupported image change: {change}")
    config.update({"Env": env, "Labels": labels})
    if exposed:
        config["ExposedPorts"] = exposed
    return {
        "architecture": _ARCHITECTURES.get(platform.machine(), platform.machine()),
        "os": "linux",
        "created": _EPOCH,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": _EPOCH, "created_by": "deployer images bootstrap (mmdebstrap)"}],
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_image_archive(rootfs: Path, reference: str, changes: tuple[str, ...], out: Path) -> str:
    """Write the `docker load` archive of one layer (`rootfs`) to `out`; the image id."""
    layer = _sha256(rootfs)
    config = json.dumps(image_config(changes, f"sha256:{layer}"), sort_keys=True).encode()
    image = hashlib.sha256(config).hexdigest()
    manifest = json.dumps(
        [{"Config": f"{image}.json", "RepoTags": [reference], "Layers": [f"{layer}/layer.tar"]}]
    ).encode()
    with tarfile.open(out, "w") as archive:
        for name, data in (("manifest.json", manifest), (f"{image}.json", config)):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        archive.add(rootfs, arcname=f"{layer}/layer.tar")
    return f"sha256:{image}"


def archive_image_id(archive: Path) -> str | None:
    """The image id an archive written here holds (its manifest's config), or None."""
    try:
        with tarfile.open(archive, "r") as opened:
            member = opened.extractfile("manifest.json")
            manifest = json.loads(member.read()) if member else []
    except (OSError, tarfile.TarError, KeyError, ValueError):
        return None
    config = str(manifest[0].get("Config", "")) if manifest else ""
    return f"sha256:{config.removesuffix('.json')}" if config else None
