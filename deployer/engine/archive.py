"""Files to write into a container, packed as the tar archive the engine's put_archive takes."""

from __future__ import annotations

import io
import tarfile
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: the seam loads without the models
    from deployer.model.spec import File


def by_folder(files: list[File]) -> dict[str, list[File]]:
    folders: dict[str, list[File]] = {}
    for file in files:
        folders.setdefault(file.path.rsplit("/", 1)[0] or "/", []).append(file)
    return folders


def tar_of(files: list[File], relative_to: str = "/") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for file in files:
            data = file.payload()
            member = tarfile.TarInfo(file.path.removeprefix(relative_to).lstrip("/"))
            if file.link is not None:
                member.type, member.linkname = tarfile.SYMTYPE, file.link
                archive.addfile(member)
                continue
            member.size = len(data)
            member.mode = file.mode
            member.uid, member.gid = file.uid, file.gid
            member.mtime = int(time.time())
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def single_file(name: str, data: bytes, mode: int = 0o644) -> bytes:
    """A tar archive of one regular file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = tarfile.TarInfo(name)
        member.size, member.mode, member.mtime = len(data), mode, int(time.time())
        archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def read_single_file(data: bytes, limit: int = 4096) -> str:
    """The first regular file of a tar archive (as get_archive returns), up to `limit` bytes."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        for member in archive:
            if member.isfile():
                extracted = archive.extractfile(member)
                return extracted.read(limit).decode(errors="replace") if extracted else ""
    return ""
