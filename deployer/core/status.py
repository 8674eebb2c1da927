"""What `status` and `up` report, in one shape on every target: a row per replica (a container
on one engine, a task on a swarm) and a deployment's outcome. Plain data; JSON via as_data()."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from deployer.core import labels
from deployer.core.state import ContainerInfo, PublishedPort, replica_of
from deployer.model.errors import NotFound
from deployer.model.units import parse_duration

if TYPE_CHECKING:  # a type only: the models load with the first stack
    from deployer.core.plan import Plan
    from deployer.model.spec import Stack


@dataclass(frozen=True)
class ReplicaStatus:
    stack: str
    service: str
    replica: int
    container: str
    id: str
    state: str
    health: str
    ports: list[PublishedPort]
    image: str
    restart_count: int
    uptime_seconds: float | None
    oom_killed: bool = False  # its last exit was the memory limit's doing
    # What keeps a running replica from serving although the engine calls it healthy (a broken
    # route from its proxy); health then reads "unhealthy".
    problem: str = ""
    # Health still 'starting' to the engine, but its healthcheck command passed when deployer
    # ran it early: the engine's own verdict comes at its first interval.
    probed: bool = False
    node: str = ""  # where it runs, on a target with nodes (a swarm); "" on one engine

    @classmethod
    def of(
        cls, info: ContainerInfo, now: datetime, problem: str | None = None, probed: bool = False
    ) -> ReplicaStatus:
        """A container's row (problem: what is wrong with its route from the proxy)."""
        uptime = (now - info.started_at).total_seconds() if info.started_at else None
        return cls(
            stack=info.labels.get(labels.STACK, ""),
            service=info.labels.get(labels.SERVICE, ""),
            replica=replica_of(info),
            container=info.name,
            id=info.id[:12],
            state=info.state,
            health="unhealthy" if problem else info.health or "none",
            ports=info.ports,
            image=info.image,
            restart_count=info.restart_count,
            uptime_seconds=uptime,
            oom_killed=info.oom_killed,
            problem=f"route missing: {problem}" if problem else "",
            probed=probed,
        )

    def as_data(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "service": self.service,
            "replica": self.replica,
            "container": self.container,
            "id": self.id,
            "state": self.state,
            "health": self.health,
            "ports": [
                {
                    "host_ip": p.host_ip,
                    "host_port": p.host_port,
                    "container_port": p.container_port,
                    "protocol": p.protocol,
                }
                for p in self.ports
            ],
            "image": self.image,
            "restart_count": self.restart_count,
            "oom_killed": self.oom_killed,
            "uptime_seconds": None
            if self.uptime_seconds is None
            else round(self.uptime_seconds, 1),
            "problem": self.problem,
            "probed": self.probed,
            "node": self.node or None,
        }


@dataclass(frozen=True)
class Deployment:
    stack: str
    plan: Plan
    replicas: list[ReplicaStatus]
    seconds: float
    front_door: str | None = None  # the proxy service, whose URL `up` prints
    target: str = "engine"  # which kind of target it runs on (deployer.targets)
    # On a swarm: the images it was made from where deployer builds them, reference -> id
    # (the record of an unchanged `up` checks them: deployer.unchanged).
    built: dict[str, str] = field(default_factory=dict)

    def url(self, service: str | None = None, container_port: int | None = None) -> str:
        """http://host:port of a published port (of the front door when no service is named)."""
        wanted = service or self.front_door
        for replica in self.replicas:
            if replica.service != wanted:
                continue
            for port in replica.ports:
                if container_port is None or port.container_port == container_port:
                    host = "127.0.0.1" if port.host_ip in {"", "0.0.0.0"} else port.host_ip
                    host = f"[{host}]" if ":" in host else host
                    return f"http://{host}:{port.host_port}"
        raise NotFound(f"service {wanted!r} of stack {self.stack!r} publishes no such port")

    def urls(self) -> dict[str, str]:
        found = {}
        for replica in self.replicas:
            if replica.ports and replica.service not in found:
                found[replica.service] = self.url(replica.service)
        return found

    def as_data(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "target": self.target,
            "seconds": round(self.seconds, 2),
            "plan": self.plan.as_data(),
            "urls": self.urls(),
            "replicas": [replica.as_data() for replica in self.replicas],
        }


def front_door(stack: Stack) -> str | None:
    """The service whose URL `up` prints: the proxy, else the first that publishes a port."""
    proxies = [s.name for s in stack.services if s.proxy is not None]
    published = [s.name for s in stack.services if s.ports]
    return next(iter(proxies + published), None)


@dataclass(frozen=True)
class Address:
    """Where a user reaches a published port from the machine deployer runs on."""

    service: str
    url: str  # as the engine's machine serves it
    server: str | None  # that machine's name, when it is not this one
    hint: str = ""  # how to get there from here, when the port is only on the server's loopback

    def as_data(self) -> dict[str, Any]:
        return {"service": self.service, "url": self.url, "server": self.server,
                "hint": self.hint or None}  # fmt: skip

    def text(self) -> str:
        where = f" on {self.server} (its loopback only)" if self.hint else ""
        return f"{self.service}: {self.url}{where}" + (f"\n    {self.hint}" if self.hint else "")


def addresses(replicas: list[ReplicaStatus], engine_address: str) -> list[Address]:
    """Each publishing service's first port, as reachable from here: a port on every interface
    of a server is the server's name; one on its loopback stays loopback, with how to forward
    it (`ssh -L`) when the engine is reached over ssh://."""
    parts = urlsplit(engine_address) if engine_address else None
    server = parts.hostname if parts and parts.scheme in {"ssh", "tcp"} else None
    found: dict[str, Address] = {}
    for replica in replicas:
        if replica.service in found or not replica.ports:
            continue
        port = replica.ports[0]
        everywhere = port.host_ip in {"", "0.0.0.0", "::"}
        host = (server or "127.0.0.1") if everywhere else port.host_ip
        host = f"[{host}]" if ":" in host else host
        url = f"http://{host}:{port.host_port}"
        hint = ""
        if server and not everywhere and parts is not None:
            hint = _forward_hint(parts, port.host_ip, port.host_port)
        found[replica.service] = Address(replica.service, url, server, hint)
    return list(found.values())


def _forward_hint(parts: SplitResult, host_ip: str, host_port: int) -> str:
    if parts.scheme != "ssh":
        return "reach it from the server itself, or publish it on an address others can reach"
    login = f"{parts.username}@{parts.hostname}" if parts.username else str(parts.hostname)
    port = f"-p {parts.port} " if parts.port else ""
    return (
        f"from here: `ssh -N -L {host_port}:{host_ip}:{host_port} {port}{login}`, then "
        f"http://127.0.0.1:{host_port} (or `deployer tunnel`)"
    )


@dataclass(frozen=True)
class StackSummary:
    name: str
    # service -> (running, healthy, containers)
    services: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    ports: list[str] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "services": {
                name: {"running": r, "healthy": h, "replicas": n}
                for name, (r, h, n) in sorted(self.services.items())
            },
            "ports": self.ports,
        }


@dataclass(frozen=True)
class LogLine:
    container: str
    service: str
    replica: int
    time: datetime | None
    text: str

    def as_data(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "service": self.service,
            "replica": self.replica,
            "time": self.time.isoformat() if self.time else None,
            "text": self.text,
        }


def since_seconds(value: str | None) -> float | None:
    """`10m` (ago), a Unix time, or an RFC 3339 time -> Unix seconds."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        pass
    try:
        return datetime.now(UTC).timestamp() - parse_duration(value).total_seconds()
    except ValueError:
        raise NotFound(
            f"--since {value!r}: not a duration (10m, 1h30m), a Unix time or an RFC 3339 time"
        ) from None
