"""The models users write: a Stack of Services and Networks (pydantic v2, frozen, no extra keys)."""

from __future__ import annotations

import ipaddress
import re
import shlex
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from deployer.model.names import NAME_MAX_LENGTH, NAME_PATTERN
from deployer.model.units import parse_duration, parse_size

# Lower-case so that names are valid in container names, DNS and Compose project names alike.
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=NAME_MAX_LENGTH)]
# Service names as Compose allows them (capitals and dots too): they name containers and DNS
# aliases, both of which take them; what must be lower-case (image repositories) is made so.
SERVICE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
ServiceName = Annotated[
    str, StringConstraints(pattern=SERVICE_NAME_PATTERN, max_length=NAME_MAX_LENGTH)
]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
PortNumber = Annotated[int, Field(ge=1, le=65535)]
RestartPolicy = Annotated[
    str,
    StringConstraints(pattern=r"^(no|always|unless-stopped|on-failure(:\d+)?)$"),
]

_PORT_STRING = re.compile(
    r"^(?:(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(?P<host>\d*):)?(?P<container>\d+)(?:/(?P<proto>tcp|udp))?$"
)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _split_command(value: object) -> object:
    """A string command is split like a shell would (as Compose does); a list is kept."""
    if isinstance(value, str):
        return tuple(shlex.split(value))
    return value


def _stringify_env(value: object) -> object:
    if isinstance(value, dict):
        return {
            key: ("true" if item is True else "false" if item is False else str(item))
            for key, item in value.items()
        }
    return value


Command = Annotated[tuple[str, ...], BeforeValidator(_split_command)]
Env = Annotated[dict[str, str], BeforeValidator(_stringify_env)]


class Port(Model):
    """A published port. `host=0` asks the engine for an ephemeral port."""

    container: PortNumber
    host: Annotated[int, Field(ge=0, le=65535)] = 0
    host_ip: str = "127.0.0.1"
    protocol: Literal["tcp", "udp"] = "tcp"

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        """Compose's short form: "80", "8080:80", "127.0.0.1:8080:80/tcp", "127.0.0.1::80"."""
        if isinstance(value, int) and not isinstance(value, bool):
            return {"container": value}
        if not isinstance(value, str):
            return value
        match = _PORT_STRING.match(value.strip())
        if not match:
            raise ValueError(
                f"invalid port {value!r}: write 'CONTAINER', 'HOST:CONTAINER' "
                "or 'IP:HOST:CONTAINER', optionally with '/tcp' or '/udp'"
            )
        result: dict[str, Any] = {"container": int(match["container"])}
        if match["host"]:
            result["host"] = int(match["host"])
        if match["ip"]:
            result["host_ip"] = match["ip"].strip("[]")
        if match["proto"]:
            result["protocol"] = match["proto"]
        return result

    @field_validator("host_ip")
    @classmethod
    def _valid_ip(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"host_ip {value!r} is not an IP address (use '127.0.0.1')") from None
        return value


class WatchExec(Model):
    """What a sync+exec rule runs in each replica after syncing (Compose's develop.watch exec)."""

    command: tuple[str, ...]
    user: str | None = None
    working_dir: str | None = None

    @field_validator("command", mode="before")
    @classmethod
    def _shell_words(cls, value: Any) -> Any:
        return shlex.split(value) if isinstance(value, str) else value


class Watch(Model):
    """A rule of `deployer watch` (Compose's develop.watch): what to do when a file under `path`
    (relative to the stack file's folder) changes. `sync` copies it to `target` in every
    running replica; `sync+restart` then restarts them one at a time; `sync+exec` then runs
    `exec` in each; `rebuild` builds the image and rolls the service out start-first;
    `restart` restarts the replicas one at a time. `ignore` and `include` are globs relative to
    `path`; `initial_sync` syncs everything once when watching starts."""

    path: str
    action: Literal["sync", "rebuild", "sync+restart", "sync+exec", "restart"]
    target: str | None = None
    ignore: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    initial_sync: bool = False
    exec: WatchExec | None = None

    @model_validator(mode="after")
    def _what_the_action_needs(self) -> Watch:
        if self.action.startswith("sync"):
            if not self.target:
                raise ValueError(f"action {self.action!r} needs a target (where files go)")
            if not self.target.startswith("/"):
                raise ValueError(f"target {self.target!r}: write an absolute path in the container")
        if self.action == "sync+exec" and self.exec is None:
            raise ValueError("action 'sync+exec' needs exec (the command to run after a sync)")
        if self.exec is not None and self.action != "sync+exec":
            raise ValueError(f"exec is for action 'sync+exec', not {self.action!r}")
        return self


class Build(Model):
    """How to build a service's image. Paths are relative to the stack file's folder."""

    context: Path
    dockerfile: str = "Dockerfile"
    args: Env = Field(default_factory=dict)
    target: str | None = None
    # A requirements file (relative to the context) whose wheels the host downloads into
    # `<context>/wheelhouse/`, so that the image installs with `pip --no-index`.
    wheelhouse: str | None = None
    python_version: str = "3.11"


class HttpProbe(Model):
    """An HTTP GET that deployer turns into a healthcheck command; 2xx/3xx is healthy."""

    path: str = "/health"
    port: PortNumber

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"path {value!r} must start with '/'")
        return value


class Healthcheck(Model):
    # A string runs in the container's shell (CMD-SHELL); a list runs as is (CMD).
    command: str | tuple[str, ...] | None = None
    http: HttpProbe | None = None
    interval: Duration = timedelta(seconds=5)
    timeout: Duration = timedelta(seconds=3)
    retries: Annotated[int, Field(ge=1)] = 3
    start_period: Duration = timedelta(0)

    @model_validator(mode="after")
    def _one_probe(self) -> Healthcheck:
        if (self.command is None) == (self.http is None):
            raise ValueError("give exactly one of 'command' or 'http'")
        if self.command is not None and not self.command:
            raise ValueError("'command' is empty")
        if self.interval <= timedelta(0) or self.timeout <= timedelta(0):
            raise ValueError("'interval' and 'timeout' must be longer than zero")
        return self


class Reservations(Model):
    cpus: Annotated[float, Field(gt=0)] | None = None
    memory: Size | None = None


class Resources(Model):
    cpus: Annotated[float, Field(gt=0)] | None = None
    memory: Size | None = None
    pids: Annotated[int, Field(gt=0)] | None = None
    reservations: Reservations = Reservations()

    @model_validator(mode="after")
    def _reservation_within_limit(self) -> Resources:
        reserved = self.reservations.memory
        if reserved is not None and self.memory is not None and reserved > self.memory:
            raise ValueError("reservations.memory is larger than the memory limit")
        return self


class Ulimit(Model):
    soft: int
    hard: int

    @model_validator(mode="before")
    @classmethod
    def _from_int(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"soft": value, "hard": value}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Ulimit:
        if self.soft > self.hard:
            raise ValueError("soft limit is above hard limit")
        return self


class Logging(Model):
    driver: str = "json-file"
    max_size: str | None = None
    max_file: Annotated[int, Field(ge=1)] | None = None
    options: dict[str, str] = Field(default_factory=dict)

    @field_validator("max_size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None:
            parse_size(value)
        return value


class DependsOn(Model):
    """Start after `service` has started, is healthy, or (a one-shot job such as a migration)
    has run to completion with exit code 0."""

    service: str
    condition: Literal["started", "healthy", "completed"] = "started"
    # Restart this service when an `up` replaces `service`'s containers (Compose's restart).
    restart: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"service": value}
        return value


class NetworkAttachment(Model):
    name: str
    aliases: tuple[str, ...] = ()
    # A fixed address on this network (it needs a subnet of its own: Network(ipam=...)).
    ipv4_address: str | None = None
    ipv6_address: str | None = None

    @field_validator("ipv4_address", "ipv6_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address") from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        return value


class Mount(Model):
    """A bind mount (a host path, relative to the stack file) or a named volume of the stack."""

    type: Literal["bind", "volume"] = "volume"
    source: str
    target: str
    read_only: bool = False
    propagation: Literal["private", "rprivate", "shared", "rshared", "slave", "rslave"] | None = (
        None  # a bind mount's, as the kernel knows them
    )
    nocopy: bool = False  # a volume: do not copy the image's files into it when it is new

    def long_form(self) -> bool:
        """Options a "source:target" string cannot carry (an engine Mount instead)."""
        return self.anonymous() or self.propagation is not None or self.nocopy

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        """Compose's short form: "./conf:/etc/app:ro", "data:/var/lib/data", or just "/data"
        for an anonymous volume (the container's own, removed with it)."""
        if not isinstance(value, str):
            return value
        if value.startswith("/") and ":" not in value:
            return {"type": "volume", "source": "", "target": value}
        parts = value.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in {"ro", "rw"}):
            raise ValueError(
                f"invalid mount {value!r}: write 'SOURCE:TARGET' or 'SOURCE:TARGET:ro'"
            )
        source, target = parts[0], parts[1]
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        return {"type": kind, "source": source, "target": target, "read_only": parts[2:] == ["ro"]}

    @field_validator("target")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"target {value!r} must be an absolute path in the container")
        return value

    def anonymous(self) -> bool:
        """A volume without a name: the container's own, removed with it."""
        return self.type == "volume" and not self.source


class Volume(Model):
    """A named volume: created with the stack, kept by `down` unless `down --volumes`.

    `external`: it exists already, under the name `engine_name` (default: `name`); deployer
    mounts it and never creates or removes it."""

    name: Name
    driver: str = "local"
    driver_opts: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    external: bool = False
    engine_name: str | None = None


class File(Model):
    """A file written into the container before it starts (its content enters the config hash)."""

    path: str
    content: str = ""
    mode: int = 0o644
    uid: Annotated[int, Field(ge=0)] = 0
    gid: Annotated[int, Field(ge=0)] = 0
    # When set, the file is a symbolic link to this path instead of `content`.
    link: str | None = None
    # Bytes instead of `content` (a binary secret, a DER key): deployer's own, never dumped.
    data: bytes | None = Field(default=None, exclude=True, repr=False)

    def payload(self) -> bytes:
        """What is written: `data` when given, else `content` as UTF-8."""
        return self.data if self.data is not None else self.content.encode()

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"path {value!r} must be absolute")
        return value


SECRET_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Source(Model):
    """Where a secret's or config's content comes from: exactly one of a file (relative to the
    stack file), an environment variable of the process that deploys, or inline content."""

    name: Annotated[str, Field(pattern=SECRET_NAME, max_length=64)]
    file: Path | None = None
    environment: str | None = None

    def _sources(self) -> int:
        content = getattr(self, "content", None)  # declared by each kind, with its own type
        return sum(x is not None for x in (self.file, self.environment, content))

    @model_validator(mode="after")
    def _one_source(self) -> _Source:
        if self._sources() != 1:
            raise ValueError("give exactly one of 'file', 'environment' or 'content'")
        return self


class Secret(_Source):
    """A secret: mounted read-only at /run/secrets/<name> in the services that list it. Its
    value never enters labels, plans, `config` or logs; only its digest enters the services'
    config hash, so that a changed secret rolls them."""

    content: SecretStr | None = None


class Config(_Source):
    """A configuration file: written at /<name> (or its target) in the services that list it."""

    content: str | None = None


class _Use(Model):
    source: Annotated[str, Field(pattern=SECRET_NAME)]
    target: str | None = None
    uid: Annotated[int, Field(ge=0)] = 0
    gid: Annotated[int, Field(ge=0)] = 0
    mode: Annotated[int, Field(ge=0, le=0o7777)] = 0o444

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"source": value}
        return value


class SecretUse(_Use):
    """A service's use of a stack secret; `target` is a file name under /run/secrets (or an
    absolute path there)."""

    def path(self) -> str:
        target = self.target or self.source
        return target if target.startswith("/") else f"{SECRETS_DIR}/{target}"

    @field_validator("target")
    @classmethod
    def _under_run_secrets(cls, value: str | None) -> str | None:
        if value and value.startswith("/") and not value.startswith(f"{SECRETS_DIR}/"):
            raise ValueError(f"a secret's target must be under {SECRETS_DIR}/ (got {value!r})")
        return value


class ConfigUse(_Use):
    """A service's use of a stack config; `target` defaults to /<source>."""

    def path(self) -> str:
        target = self.target or self.source
        return target if target.startswith("/") else f"/{target}"


SECRETS_DIR = "/run/secrets"


class RateLimit(Model):
    """Requests per second per client address, with a burst served without delay; 429 past it."""

    per_second: Annotated[int, Field(ge=1)] = 5000
    burst: Annotated[int, Field(ge=0)] = 10000


_NGINX_SIZE = re.compile(r"^\d+[kKmMgG]?$")


class Proxy(Model):
    """Marks an nginx service as the reverse proxy of `upstream`: deployer renders its config.

    transport="tcp": nginx reaches replicas by name and port; a replica swap reloads nginx.
    transport="socket": each replica also listens on the unix socket named by $DEPLOYER_SOCKET
    (mode 0666); nginx reaches one stable path per replica slot, a symlink that deployer points
    at the current replica, so replacing replicas needs no reload at all.
    """

    upstream: str
    port: PortNumber
    transport: Literal["tcp", "socket"] = "tcp"
    template: Path = Path("nginx/nginx.conf.template")
    # Generous by default: it stops a runaway client, not a busy one. None turns it off.
    rate_limit: RateLimit | None = RateLimit()
    # nginx's client_max_body_size, pasted into its config: a size and nothing else.
    max_body_size: str = "10m"
    # The upstream's /metrics through the public port: off by default (the stack's own scrapers
    # reach the replicas directly on the stack's network).
    public_metrics: bool = False

    @field_validator("max_body_size")
    @classmethod
    def _nginx_size(cls, value: str) -> str:
        if not _NGINX_SIZE.match(value):
            raise ValueError("not a size nginx takes: write digits with k, m or g ('10m')")
        return value


class UpdatePolicy(Model):
    """How a changed service is replaced. start-first needs no fixed host port (else stop-first)."""

    order: Literal["start-first", "stop-first"] = "start-first"
    # Replicas replaced at once (the surge: how many extra containers run during an update).
    parallelism: Annotated[int, Field(ge=1)] = 1
    # Longest wait for a proxy's old workers to finish in-flight requests to a replica leaving it.
    drain_timeout: Duration = timedelta(seconds=10)
    # On a Swarm, which rolls its services itself: the pause between batches, how long a new
    # task is watched for failure, and what a failed update does (roll back by default).
    delay: Duration = timedelta(0)
    monitor: Duration = timedelta(seconds=5)
    failure_action: Literal["rollback", "pause", "continue"] = "rollback"


class RollbackPolicy(Model):
    """How a Swarm rolls a service back after a failed update (Compose's
    deploy.rollback_config). Unset: the update's own order, parallelism, delay and monitor."""

    order: Literal["start-first", "stop-first"] = "start-first"
    parallelism: Annotated[int, Field(ge=1)] = 1
    delay: Duration = timedelta(0)
    monitor: Duration = timedelta(seconds=5)
    failure_action: Literal["pause", "continue"] = "pause"


class Placement(Model):
    """Where a Swarm may run a service's tasks (Compose's deploy.placement). A single engine
    has one place: it ignores this, with a note."""

    constraints: tuple[str, ...] = ()  # "node.role==worker", "node.labels.zone!=a"
    preferences: tuple[str, ...] = ()  # spread over a node label: "node.labels.zone"
    max_replicas_per_node: Annotated[int, Field(ge=1)] | None = None


class Service(Model):
    name: ServiceName
    image: str | None = None
    build: Build | None = None
    command: Command | None = None
    entrypoint: Command | None = None
    env: Env = Field(default_factory=dict)
    ports: tuple[Port, ...] = ()
    replicas: Annotated[int, Field(ge=0, le=100)] = 1
    depends_on: tuple[DependsOn, ...] = ()
    healthcheck: Healthcheck | None = None
    resources: Resources = Resources()
    restart: RestartPolicy = "no"
    user: str | None = None
    working_dir: str | None = None
    read_only: bool = False
    # container path -> mount options, e.g. {"/tmp": "size=64m,mode=1777"}
    tmpfs: dict[str, str] = Field(default_factory=dict)
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    ulimits: dict[str, Ulimit] = Field(default_factory=dict)
    logging: Logging | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    stop_grace_period: Duration = timedelta(seconds=10)
    stop_signal: str | None = None
    init: bool = False
    networks: tuple[NetworkAttachment, ...] = ()
    # Ports the container listens on for other services, not published on the host.
    expose: tuple[PortNumber, ...] = ()
    mounts: tuple[Mount, ...] = ()
    files: tuple[File, ...] = ()
    secrets: tuple[SecretUse, ...] = ()
    configs: tuple[ConfigUse, ...] = ()
    # Container settings as Compose names them.
    hostname: str | None = None
    domainname: str | None = None
    # name -> address (or addresses), in /etc/hosts
    extra_hosts: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)
    shm_size: Size | None = None
    sysctls: dict[str, str] = Field(default_factory=dict)
    pid: str | None = None  # "host" shares the host's process namespace
    ipc: str | None = None  # "private", "shareable", "host", "container:NAME"
    privileged: bool = False
    devices: tuple[str, ...] = ()  # "HOST[:CONTAINER[:PERMISSIONS]]"
    device_cgroup_rules: tuple[str, ...] = ()  # "c 1:3 mr", "a *:* rwm"
    group_add: tuple[str, ...] = ()
    # Instead of the stack's networks: "host", "none", "service:NAME" (share that service's
    # first replica's network stack) or "container:NAME".
    network_mode: str | None = None
    mac_address: str | None = None
    # When to pull `image` (the command line's --pull when unset); "build" builds instead.
    pull_policy: Literal["always", "missing", "never", "build"] | None = None
    proxy: Proxy | None = None
    update: UpdatePolicy = UpdatePolicy()
    # `deployer watch` (and `up --watch`): what to do when the service's files change.
    watch: tuple[Watch, ...] = ()
    rollback: RollbackPolicy | None = None  # Swarm only
    # Swarm only (Compose's deploy.mode, deploy.placement); a single engine notes and ignores.
    mode: Literal["replicated", "global"] = "replicated"
    placement: Placement = Placement()

    def waits_for(self) -> dict[str, str]:
        """The services this one waits for, each with its condition (started, healthy or
        completed): its depends_on, and for a proxy its upstream, healthy, whatever depends_on
        says, since the proxy routes to the upstream's replicas."""
        found: dict[str, str] = {dep.service: dep.condition for dep in self.depends_on}
        if self.network_mode and self.network_mode.startswith("service:"):
            found.setdefault(self.network_mode.removeprefix("service:"), "started")
        if self.proxy is not None:
            found[self.proxy.upstream] = "healthy"
        return found

    def needs(self) -> dict[str, bool]:
        """The services this one waits for, each with whether more than its start is awaited."""
        return {name: condition != "started" for name, condition in self.waits_for().items()}

    @model_validator(mode="after")
    def _image_or_build(self) -> Service:
        if (self.image is None) == (self.build is None):
            raise ValueError("give exactly one of 'image' or 'build'")
        if self.build is None and any(rule.action == "rebuild" for rule in self.watch):
            raise ValueError("watch: a 'rebuild' rule needs 'build' (an image is not rebuilt)")
        return self

    @field_validator("tmpfs", mode="before")
    @classmethod
    def _tmpfs_list(cls, value: Any) -> Any:
        """Accept Compose's list form: ["/tmp", "/run:size=1m"]."""
        if isinstance(value, list | tuple):
            pairs = (str(item).partition(":") for item in value)
            return {path: options for path, _, options in pairs}
        return value


class Subnet(Model):
    """One address pool of a network: its subnet, and optionally gateway and allocation range."""

    subnet: str
    gateway: str | None = None
    ip_range: str | None = None

    @field_validator("subnet", "ip_range")
    @classmethod
    def _network(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not a subnet (write 172.28.0.0/16)") from None
        return value


class Network(Model):
    """A network of the stack; `external`: one that exists already, under the name
    `engine_name` (default: `name`), which deployer joins and never creates or removes.
    `ipam`: its own subnets, so that services may take fixed addresses on it."""

    name: Name
    driver: str = "bridge"
    internal: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    external: bool = False
    engine_name: str | None = None
    ipam: tuple[Subnet, ...] = ()
    enable_ipv6: bool = False


DEFAULT_NETWORK = "default"


class Stack(Model):
    name: Name
    services: tuple[Service, ...]
    networks: tuple[Network, ...] = ()
    volumes: tuple[Volume, ...] = ()
    secrets: tuple[Secret, ...] = ()
    configs: tuple[Config, ...] = ()
    # Put on every container, network and volume the stack creates (e.g. a test session's id).
    labels: dict[str, str] = Field(default_factory=dict)
    # The engine the stack runs on: unix://, tcp://host:2376 or ssh://user@host[:port] (an
    # OpenSSH tunnel). -H on the command line wins; without either, DOCKER_HOST or the context.
    engine: str | None = Field(default=None, pattern=r"^(unix|tcp|ssh)://\S+$")
    # Folder that relative paths (build contexts, templates) resolve against; set by the loader.
    root: Path = Field(default=Path("."), exclude=True)

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def with_service(self, name: str, **changes: Any) -> Stack:
        """The stack with one service's fields changed: a copy, validated as the model is (a
        port may be written "127.0.0.1::80"; `replicas=500` is refused)."""
        current = self.service(name)
        # Only the fields that were given: what was left to its default stays so (a target's
        # own defaults apply to those, e.g. a swarm's restart policy).
        fields = {key: getattr(current, key) for key in current.model_fields_set}
        changed = type(current).model_validate({**fields, **changes})
        services = tuple(changed if s.name == name else s for s in self.services)
        stack_fields = {key: getattr(self, key) for key in self.model_fields_set}
        return type(self).model_validate({**stack_fields, "services": services})

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.root / path)

    def socket_proxy_of(self, upstream: str) -> Service | None:
        """The proxy that reaches `upstream` over unix sockets, if any."""
        for proxy in self.proxies_of(upstream):
            if proxy.proxy is not None and proxy.proxy.transport == "socket":
                return proxy
        return None

    def jobs(self) -> set[str]:
        """One-shot services: those another waits on to complete. Their containers run to the
        end; one that exited 0 is done and is not started again while its config matches."""
        return {
            dep.service
            for service in self.services
            for dep in service.depends_on
            if dep.condition == "completed"
        }

    def socket_upstreams(self) -> list[str]:
        """Services reached over unix sockets: each gets a shared socket volume."""
        return sorted(
            {s.proxy.upstream for s in self.services if s.proxy and s.proxy.transport == "socket"}
        )

    def proxies_of(self, upstream: str) -> list[Service]:
        """The proxy services whose upstream is `upstream`."""
        return [s for s in self.services if s.proxy is not None and s.proxy.upstream == upstream]

    def service_networks(self, service: Service) -> tuple[NetworkAttachment, ...]:
        """The networks a service joins: its own list, or the stack's implicit default one."""
        if service.network_mode:
            return ()
        return service.networks or (NetworkAttachment(name=DEFAULT_NETWORK),)

    def all_networks(self) -> tuple[Network, ...]:
        """Declared networks plus the implicit default one when some service uses it."""
        declared = {network.name for network in self.networks}
        used = {att.name for svc in self.services for att in self.service_networks(svc)}
        implicit = (Network(name=DEFAULT_NETWORK),) if DEFAULT_NETWORK in used - declared else ()
        return self.networks + implicit


def stack_name(stack: Stack | str) -> str:
    """A stack's name, given the stack or the name itself (the API takes either)."""
    return stack.name if isinstance(stack, Stack) else stack
