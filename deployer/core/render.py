"""Service -> the exact Engine API body that creates one of its containers (pure data).

Units are the engine's: durations in nanoseconds, memory in bytes, CPUs in nano-CPUs.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.core import labels
from deployer.model.spec import (
    SECRETS_DIR,
    File,
    Healthcheck,
    HttpProbe,
    Network,
    NetworkAttachment,
    Service,
    Stack,
)
from deployer.model.units import to_nanoseconds


@dataclass(frozen=True)
class ContainerPlan:
    """Everything needed to create one replica: the create body plus what follows creation."""

    name: str
    body: dict[str, Any]
    # Networks beyond the first: API 1.41 attaches only one network at creation.
    # (network, aliases, fixed addresses as IPAMConfig) for each.
    extra_networks: list[tuple[str, list[str], dict[str, str]]] = field(default_factory=list)
    files: list[File] = field(default_factory=list)


def container_plan(
    stack: Stack,
    service: Service,
    replica: int,
    *,
    image: str,
    config_hash: str,
    config_fields: str,
    files: list[File],
    spec: str = "",
    previous_spec: str = "",
    name: str | None = None,
) -> ContainerPlan:
    """The create body of one replica; `name` overrides the usual one (for a successor)."""
    name = name or labels.container_name(stack.name, service.name, replica)
    # The container's own name needs no alias: user networks resolve container names, and keep
    # doing so after a rename.
    endpoints = [
        (labels.engine_network(stack, att.name), [service.name, *att.aliases], addresses(att))
        for att in stack.service_networks(service)
    ]
    first_network, first_aliases, first_addresses = (
        endpoints[0] if endpoints else (network_mode(stack, service), [], {})
    )
    body: dict[str, Any] = {
        "Image": image,
        "Env": [f"{key}={value}" for key, value in sorted(service.env.items())]
        + labels.spec_env(spec, previous_spec),
        "Labels": {
            **stack.labels,
            **service.labels,
            **labels.container_labels(
                stack.name,
                service.name,
                replica,
                config_hash,
                config_fields,
                sorted(service.needs()),
            ),
        },
        "ExposedPorts": {
            **{f"{port}/tcp": {} for port in service.expose},
            **{f"{p.container}/{p.protocol}": {} for p in service.ports},
        },
        "StopTimeout": max(1, round(service.stop_grace_period.total_seconds())),
        "HostConfig": host_config(
            service, first_network, binds(stack, service), long_mounts(stack, service)
        ),
        "NetworkingConfig": {
            "EndpointsConfig": {
                first_network: {"Aliases": first_aliases}
                | ({"IPAMConfig": first_addresses} if first_addresses else {})
            }
            if endpoints
            else {}
        },
    }
    if service.secrets:
        # The container's own anonymous volume: secrets are written there before it starts
        # (a read-only root included), stay out of its image layer, and go with the container.
        mounts = body["HostConfig"].setdefault("Mounts", [])
        mounts.append({"Type": "volume", "Target": SECRETS_DIR})
    _attach_sockets(stack, service, name, replica, body)
    check: dict[str, Any] | None = None
    if service.name in stack.socket_upstreams():
        check = routed_healthcheck(service.healthcheck)
    elif service.healthcheck is not None:
        check = healthcheck(service.healthcheck)
    optional = {
        **process(service),
        "MacAddress": service.mac_address,
        "Domainname": service.domainname,
        "Healthcheck": check,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return ContainerPlan(name=name, body=body, extra_networks=endpoints[1:], files=files)


def process(service: Service) -> dict[str, Any]:
    """How the service's process starts, in the Engine API's container words (a swarm task's
    spec spells some otherwise), for what the service sets."""
    found = {
        "Cmd": list(service.command) if service.command is not None else None,
        "Entrypoint": list(service.entrypoint) if service.entrypoint is not None else None,
        "User": service.user,
        "WorkingDir": service.working_dir,
        "StopSignal": service.stop_signal,
        "Hostname": service.hostname,
    }
    return {key: value for key, value in found.items() if value is not None}


def _attach_sockets(
    stack: Stack, service: Service, name: str, replica: int, body: dict[str, Any]
) -> None:
    """Mount deployer's volumes: sockets into socket-reached replicas and their proxy, and
    the rendered config into a proxy (started with it unless the service says otherwise)."""
    volumes: list[tuple[str, str]] = []
    if service.name in stack.socket_upstreams():
        volumes.append((labels.socket_volume(stack.name, service.name), labels.SOCKET_DIR))
        path = labels.socket_path(name)
        body["Env"] = sorted(
            [
                *body["Env"],
                f"{labels.SOCKET_ENV}={path}",
                f"{labels.SLOT_ENV}={labels.slot_path(replica)}",
            ]
        )
        body["Labels"][labels.SOCKET] = path
    if service.proxy is not None and service.proxy.transport == "socket":
        volumes.append(
            (labels.socket_volume(stack.name, service.proxy.upstream), labels.SOCKET_DIR)
        )
        body["Labels"][labels.ROUTES] = service.proxy.upstream
    if service.proxy is not None:
        volumes.append((labels.config_volume(stack.name, service.name), labels.PROXY_CONFIG_DIR))
        if service.command is None:
            body["Cmd"] = ["nginx", "-c", labels.PROXY_CONFIG, "-g", "daemon off;"]
    if volumes:
        body["HostConfig"].setdefault("Mounts", []).extend(
            {"Type": "volume", "Source": volume, "Target": target} for volume, target in volumes
        )


def binds(stack: Stack, service: Service) -> list[str]:
    """Bind mounts (host paths resolved against the stack file) and named volumes."""
    found = []
    for mount in service.mounts:
        if mount.long_form():
            continue  # a Mount of its own (mounts()): a bind string cannot express it
        if mount.type == "bind":
            source = str(stack.resolve(Path(mount.source).expanduser()).resolve())
        else:
            source = labels.engine_volume(stack, mount.source)
        found.append(f"{source}:{mount.target}" + (":ro" if mount.read_only else ""))
    return found


def long_mounts(stack: Stack, service: Service) -> list[dict[str, Any]]:
    """The mounts a bind string cannot express: anonymous volumes (the container's own, removed
    with it), bind propagation, volumes that must not be seeded from the image."""
    found = []
    for mount in service.mounts:
        if not mount.long_form():
            continue
        entry: dict[str, Any] = {"Type": mount.type, "Target": mount.target,
                                 "ReadOnly": mount.read_only}  # fmt: skip
        if mount.type == "bind":
            entry["Source"] = str(stack.resolve(Path(mount.source).expanduser()).resolve())
            if mount.propagation:
                entry["BindOptions"] = {"Propagation": mount.propagation}
        elif mount.source:
            entry["Source"] = labels.engine_volume(stack, mount.source)
        if mount.nocopy:
            entry["VolumeOptions"] = {"NoCopy": True}
        found.append(entry)
    return found


def host_config(
    service: Service,
    network: str,
    bind_mounts: list[str] | None = None,
    mounts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    limits = service.resources
    config: dict[str, Any] = {
        "NetworkMode": network,
        "RestartPolicy": restart_policy(service.restart),
        "PortBindings": port_bindings(service),
        "ReadonlyRootfs": service.read_only,
        "Init": service.init,
    }
    optional: dict[str, Any] = {
        "NanoCpus": round(limits.cpus * 1e9) if limits.cpus else None,
        "Memory": limits.memory,
        # Without MemorySwap the engine allows as much swap again as the limit: a limit is a limit.
        "MemorySwap": limits.memory,
        "MemoryReservation": limits.reservations.memory,
        # A single host has no CPU reservation; a proportional CPU weight is the nearest thing.
        "CpuShares": round(limits.reservations.cpus * 1024) if limits.reservations.cpus else None,
        "PidsLimit": limits.pids,
        "Tmpfs": dict(service.tmpfs) or None,
        "Binds": bind_mounts or None,
        "CapAdd": list(service.cap_add) or None,
        "CapDrop": list(service.cap_drop) or None,
        "SecurityOpt": [o for o in service.security_opt if o != UNCONFINED_PATHS] or None,
        "Ulimits": [
            {"Name": name, "Soft": limit.soft, "Hard": limit.hard}
            for name, limit in sorted(service.ulimits.items())
        ]
        or None,
        "LogConfig": log_config(service),
        "ExtraHosts": [
            f"{host}:{ip}"
            for host, ips in sorted(service.extra_hosts.items())
            for ip in ((ips,) if isinstance(ips, str) else ips)
        ]
        or None,
        "ShmSize": service.shm_size,
        "Sysctls": dict(service.sysctls) or None,
        "PidMode": service.pid,
        "IpcMode": service.ipc,
        "Privileged": service.privileged or None,
        "Devices": [device_mapping(d) for d in service.devices] or None,
        "DeviceCgroupRules": list(service.device_cgroup_rules) or None,
        "GroupAdd": list(service.group_add) or None,
        "Mounts": mounts or None,
    }
    config.update({key: value for key, value in optional.items() if value is not None})
    if UNCONFINED_PATHS in service.security_opt:
        # The docker CLI's own spelling: nothing of /proc or /sys masked or read-only.
        config["MaskedPaths"] = []
        config["ReadonlyPaths"] = []
    return config


def addresses(attachment: NetworkAttachment) -> dict[str, str]:
    """A fixed address on one network, as the engine's IPAMConfig."""
    found = {"IPv4Address": attachment.ipv4_address, "IPv6Address": attachment.ipv6_address}
    return {key: value for key, value in found.items() if value}


def ipam(network: Network) -> dict[str, Any] | None:
    """A network's own subnets, as the engine's IPAM settings."""
    if not network.ipam:
        return None
    pools = [
        {key: value for key, value in (("Subnet", pool.subnet), ("Gateway", pool.gateway),
                                       ("IPRange", pool.ip_range)) if value}
        for pool in network.ipam
    ]  # fmt: skip
    return {"Driver": "default", "Config": pools}


def network_mode(stack: Stack, service: Service) -> str:
    """The engine's NetworkMode for a service that joins no stack network."""
    mode = service.network_mode or "none"
    if mode.startswith("service:"):  # that service's first replica, by its container name
        return f"container:{labels.container_name(stack.name, mode.removeprefix('service:'), 1)}"
    return mode


UNCONFINED_PATHS = "systempaths=unconfined"


def device_mapping(text: str) -> dict[str, str]:
    """Compose's "HOST[:CONTAINER[:PERMISSIONS]]" as the engine's device mapping."""
    parts = text.split(":")
    host = parts[0]
    container = parts[1] if len(parts) > 1 else host
    permissions = parts[2] if len(parts) > 2 else "rwm"
    return {"PathOnHost": host, "PathInContainer": container, "CgroupPermissions": permissions}


def restart_policy(policy: str) -> dict[str, Any]:
    name, _, retries = policy.partition(":")
    return {"Name": "" if name == "no" else name, "MaximumRetryCount": int(retries or 0)}


def port_bindings(service: Service) -> dict[str, list[dict[str, str]]]:
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in service.ports:
        # An empty HostPort asks the engine for an ephemeral port.
        host_port = str(port.host) if port.host else ""
        key = f"{port.container}/{port.protocol}"
        bindings.setdefault(key, []).append({"HostIp": port.host_ip, "HostPort": host_port})
    return bindings


def log_config(service: Service) -> dict[str, Any] | None:
    logging = service.logging
    if logging is None:
        return None
    options = dict(logging.options)
    if logging.max_size is not None:
        options["max-size"] = logging.max_size
    if logging.max_file is not None:
        options["max-file"] = str(logging.max_file)
    return {"Type": logging.driver, "Config": options}


def healthcheck(check: Healthcheck) -> dict[str, Any]:
    if check.http is not None:
        test = ["CMD-SHELL", http_probe(check.http, check.timeout.total_seconds())]
    elif isinstance(check.command, str):
        test = ["CMD-SHELL", check.command]
    else:
        test = ["CMD", *(check.command or ())]
    return {
        "Test": test,
        "Interval": to_nanoseconds(check.interval),
        "Timeout": to_nanoseconds(check.timeout),
        "Retries": check.retries,
        "StartPeriod": to_nanoseconds(check.start_period),
    }


# Appended to the healthcheck of a socket-reached replica: when its slot routes nowhere (an
# engine restart empties the socket volume; a link deleted by hand), the healthy replica points
# the slot at its own socket. Docker runs it, so the stack heals with no deployer command. A slot
# that routes to a live socket (the predecessor's, during a rollout) is left to deployer.
CLAIM_SLOT = (
    f'if [ ! -e "${labels.SLOT_ENV}" ]; then '
    f'[ -S "${labels.SOCKET_ENV}" ] '
    f'|| {{ echo "nothing listens on ${labels.SOCKET_ENV}"; exit 1; }}; '
    f'ln -sfn "${{{labels.SOCKET_ENV}##*/}}" "${labels.SLOT_ENV}.$$" '
    f'&& mv -fT "${labels.SLOT_ENV}.$$" "${labels.SLOT_ENV}" '
    f'&& echo "claimed ${labels.SLOT_ENV}"; fi'
)
# A socket-reached replica without a healthcheck of its own: listening on its socket is healthy.
_SOCKET_CHECK = Healthcheck(
    command=f'[ -S "${labels.SOCKET_ENV}" ]', interval="1s", timeout="2s", start_period="30s"
)


def routed_healthcheck(check: Healthcheck | None) -> dict[str, Any]:
    """The service's healthcheck (or a socket check), then the slot claim when it passes."""
    body = healthcheck(check or _SOCKET_CHECK)
    kind, *test = body["Test"]
    probe = test[0] if kind == "CMD-SHELL" else shlex.join(test)
    # A subshell, so that a probe ending in `exec` does not skip the claim.
    body["Test"] = ["CMD-SHELL", f"(\n{probe}\n) && {{ {CLAIM_SLOT}; }}"]
    return body


_PYTHON_PROBE = (
    "import sys, urllib.request\n"
    "try:\n"
    "    urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))\n"
    "except Exception as error:\n"
    "    sys.exit(f'{sys.argv[1]}: {error}')\n"
)


# $1 port, $2 path, $3 seconds. A 2xx or 3xx status line passes, as with curl -f.
BASH_PROBE = (
    'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1\n'
    'printf \'GET %s HTTP/1.0\\r\\nHost: 127.0.0.1:%s\\r\\n\\r\\n\' "$2" "$1" >&3\n'
    'if ! read -r -t "$3" line <&3; then echo "127.0.0.1:$1$2: no answer in $3s"; exit 1; fi\n'
    "code=${line#* }; code=${code:0:3}\n"
    'case "$code" in 2??|3??) exit 0;; esac\n'
    'echo "127.0.0.1:$1$2: HTTP $code"; exit 1\n'
)


def http_probe(probe: HttpProbe, timeout_seconds: float) -> str:
    """A shell probe that works in any of our images: curl where present, else bash's
    /dev/tcp (Debian's base has it; 9-19 ms against python3's 115-189 ms, measured in a web
    replica, paid on every check), else python3."""
    url = shlex.quote(f"http://127.0.0.1:{probe.port}{probe.path}")
    seconds = f"{timeout_seconds:g}"
    return (
        "if command -v curl >/dev/null 2>&1; then "
        f"exec curl -fsS -o /dev/null --max-time {seconds} {url}; fi; "
        "if command -v bash >/dev/null 2>&1; then "
        f"exec bash -c {shlex.quote(BASH_PROBE)} probe {probe.port} "
        f"{shlex.quote(probe.path)} {seconds}; fi; "
        f"exec python3 -c {shlex.quote(_PYTHON_PROBE)} {url} {seconds}"
    )
