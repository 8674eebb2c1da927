"""An in-memory engine for unit tests: passed in where the real one would be, never patched in."""

from __future__ import annotations

import dataclasses
import itertools
import socket
import struct
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deployer.core import labels
from deployer.core.render import ContainerPlan
from deployer.core.state import ContainerInfo, NetworkInfo, PublishedPort, VolumeInfo
from deployer.core.swarm_objects import NodeInfo, ServiceInfo, SwarmInfo, SwarmObject, TaskInfo
from deployer.engine.protocol import Claim, ContainerStats, PathStat, Session
from deployer.images.archive import archive_image_id
from deployer.model.errors import EngineError, ImageError, NotFound


class FakeEngine:
    def __init__(
        self, images: dict[str, str] | None = None, claims: dict[str, Claim] | None = None
    ) -> None:
        self.images_by_tag = dict(images or {})
        self.claims: dict[str, Claim] = {} if claims is None else claims
        self.address = "unix:///var/run/docker.sock"
        self.container_state: dict[str, ContainerInfo] = {}
        self.network_state: dict[str, NetworkInfo] = {}
        self.volume_state: dict[str, VolumeInfo] = {}
        self.links: dict[str, str] = {}  # slot path -> socket path
        self.calls: list[str] = []
        self.bodies: dict[str, ContainerPlan] = {}
        self._ids = (f"{n:064x}" for n in itertools.count(1))
        self.unhealthy: set[str] = set()  # container names whose probe fails
        self.unhealthy_images: set[str] = set()  # images whose containers' probe fails
        self.proxy_configs: dict[str, str] = {}  # container name -> last config a reload wrote
        self.logged: dict[str, list[str]] = {}  # container name -> "<timestamp> <text>" lines
        self.exit_codes: dict[str, int] = {}  # container name -> what wait() returns
        self.refused: set[str] = set()  # name prefixes whose creation the engine refuses
        self.logs_broken = False  # logs_tail raises, as a vanished container's would
        self.start_delay = 0.0  # seconds each start takes, so that concurrent work interleaves
        self.network_options: dict[str, dict[str, Any]] = {}  # name -> ipam, enable_ipv6
        self.exits_on_start: dict[str, int] = {}  # image -> its containers' exit code (a job)
        # Started containers stay "starting" (the engine's first check is yet to run), and each
        # runs its healthcheck command through exec when deployer probes it early.
        self.first_check_pending = False
        # remove_network answers "has active endpoints" this many times first (as the real
        # engine can, a moment after the last container on the network was removed).
        self.endpoints_linger = 0
        # network id -> names of removed containers whose endpoints the engine keeps for good.
        self.stale_endpoints: dict[str, set[str]] = {}
        self.archives: list[tuple[str, str, bytes]] = []  # put_archive: container, folder, tar
        self.execs: list[tuple[str, list[str]]] = []  # every exec: container, command

    def ping(self) -> None:
        return None

    def identity(self) -> str:
        return "FAKE:ENGINE:ID"

    def where(self) -> str:
        return self.address

    # The deploy lock's markers, shared by every FakeEngine built with the same `claims`: two
    # fakes over one dict are two processes' connections to one engine.
    def claim(self, name: str, labels: dict[str, str]) -> str | None:
        if name in self.claims:
            return None
        self.claims[name] = Claim(id=next(self._ids), labels=dict(labels), lease=0)
        return self.claims[name].id

    def claim_info(self, name: str) -> Claim | None:
        return self.claims.get(name)

    def renew_claim(self, claim_id: str, lease: int) -> None:
        for name, held in list(self.claims.items()):
            if held.id == claim_id:
                self.claims[name] = dataclasses.replace(held, lease=lease)

    def release_claim(self, claim_id: str) -> None:
        for name, held in list(self.claims.items()):
            if held.id == claim_id:
                del self.claims[name]

    @staticmethod
    def _matches(item_labels: dict[str, str], label_filter: dict[str, list[str]]) -> bool:
        wanted = (entry.partition("=") for entry in label_filter.get("label", []))
        return all(
            item_labels.get(key) == value if equals else key in item_labels
            for key, equals, value in wanted
        )

    def containers(self, label_filter: dict[str, list[str]]) -> list[ContainerInfo]:
        return [c for c in self.container_state.values() if self._matches(c.labels, label_filter)]

    def listed_containers(self, label_filter: dict[str, list[str]]) -> list[ContainerInfo]:
        return self.containers(label_filter)

    def inspect_container(self, container_id: str) -> ContainerInfo:
        if container_id not in self.container_state:
            raise NotFound(container_id)
        return self.container_state[container_id]

    def networks(self, label_filter: dict[str, list[str]]) -> list[NetworkInfo]:
        return [n for n in self.network_state.values() if self._matches(n.labels, label_filter)]

    def create_network(
        self,
        name: str,
        driver: str,
        internal: bool,
        labels: dict[str, str],
        ipam: dict[str, Any] | None = None,
        enable_ipv6: bool = False,
        attachable: bool = False,
    ) -> str:
        self.network_options[name] = {"ipam": ipam, "enable_ipv6": enable_ipv6}
        network_id = next(self._ids)
        self.network_state[network_id] = NetworkInfo(network_id, name, labels)
        self.calls.append(f"create network {name}")
        return network_id

    def remove_network(self, network_id: str) -> None:
        if self.endpoints_linger > 0:  # the engine has not yet freed the removed containers'
            self.endpoints_linger -= 1
            raise EngineError(f"removing network {network_id[:12]}: ... has active endpoints")
        if self.stale_endpoints.get(network_id):  # leaked for good (moby/moby#42119)
            raise EngineError(f"removing network {network_id[:12]}: ... has active endpoints")
        self.calls.append(f"remove network {self.network_state.pop(network_id).name}")

    def release_stale_endpoints(self, network_id: str) -> list[str]:
        freed = sorted(self.stale_endpoints.pop(network_id, set()))
        self.calls += [f"disconnect {name}" for name in freed]
        return freed

    def volumes(self, label_filter: dict[str, list[str]]) -> list[VolumeInfo]:
        return [v for v in self.volume_state.values() if self._matches(v.labels, label_filter)]

    def create_volume(
        self, name: str, driver: str, options: dict[str, str], labels: dict[str, str]
    ) -> None:
        self.volume_state[name] = VolumeInfo(name, labels)
        self.calls.append(f"create volume {name}")

    def remove_volume(self, name: str) -> None:
        self.volume_state.pop(name, None)
        self.calls.append(f"remove volume {name}")

    def create_container(self, plan: ContainerPlan) -> str:
        if any(plan.name.startswith(prefix) for prefix in self.refused):
            self.calls.append(f"refuse {plan.name}")
            raise EngineError(f"creating container {plan.name}: Conflict. injected refusal")
        if any(c.name == plan.name for c in self.container_state.values()):
            raise EngineError(f"creating container {plan.name}: Conflict. The name is in use")
        container_id = next(self._ids)
        bindings = plan.body["HostConfig"]["PortBindings"]
        ports = [
            PublishedPort(b["HostIp"], int(b["HostPort"] or 49153), int(key.split("/")[0]))
            for key, items in bindings.items()
            for b in items
        ]
        self.container_state[container_id] = ContainerInfo(
            id=container_id, name=plan.name, labels=plan.body["Labels"], state="created",
            health="", image=plan.body["Image"], image_id=plan.body["Image"], ports=ports,
            env=dict(str(item).partition("=")[::2] for item in plan.body.get("Env") or []),
        )  # fmt: skip
        self.bodies[plan.name] = plan
        for file in plan.files:  # what put_archive would write: a proxy's config (and links)
            if file.link is None:
                self.proxy_configs[plan.name] = file.content
        self.calls.append(f"create {plan.name}")
        return container_id

    def started(self, name: str, image: str = "web:1") -> str:
        """A running container with a healthcheck, made outside any plan (for health waits)."""
        body = {"Image": image, "Labels": {}, "HostConfig": {"PortBindings": {}},
                "Healthcheck": {"Test": ["CMD", "true"]}}  # fmt: skip
        container_id = self.create_container(ContainerPlan(name, body))
        self.start(container_id)
        return container_id

    def _replace(self, container_id: str, **changes: object) -> None:
        info = self.container_state[container_id]
        self.container_state[container_id] = dataclasses.replace(info, **changes)  # type: ignore[arg-type]

    def start(self, container_id: str) -> None:
        time.sleep(self.start_delay)
        info = self.container_state[container_id]
        has_check = "Healthcheck" in self.bodies.get(info.name, ContainerPlan("", {})).body
        sick = info.name in self.unhealthy or info.image in self.unhealthy_images
        health = "unhealthy" if sick else "healthy" if has_check else ""
        self.calls.append(f"start {info.name}")
        if info.image in self.exits_on_start:  # a one-shot job: runs to its end at once
            self._replace(container_id, state="exited", exit_code=self.exits_on_start[info.image])
            return
        if health == "healthy" and self.first_check_pending:
            test = tuple(self.bodies[info.name].body["Healthcheck"]["Test"])
            self._replace(container_id, state="running", health="starting", healthcheck=test)
            return
        self._replace(container_id, state="running", health=health, health_output="probe said no")

    def stop(self, container_id: str, timeout: int | None = None) -> None:
        self._replace(container_id, state="exited", health="")
        self.calls.append(f"stop {self.container_state[container_id].name}")

    def remove_container(self, container_id: str) -> None:
        info = self.container_state.pop(container_id, None)
        if info:
            self.calls.append(f"remove {info.name}")

    def rename(self, container_id: str, name: str) -> None:
        old = self.container_state[container_id].name
        self._replace(container_id, name=name)
        self.bodies[name] = self.bodies.pop(old)
        self.calls.append(f"rename {old} {name}")

    def logs_tail(self, container_id: str, lines: int) -> str:
        if self.logs_broken:
            raise NotFound(f"reading logs of {container_id[:12]}: no such container")
        return "log line\n"

    def put_archive(self, container_id: str, folder: str, data: bytes) -> None:
        self.calls.append(f"put {self.container_state[container_id].name}:{folder}")
        self.archives.append((self.container_state[container_id].name, folder, data))

    def exec(
        self,
        container_id: str,
        command: list[str],
        *,
        user: str | None = None,
        workdir: str | None = None,
    ) -> tuple[int, str]:
        name = self.container_state[container_id].name
        self.execs.append((name, list(command)))
        action = command[3] if len(command) > 3 else ""
        if action == "reload":
            self.proxy_configs[name] = command[-1]
            self.calls.append(f"reload {name}")
        if action == "read":
            return 0, self.proxy_configs.get(name, "")
        if action == "write":
            self.proxy_configs[name] = command[-1]
        if action == "link":
            self.links[command[-1]] = command[-2]
            self.calls.append(f"link {command[-1].rsplit('/', 1)[-1]} {name}")
        if not action and self.first_check_pending:
            self.calls.append(f"probe {name}")
        return 0, ""

    def log_stream(
        self,
        container_id: str,
        *,
        follow: bool,
        since: float | None,
        tail: int | None,
        until: float | None = None,
    ) -> Iterator[str]:
        lines = self.logged.get(self.container_state[container_id].name, [])
        return iter(lines[-tail:] if tail else lines)

    def stats(self, container_id: str) -> ContainerStats:
        return ContainerStats(cpu_percent=12.5, memory_bytes=64 << 20, memory_limit_bytes=256 << 20)

    def wait(self, container_id: str) -> int:
        self._replace(container_id, state="exited")
        return self.exit_codes.get(self.container_state[container_id].name, 0)

    def _session(self, output: bytes, tty: bool, exec_id: str = "") -> Session:
        ours, theirs = socket.socketpair()
        frame = output if tty else struct.pack(">BxxxI", 1, len(output)) + output
        theirs.sendall(frame)
        theirs.close()
        return Session(ours, tty=tty, exec_id=exec_id)

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
    ) -> Session:
        self.calls.append(f"exec {self.container_state[container_id].name} {' '.join(command)}")
        return self._session(f"ran {' '.join(command)}\n".encode(), tty, exec_id=command[0])

    def attach_session(self, container_id: str, *, tty: bool) -> Session:
        return self._session(b"one-off output\n", tty)

    def resize(self, session: Session, container_id: str, height: int, width: int) -> None:
        return None

    def exec_exit_code(self, session: Session) -> int:
        return 3 if session.exec_id == "false" else 0

    def path_stat(self, container_id: str, path: str) -> PathStat | None:
        if path in self.links:
            return PathStat(name=path.rsplit("/", 1)[-1], link_target=self.links[path])
        sockets = {c.labels.get(labels.SOCKET) for c in self.container_state.values()}
        return PathStat(name=path.rsplit("/", 1)[-1], link_target="") if path in sockets else None

    def image_id(self, reference: str) -> str | None:
        return self.images_by_tag.get(reference)

    def images(self, label_filter: dict[str, list[str]]) -> list[str]:
        stack = label_filter["label"][0].partition("=")[2]
        return sorted(tag for tag in self.images_by_tag if tag.startswith(f"{stack}-"))

    def remove_image(self, reference: str) -> None:
        self.images_by_tag.pop(reference, None)
        self.calls.append(f"remove image {reference}")

    def pull(self, reference: str) -> None:
        raise ImageError(f"cannot pull {reference}: no registry")

    def build(
        self, context: Path, *, dockerfile: str, tag: str, args: dict[str, str],
        target: str | None, labels: dict[str, str], on_output: Callable[[str], None],
        no_cache: bool = False,
    ) -> str:  # fmt: skip
        self.images_by_tag[tag] = f"sha256:built-{tag}"
        self.calls.append(f"build {tag}")
        return self.images_by_tag[tag]

    def load_image(self, archive: Path, reference: str) -> str:
        self.images_by_tag[reference] = archive_image_id(archive) or "sha256:loaded"
        return self.images_by_tag[reference]

    def push(self, image: str, repository: str, tag: str) -> str:
        self.images_by_tag[f"{repository}:{tag}"] = image
        return "sha256:" + image.removeprefix("sha256:").ljust(64, "0")[:64]


class FakeSwarm(FakeEngine):
    """An in-memory Swarm manager: services whose tasks run at once on three nodes, updates
    that keep the previous spec (and complete at once), configs and secrets. What the real
    swarm does over seconds happens here within a call; what deployer asks and reads is the
    same Engine API data."""

    def __init__(self, nodes: int = 3) -> None:
        super().__init__()
        self.node_list = [
            NodeInfo(f"node{n}id", f"node{n}", "ready", "active", {}) for n in range(1, nodes + 1)
        ]
        self.service_state: dict[str, ServiceInfo] = {}
        self.task_list: list[TaskInfo] = []
        self.objects: dict[str, dict[str, SwarmObject]] = {"config": {}, "secret": {}}
        self.object_data: dict[str, bytes] = {}
        self.service_logs: dict[str, list[str]] = {}  # service name -> raw log lines
        self._clock = itertools.count(1)
        self._pending: dict[str, tuple[ServiceInfo, bool]] = {}  # updates not yet shown

    def identity(self) -> str:
        return "FAKE:SWARM:ID"

    def _now(self) -> str:
        moment = datetime(2026, 12, 3, tzinfo=UTC) + timedelta(seconds=next(self._clock))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000000000Z")

    def swarm(self) -> SwarmInfo:
        return SwarmInfo(state="active", manager=True, nodes=len(self.node_list))

    def nodes(self) -> list[NodeInfo]:
        return list(self.node_list)

    def services(self, label_filter: dict[str, list[str]]) -> list[ServiceInfo]:
        self._catch_up()
        return [s for s in self.service_state.values() if self._matches(s.labels, label_filter)]

    def _catch_up(self) -> None:
        """As the real manager: an update is accepted at once, but the first look after it
        still shows the old status and tasks; the swarm's work shows from the next look on."""
        for service_id, (updated, looked) in list(self._pending.items()):
            if not looked:
                self._pending[service_id] = (updated, True)
                continue
            del self._pending[service_id]
            self.service_state[service_id] = updated
            self._run_tasks(updated)

    def _run_tasks(self, service: ServiceInfo) -> None:
        """The swarm's work: the service's current tasks shut down, new ones run its spec."""
        for index, task in enumerate(self.task_list):
            if task.service_id == service.id and task.desired_state == "running":
                self.task_list[index] = dataclasses.replace(
                    task, state="shutdown", desired_state="shutdown", timestamp=self._now()
                )
        container = service.spec["TaskTemplate"]["ContainerSpec"]
        count = service.replicas if service.replicas is not None else len(self.node_list)
        for slot in range(1, count + 1):
            node = self.node_list[(slot - 1) % len(self.node_list)]
            task_id = next(self._ids)
            self.task_list.append(
                TaskInfo(
                    id=task_id, service_id=service.id,
                    slot=slot if service.replicas is not None else 0, node_id=node.id,
                    state="running", desired_state="running", message="started", error="",
                    image=container["Image"], container_id=f"c{task_id[-11:]}",
                    timestamp=self._now(),
                    config_hash=container.get("Labels", {}).get(labels.CONFIG_HASH, ""),
                )
            )  # fmt: skip

    def create_service(self, spec: dict[str, Any]) -> str:
        if any(s.name == spec["Name"] for s in self.service_state.values()):
            raise EngineError(f"creating service {spec['Name']}: name conflicts")
        service_id = next(self._ids)
        service = ServiceInfo(service_id, spec["Name"], 1, dict(spec.get("Labels") or {}), spec)
        self.service_state[service_id] = service
        self.calls.append(f"create service {spec['Name']}")
        self._run_tasks(service)
        return service_id

    def update_service(self, service_id: str, version: int, spec: dict[str, Any]) -> None:
        live = self.service_state[service_id]
        if version != live.version:
            raise EngineError(f"updating service {live.name}: update out of sequence")
        updated = dataclasses.replace(
            live, version=live.version + 1, labels=dict(spec.get("Labels") or {}), spec=spec,
            previous_spec=live.spec, update_state="completed", update_started=self._now(),
        )  # fmt: skip
        # The spec and version change now; the update's status and tasks at a later look.
        self.service_state[service_id] = dataclasses.replace(
            updated, update_state=live.update_state, update_started=live.update_started
        )
        self._pending[service_id] = (updated, False)
        self.calls.append(f"update service {live.name}")

    def remove_service(self, service_id: str) -> None:
        removed = self.service_state.pop(service_id, None)
        self.task_list = [t for t in self.task_list if t.service_id != service_id]
        if removed:
            self.calls.append(f"remove service {removed.name}")

    def tasks(self, service_ids: list[str]) -> list[TaskInfo]:
        return [t for t in self.task_list if t.service_id in service_ids]

    def running_ids(self) -> set[str]:
        """The tasks running now: a peek that does not advance the swarm's work."""
        return {t.id for t in self.task_list if t.state == "running"}

    def swarm_objects(self, kind: str, label_filter: dict[str, list[str]]) -> list[SwarmObject]:
        return [o for o in self.objects[kind].values() if self._matches(o.labels, label_filter)]

    def create_swarm_object(self, kind: str, name: str, data: bytes, labels: dict[str, str]) -> str:
        object_id = next(self._ids)
        self.objects[kind][object_id] = SwarmObject(object_id, name, labels)
        self.object_data[name] = data
        self.calls.append(f"create {kind} {name}")
        return object_id

    def remove_swarm_object(self, kind: str, object_id: str) -> None:
        removed = self.objects[kind].pop(object_id, None)
        if removed:
            self.calls.append(f"remove {kind} {removed.name}")

    def service_log_stream(
        self, service_id: str, *, follow: bool, since: float | None, tail: int | None
    ) -> Iterator[str]:
        lines = self.service_logs.get(self.service_state[service_id].name, [])
        yield from lines[-tail:] if tail else lines
