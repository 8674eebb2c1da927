"""The one module that talks to the Docker engine (through docker-py's low-level API).

Everything else depends on the `Engine` protocol; engine errors are translated into deployer's
own exceptions here and nowhere else.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors
import requests

from deployer.errors import EngineError, EngineUnavailable, ImageError, NotFound
from deployer.render import ContainerPlan
from deployer.spec import File

API_VERSION = "1.41"  # Engine 20.10; newer engines still speak it, so bodies mean the same.

START_ENGINE_HINT = (
    "start one: `dockerd > /var/log/dockerd.log 2>&1 &` (install it with "
    "`apt-get install -y docker.io`), or set DOCKER_HOST to an engine you can reach"
)


@dataclass(frozen=True)
class PublishedPort:
    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    labels: dict[str, str]
    state: str  # created, running, restarting, exited, ...
    health: str  # healthy, unhealthy, starting, or "" when there is no healthcheck
    image: str
    image_id: str
    ports: list[PublishedPort] = field(default_factory=list)
    restart_count: int = 0
    started_at: datetime | None = None
    exit_code: int = 0
    health_output: str = ""  # the last probe's output


@dataclass(frozen=True)
class NetworkInfo:
    id: str
    name: str
    labels: dict[str, str]


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    labels: dict[str, str]


class Engine(Protocol):
    """What deployer needs from a container engine."""

    def ping(self) -> None: ...
    def containers(self, label_filter: dict[str, list[str]]) -> list[ContainerInfo]: ...
    def inspect_container(self, container_id: str) -> ContainerInfo: ...
    def networks(self, label_filter: dict[str, list[str]]) -> list[NetworkInfo]: ...
    def create_network(
        self, name: str, driver: str, internal: bool, labels: dict[str, str]
    ) -> str: ...
    def remove_network(self, network_id: str) -> None: ...
    def volumes(self, label_filter: dict[str, list[str]]) -> list[VolumeInfo]: ...
    def create_volume(
        self, name: str, driver: str, options: dict[str, str], labels: dict[str, str]
    ) -> None: ...
    def remove_volume(self, name: str) -> None: ...
    def create_container(self, plan: ContainerPlan) -> str: ...
    def start(self, container_id: str) -> None: ...
    def stop(self, container_id: str, timeout: int | None = None) -> None: ...
    def remove_container(self, container_id: str) -> None: ...
    def rename(self, container_id: str, name: str) -> None: ...
    def logs_tail(self, container_id: str, lines: int) -> str: ...
    def exec(self, container_id: str, command: list[str]) -> tuple[int, str]: ...
    def image_id(self, reference: str) -> str | None: ...
    def images(self, label_filter: dict[str, list[str]]) -> list[str]: ...
    def remove_image(self, reference: str) -> None: ...
    def pull(self, reference: str) -> None: ...
    def build(
        self,
        context: Path,
        *,
        dockerfile: str,
        tag: str,
        args: dict[str, str],
        target: str | None,
        labels: dict[str, str],
        on_output: Callable[[str], None],
    ) -> str: ...
    def import_image(self, tarball: Path, reference: str, changes: list[str]) -> str: ...


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn docker-py and transport errors into deployer errors that say what to do."""
    try:
        yield
    except docker.errors.NotFound as error:
        raise NotFound(f"{action}: {error.explanation or error}") from None
    except docker.errors.APIError as error:
        text = str(error.explanation or error)
        raise EngineError(f"{action}: {text}", hint=_hint_for(text)) from None
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as error:
        raise EngineUnavailable(
            f"cannot reach the Docker engine ({action}): {error}", hint=START_ENGINE_HINT
        ) from None


_KNOWN_REFUSALS = {
    "rlimit": "a ulimit in the stack is above the engine's own hard limit; lower `ulimits`",
    "port is already allocated": "another process publishes that host port; choose another "
    "one, or host port 0 for an ephemeral port",
    "address already in use": "another process listens on that host port; choose another one",
    "range of CPUs": "a service asks for more CPUs than the host has; lower `resources.cpus`",
    "Minimum memory limit": "a memory limit is below the engine's minimum (6m); raise it",
}


def _hint_for(text: str) -> str | None:
    for needle, hint in _KNOWN_REFUSALS.items():
        if needle in text:
            return hint
    return None


class DockerEngine:
    """The real engine, over the socket that DOCKER_HOST (or the default) names."""

    def __init__(self, timeout: int = 300) -> None:
        with translated("connecting"):
            params = docker.utils.kwargs_from_env()
            self.api = docker.APIClient(version=API_VERSION, timeout=timeout, **params)

    def ping(self) -> None:
        with translated("ping"):
            self.api.ping()

    # -- containers ---------------------------------------------------------------------------

    def containers(self, label_filter: dict[str, list[str]]) -> list[ContainerInfo]:
        with translated("listing containers"):
            listed = self.api.containers(all=True, filters=label_filter)
        found = []
        for item in listed:
            try:
                found.append(self.inspect_container(item["Id"]))
            except NotFound:
                continue  # removed between the list and the inspect
        return found

    def inspect_container(self, container_id: str) -> ContainerInfo:
        with translated(f"inspecting container {container_id[:12]}"):
            data = self.api.inspect_container(container_id)
        return _container_info(data)

    def create_container(self, plan: ContainerPlan) -> str:
        with translated(f"creating container {plan.name}"):
            created = self.api.create_container_from_config(plan.body, name=plan.name)
            container_id: str = created["Id"]
            for network, aliases in plan.extra_networks:
                self.api.connect_container_to_network(container_id, network, aliases=aliases)
            if plan.files and not plan.body["HostConfig"].get("ReadonlyRootfs"):
                self.api.put_archive(container_id, "/", _tar_of(plan.files))
            elif plan.files:
                # A read-only root takes files only inside its volumes: one archive per folder.
                for folder, files in _by_folder(plan.files).items():
                    self.api.put_archive(container_id, folder, _tar_of(files, relative_to=folder))
        return container_id

    def start(self, container_id: str) -> None:
        with translated(f"starting container {container_id[:12]}"):
            self.api.start(container_id)

    def stop(self, container_id: str, timeout: int | None = None) -> None:
        # With no timeout the engine waits the container's own StopTimeout (its grace period).
        with translated(f"stopping container {container_id[:12]}"):
            if timeout is None:
                self.api.stop(container_id)
            else:
                self.api.stop(container_id, timeout=timeout)

    def remove_container(self, container_id: str) -> None:
        with translated(f"removing container {container_id[:12]}"):
            try:
                self.api.remove_container(container_id, v=True, force=True)
            except docker.errors.NotFound:
                return

    def rename(self, container_id: str, name: str) -> None:
        with translated(f"renaming container {container_id[:12]} to {name}"):
            self.api.rename(container_id, name)

    def logs_tail(self, container_id: str, lines: int) -> str:
        with translated(f"reading logs of {container_id[:12]}"):
            raw: bytes = self.api.logs(container_id, tail=lines, stdout=True, stderr=True)
        return raw.decode(errors="replace")

    def exec(self, container_id: str, command: list[str]) -> tuple[int, str]:
        with translated(f"running {command[0]} in {container_id[:12]}"):
            created = self.api.exec_create(container_id, command)
            output: bytes = self.api.exec_start(created["Id"])
            code = self.api.exec_inspect(created["Id"])["ExitCode"]
        return int(code or 0), output.decode(errors="replace")

    # -- networks -----------------------------------------------------------------------------

    def networks(self, label_filter: dict[str, list[str]]) -> list[NetworkInfo]:
        with translated("listing networks"):
            listed = self.api.networks(filters=label_filter)
        return [NetworkInfo(n["Id"], n["Name"], n.get("Labels") or {}) for n in listed]

    def create_network(self, name: str, driver: str, internal: bool, labels: dict[str, str]) -> str:
        with translated(f"creating network {name}"):
            created = self.api.create_network(
                name, driver=driver, internal=internal, labels=labels, check_duplicate=True
            )
        return str(created["Id"])

    def remove_network(self, network_id: str) -> None:
        with translated(f"removing network {network_id[:12]}"):
            try:
                self.api.remove_network(network_id)
            except docker.errors.NotFound:
                return

    # -- volumes ------------------------------------------------------------------------------

    def volumes(self, label_filter: dict[str, list[str]]) -> list[VolumeInfo]:
        with translated("listing volumes"):
            listed = self.api.volumes(filters=label_filter).get("Volumes") or []
        return [VolumeInfo(v["Name"], v.get("Labels") or {}) for v in listed]

    def create_volume(
        self, name: str, driver: str, options: dict[str, str], labels: dict[str, str]
    ) -> None:
        with translated(f"creating volume {name}"):
            self.api.create_volume(name, driver=driver, driver_opts=options, labels=labels)

    def remove_volume(self, name: str) -> None:
        with translated(f"removing volume {name}"):
            try:
                self.api.remove_volume(name)
            except docker.errors.NotFound:
                return

    # -- images -------------------------------------------------------------------------------

    def image_id(self, reference: str) -> str | None:
        with translated(f"inspecting image {reference}"):
            try:
                return str(self.api.inspect_image(reference)["Id"])
            except docker.errors.NotFound:
                return None

    def images(self, label_filter: dict[str, list[str]]) -> list[str]:
        """Tags (repo:tag) of the images that match the filter."""
        with translated("listing images"):
            listed = self.api.images(filters=label_filter)
        return sorted(tag for image in listed for tag in image.get("RepoTags") or [])

    def remove_image(self, reference: str) -> None:
        with translated(f"removing image {reference}"):
            try:
                self.api.remove_image(reference)
            except docker.errors.NotFound:
                return

    def pull(self, reference: str) -> None:
        repository, _, tag = (
            reference.rpartition(":")
            if ":" in reference.split("/")[-1]
            else (reference, "", "latest")
        )
        try:
            self.api.pull(repository, tag=tag)
        except docker.errors.APIError as error:
            raise ImageError(f"cannot pull {reference}: {error.explanation or error}") from None
        except requests.exceptions.ConnectionError as error:
            raise EngineUnavailable(f"cannot reach the Docker engine: {error}") from None

    def build(
        self,
        context: Path,
        *,
        dockerfile: str,
        tag: str,
        args: dict[str, str],
        target: str | None,
        labels: dict[str, str],
        on_output: Callable[[str], None],
    ) -> str:
        tail: list[str] = []
        with translated(f"building {tag}"):
            stream = self.api.build(
                path=str(context),
                dockerfile=dockerfile,
                tag=tag,
                buildargs=args,
                target=target,
                labels=labels,
                rm=True,
                forcerm=True,
                decode=True,
            )
            for chunk in stream:
                if "error" in chunk:
                    raise ImageError(
                        f"building {tag} failed: {str(chunk['error']).strip()}",
                        hint="the build output above shows the failing step\n"
                        + "".join(tail[-10:]),
                    )
                text = chunk.get("stream")
                if text:
                    tail.append(text)
                    on_output(text)
        image = self.image_id(tag)
        if image is None:
            raise ImageError(f"building {tag} finished but the engine has no such image")
        return image

    def import_image(self, tarball: Path, reference: str, changes: list[str]) -> str:
        repository, _, tag = reference.rpartition(":")
        with translated(f"importing {reference}"):
            self.api.import_image_from_file(
                str(tarball), repository=repository, tag=tag, changes=changes
            )
        image = self.image_id(reference)
        if image is None:
            raise ImageError(f"importing {reference} finished but the engine has no such image")
        return image


def _by_folder(files: list[File]) -> dict[str, list[File]]:
    folders: dict[str, list[File]] = {}
    for file in files:
        folders.setdefault(file.path.rsplit("/", 1)[0] or "/", []).append(file)
    return folders


def _tar_of(files: list[File], relative_to: str = "/") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for file in files:
            data = file.content.encode()
            member = tarfile.TarInfo(file.path.removeprefix(relative_to).lstrip("/"))
            if file.link is not None:
                member.type, member.linkname = tarfile.SYMTYPE, file.link
                archive.addfile(member)
                continue
            member.size = len(data)
            member.mode = file.mode
            member.mtime = int(time.time())
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _container_info(data: dict[str, Any]) -> ContainerInfo:
    state = data.get("State") or {}
    health = state.get("Health") or {}
    log = health.get("Log") or []
    config = data.get("Config") or {}
    return ContainerInfo(
        id=data["Id"],
        name=data["Name"].lstrip("/"),
        labels=config.get("Labels") or {},
        state=state.get("Status", "unknown"),
        health=health.get("Status", ""),
        image=config.get("Image", ""),
        image_id=data.get("Image", ""),
        ports=_published(data),
        restart_count=int(data.get("RestartCount") or 0),
        started_at=_timestamp(state.get("StartedAt")) if state.get("Running") else None,
        exit_code=int(state.get("ExitCode") or 0),
        health_output=str(log[-1].get("Output", "")).strip() if log else "",
    )


def _published(data: dict[str, Any]) -> list[PublishedPort]:
    ports = ((data.get("NetworkSettings") or {}).get("Ports")) or {}
    found = []
    for key, bindings in sorted(ports.items()):
        container_port, _, protocol = key.partition("/")
        for binding in bindings or []:
            found.append(
                PublishedPort(
                    host_ip=binding.get("HostIp", ""),
                    host_port=int(binding.get("HostPort") or 0),
                    container_port=int(container_port),
                    protocol=protocol or "tcp",
                )
            )
    return found


_ENGINE_TIME = re.compile(r"^(?P<head>[^.]+?)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)$")


def _timestamp(text: str | None) -> datetime | None:
    """Parse the engine's RFC 3339 times, which carry nanoseconds (Python takes microseconds)."""
    match = _ENGINE_TIME.match(text or "")
    if not match or match["head"].startswith("0001-"):
        return None
    fraction = (match["fraction"] or "0")[:6]
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    return datetime.fromisoformat(f"{match['head']}.{fraction}{zone}")


def context_files(context: Path, dockerfile: str) -> list[str]:
    """The files the engine would receive as build context (after .dockerignore), sorted."""
    ignore = context / ".dockerignore"
    patterns: list[str] = []
    if ignore.is_file():
        lines = (line.strip() for line in ignore.read_text().splitlines())
        patterns = [line for line in lines if line and not line.startswith("#")]
    included = docker.utils.build.exclude_paths(str(context), patterns, dockerfile=dockerfile)
    return sorted(path for path in included if (context / path).is_file())
