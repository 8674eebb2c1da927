"""What deployer needs from a container engine: the one seam every engine call goes through.

The real implementation is deployer.engine.docker_engine (the only module that imports docker);
unit tests pass an in-memory one.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from deployer.core.state import ContainerInfo, NetworkInfo, VolumeInfo

if TYPE_CHECKING:  # a type only: the seam loads without the models
    from deployer.core.render import ContainerPlan
    from deployer.core.swarm_objects import (
        NodeInfo,
        ServiceInfo,
        SwarmInfo,
        SwarmObject,
        TaskInfo,
    )  # fmt: skip


@dataclass(frozen=True)
class Session:
    """A raw connection to a process's stdio in a container (an exec, or a container attach).

    Without a TTY the engine multiplexes stdout and stderr into frames (engine.frames reads them).
    """

    sock: socket.socket
    tty: bool
    exec_id: str = ""  # empty for a container attach


@dataclass(frozen=True)
class ContainerStats:
    cpu_percent: float  # of one CPU: 150.0 is one and a half cores
    memory_bytes: int
    memory_limit_bytes: int


@dataclass(frozen=True)
class PathStat:
    """A path in a container, as the engine stats it (no process runs for it)."""

    name: str
    link_target: str  # the absolute path a symlink points to; "" for anything else


@dataclass(frozen=True)
class Claim:
    """A named marker on the engine (the deploy lock's): who made it, and its lease count."""

    id: str
    labels: dict[str, str]
    lease: int  # how many times its holder renewed it


class Engine(Protocol):
    """What deployer needs from a container engine."""

    def ping(self) -> None: ...
    def identity(self) -> str:
        """The engine's own id: the same however its address is spelled."""
        ...

    def containers(self, label_filter: dict[str, list[str]]) -> list[ContainerInfo]: ...
    def listed_containers(self, label_filter: dict[str, list[str]]) -> list[ContainerInfo]:
        """The containers as one list call knows them (id, name, labels, state, image, health
        and published ports): no inspection, so no restarts, times or environment."""
        ...

    def inspect_container(self, container_id: str) -> ContainerInfo: ...
    def networks(self, label_filter: dict[str, list[str]]) -> list[NetworkInfo]: ...
    def create_network(
        self,
        name: str,
        driver: str,
        internal: bool,
        labels: dict[str, str],
        ipam: dict[str, Any] | None = None,
        enable_ipv6: bool = False,
        attachable: bool = False,
    ) -> str: ...
    def remove_network(self, network_id: str) -> None: ...
    def release_stale_endpoints(self, network_id: str) -> list[str]:
        """Force-disconnect the network's endpoints whose containers no longer exist (what
        moby/moby#42119 leaves behind); the names it freed."""
        ...

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
    def exec(
        self,
        container_id: str,
        command: list[str],
        *,
        user: str | None = None,
        workdir: str | None = None,
    ) -> tuple[int, str]: ...
    def put_archive(self, container_id: str, folder: str, data: bytes) -> None:
        """Unpack a tar archive into `folder` of the container (files keep their modes)."""
        ...

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
        no_cache: bool = False,
    ) -> str: ...
    def load_image(self, archive: Path, reference: str) -> str:
        """Load a `docker load` archive; the id of `reference` it holds."""
        ...

    def push(self, image: str, repository: str, tag: str) -> str:
        """Tag `image` as repository:tag, push it; the digest the registry gave it."""
        ...

    def log_stream(
        self,
        container_id: str,
        *,
        follow: bool,
        since: float | None,
        tail: int | None,
        until: float | None = None,
    ) -> Iterator[str]:
        """The container's log lines, each starting with the engine's RFC 3339 timestamp."""
        ...

    def stats(self, container_id: str) -> ContainerStats: ...
    def wait(self, container_id: str) -> int:
        """Block until the container exits; its exit code."""
        ...

    def exec_session(
        self,
        container_id: str,
        command: list[str],
        *,
        tty: bool,
        stdin: bool,
        user: str | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Session: ...
    def attach_session(self, container_id: str, *, tty: bool) -> Session: ...
    def resize(self, session: Session, container_id: str, height: int, width: int) -> None: ...
    def exec_exit_code(self, session: Session) -> int: ...
    def path_stat(self, container_id: str, path: str) -> PathStat | None:
        """`path` in the container (not followed if a link), or None when nothing is there."""
        ...

    def claim(self, name: str, labels: dict[str, str]) -> str | None:
        """Create the marker `name` with `labels`, atomically: its id, or None when a marker
        of that name exists."""
        ...

    def claim_info(self, name: str) -> Claim | None: ...
    def renew_claim(self, claim_id: str, lease: int) -> None: ...
    def release_claim(self, claim_id: str) -> None:
        """Remove the marker (one already gone is fine)."""
        ...

    def where(self) -> str:
        """The engine's address as given (unix://, tcp://, ssh://...)."""
        ...


class SwarmEngine(Engine, Protocol):
    """A Swarm manager: the engine calls, plus services, tasks, configs and secrets."""

    def swarm(self) -> SwarmInfo: ...
    def services(self, label_filter: dict[str, list[str]]) -> list[ServiceInfo]: ...
    def create_service(self, spec: dict[str, Any]) -> str: ...
    def update_service(self, service_id: str, version: int, spec: dict[str, Any]) -> None: ...
    def remove_service(self, service_id: str) -> None: ...
    def tasks(self, service_ids: list[str]) -> list[TaskInfo]: ...
    def nodes(self) -> list[NodeInfo]: ...
    def swarm_objects(self, kind: str, label_filter: dict[str, list[str]]) -> list[SwarmObject]: ...
    def create_swarm_object(
        self, kind: str, name: str, data: bytes, labels: dict[str, str]
    ) -> str: ...
    def remove_swarm_object(self, kind: str, object_id: str) -> None: ...
    def service_log_stream(
        self, service_id: str, *, follow: bool, since: float | None, tail: int | None
    ) -> Iterator[str]:
        """Every task's lines: "<RFC 3339 time> <swarm labels, comma-separated> <text>"."""
        ...
