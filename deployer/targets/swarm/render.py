"""A stack's services as Swarm ServiceSpecs (the Engine API's own JSON), and what Swarm cannot
express. Pure: the engine seam posts these bodies as they are.

No ingress mesh or VIP is assumed (hosts without IPVS have neither): services resolve by DNS
round robin (endpoint mode dnsrr) and publish ports on the node that runs them (host mode).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer.core import hashing, labels, nginx, render, secrets
from deployer.model.spec import SECRETS_DIR, File, RollbackPolicy, Service, Stack, UpdatePolicy
from deployer.model.units import parse_size, to_nanoseconds

# Docker's embedded DNS server, in every task on a user network.
_RESOLVER = "127.0.0.11"
_RESTART = {"no": "none", "always": "any", "unless-stopped": "any", "on-failure": "on-failure"}


@dataclass(frozen=True)
class SwarmFile:
    """A file a task gets from a Swarm config or secret (both are immutable, named by content)."""

    kind: str  # "config" or "secret"
    name: str
    data: bytes
    path: str
    uid: int
    gid: int
    mode: int


def problems(stack: Stack, service: Service, nodes: int) -> list[str]:
    """What a Swarm service cannot be, each naming its field: deploying stops before anything
    is touched."""
    where = f"services.{service.name}"
    found = []
    if nodes > 1:
        for index, mount in enumerate(service.mounts):
            if mount.type == "bind":
                found.append(
                    f"{where}.mounts.{index}: {mount.source} is a folder of one machine; a "
                    f"{nodes}-node swarm runs tasks anywhere: use a named volume, a config or "
                    "a file (Service.files)"
                )
    single_engine = {
        "network_mode": service.network_mode, "pid": service.pid, "ipc": service.ipc,
        "privileged": service.privileged, "devices": service.devices,
        "device_cgroup_rules": service.device_cgroup_rules, "mac_address": service.mac_address,
        "shm_size": service.shm_size,
    }  # fmt: skip
    found += [
        f"{where}.{key}: Swarm services have no such setting (Engine API 1.41); deploy this "
        "stack on a single engine, or remove it"
        for key, value in single_engine.items()
        if value
    ]
    for attachment in stack.service_networks(service):
        if attachment.ipv4_address or attachment.ipv6_address:
            found.append(f"{where}.networks.{attachment.name}: a Swarm picks task addresses")
    for index, port in enumerate(service.ports):
        if port.host_ip not in PUBLIC_ADDRESSES:
            # One engine keeps the loopback default; a swarm would publish on every address
            # of every node: what was private would turn public without a word.
            found.append(
                f"{where}.ports.{index}: {port.host_ip}:{port.host or ''}:{port.container} "
                "cannot be kept on a Swarm, which publishes a port on every address of every "
                "node: to publish it there, say so with host_ip '0.0.0.0' (\"0.0.0.0:"
                f'{port.host or port.container}:{port.container}"); to keep it private, '
                "remove the port"
            )
    return found


# What a port must say to be published on a swarm: every address, explicitly.
PUBLIC_ADDRESSES = {"0.0.0.0", "::"}


def notes(stack: Stack, service: Service) -> list[str]:
    """What a Swarm does differently from one engine, said once per deploy."""
    where = f"services.{service.name}"
    found = []
    if service.depends_on:
        found.append(f"{where}.depends_on: a Swarm starts services in no order; "
                     "healthchecks keep tasks out of DNS until they pass")  # fmt: skip
    if any(option.startswith("no-new-privileges") for option in service.security_opt):
        found.append(f"{where}.security_opt: no-new-privileges is not a Swarm setting "
                     "(Engine API 1.41); ignored")  # fmt: skip
    if service.proxy is not None and service.proxy.transport == "socket":
        found.append(f"{where}.proxy: unix sockets do not cross nodes; nginx reaches "
                     f"tasks.{service.proxy.upstream} by DNS")  # fmt: skip
    return found


def proxy_config(stack: Stack, proxy: Service, template: str) -> str:
    """The proxy's nginx config for a Swarm: the upstream is every task of the upstream service,
    looked up at request time (a rolling update or a lost node changes the tasks while nginx
    runs; a name in an `upstream` block would be resolved once, at start)."""
    assert proxy.proxy is not None
    config = nginx.render(
        template,
        str(stack.resolve(proxy.proxy.template)),
        upstream=proxy.proxy.upstream,
        # A placeholder: requests go through $deployer_upstream below.
        addresses=["127.0.0.1:9 down"],
        rate_limit=proxy.proxy.rate_limit,
        max_body_size=proxy.proxy.max_body_size,
        public_metrics=proxy.proxy.public_metrics,
    )
    upstream = re.escape(proxy.proxy.upstream)
    config = re.sub(rf"proxy_pass(\s+)http://{upstream}(?=[;/])",
                    r"proxy_pass\1http://$deployer_upstream", config)  # fmt: skip
    lookup = (
        f"resolver {_RESOLVER} valid=1s ipv6=off;\n"
        # A node can vanish mid-request, silently: after 10 s without an answer the request
        # goes to another task (idempotent methods, proxy_next_upstream) instead of 60 s.
        "    proxy_read_timeout 10s;\n"
        "    map $host $deployer_upstream {\n"
        f"        default tasks.{proxy.proxy.upstream}:{proxy.proxy.port};\n"
        "    }\n"
    )
    return re.sub(r"^(http\s*\{\s*\n)", lambda m: m.group(1) + "    " + lookup, config,
                  count=1, flags=re.MULTILINE)  # fmt: skip


def files(stack: Stack, service: Service, template: str | None, key: bytes) -> list[SwarmFile]:
    """The service's files, configs, secrets and proxy config, as Swarm objects, named by a
    digest of their content keyed with `key` (a plain hash in a secret's public name would let
    anyone who lists secrets test guesses of a weak password)."""
    found = []
    written = list(service.files) + secrets.files(stack, service)
    if service.proxy is not None and template is not None:
        config = proxy_config(stack, service, template)
        written.append(File(path=labels.PROXY_CONFIG, content=config))
    secret_paths = {use.path() for use in service.secrets}
    for file in written:
        if file.link is not None:
            continue  # links to nginx's own files: the proxy config includes them absolutely
        kind = "secret" if file.path in secret_paths else "config"
        data = file.payload()
        digest = hmac.new(key, data + file.path.encode(), hashlib.sha256).hexdigest()
        found.append(SwarmFile(kind, labels.swarm_object_name(stack.name, kind, digest), data,
                               file.path, file.uid, file.gid, file.mode))  # fmt: skip
    return found


# A task's ContainerSpec names these container fields otherwise.
_TASK_WORDS = {"Cmd": "Args", "Entrypoint": "Command", "WorkingDir": "Dir"}


def service_spec(
    stack: Stack,
    service: Service,
    image: str,
    objects: list[SwarmFile],
    object_ids: dict[str, str],
    edge: bool,
) -> dict[str, Any]:
    """The ServiceSpec body. `object_ids`: config/secret name -> id ("" while planning);
    `edge`: the swarm has edge nodes, where services that publish ports go."""
    container: dict[str, Any] = {
        "Image": image,
        "Labels": {**stack.labels, labels.STACK: stack.name, labels.SERVICE: service.name},
        "Env": [f"{key}={value}" for key, value in sorted(service.env.items())],
        "ReadOnly": service.read_only,
        "Init": service.init,
        "StopGracePeriod": to_nanoseconds(service.stop_grace_period),
        "Mounts": _mounts(stack, service),
        "Configs": [_reference(f, object_ids) for f in objects if f.kind == "config"],
        "Secrets": [_reference(f, object_ids) for f in objects if f.kind == "secret"],
    }
    container.update({_TASK_WORDS.get(k, k): v for k, v in render.process(service).items()})
    optional = {
        "Healthcheck": render.healthcheck(service.healthcheck) if service.healthcheck else None,
        "CapabilityAdd": list(service.cap_add) or None,
        "CapabilityDrop": list(service.cap_drop) or None,
        "Sysctls": dict(service.sysctls) or None,
        "Groups": list(service.group_add) or None,
        "Ulimits": [
            {"Name": name, "Soft": limit.soft, "Hard": limit.hard}
            for name, limit in sorted(service.ulimits.items())
        ] or None,
        "Hosts": [
            f"{ip} {host}"
            for host, ips in sorted(service.extra_hosts.items())
            for ip in ((ips,) if isinstance(ips, str) else ips)
        ] or None,
    }  # fmt: skip
    container.update({key: value for key, value in optional.items() if value is not None})
    if service.proxy is not None and service.command is None:
        container["Args"] = ["nginx", "-c", labels.PROXY_CONFIG, "-g", "daemon off;"]
    task: dict[str, Any] = {
        "ContainerSpec": container,
        "Resources": _resources(service),
        # A swarm's own default when the stack says nothing: restart on any exit, so a task
        # lost with its node is started elsewhere (Compose's deploy.restart_policy default).
        "RestartPolicy": _restart(
            service.restart if "restart" in service.model_fields_set else "always"
        ),
        "Placement": _placement(service, edge),
        "Networks": [
            {
                "Target": labels.engine_network(stack, attachment.name),
                "Aliases": [service.name, *attachment.aliases],
            }
            for attachment in stack.service_networks(service)
        ],
    }
    log = render.log_config(service)
    if log is not None:
        task["LogDriver"] = {"Name": log["Type"], "Options": log["Config"]}
    mode: dict[str, Any] = (
        {"Global": {}}
        if service.mode == "global"
        else {"Replicated": {"Replicas": service.replicas}}
    )
    return {
        "Name": labels.swarm_service_name(stack.name, service.name),
        "Labels": {**stack.labels, **service.labels},
        "TaskTemplate": task,
        "Mode": mode,
        "UpdateConfig": _update(service, rollback=False),
        "RollbackConfig": _update(service, rollback=True),
        "EndpointSpec": {
            "Mode": "dnsrr",
            "Ports": [
                {
                    "Protocol": port.protocol,
                    "TargetPort": port.container,
                    "PublishedPort": port.host or port.container,
                    "PublishMode": "host",
                }
                for port in service.ports
            ],
        },
    }


_HOW_TO_ROLL = {"UpdateConfig", "RollbackConfig"}


def fields(spec: dict[str, Any], image_id: str) -> dict[str, str]:
    """Per-part digests of a spec (object ids left out): what a plan names when one differs.
    The image counts by its id, known before any push (so `plan` needs no registry)."""
    container = dict(spec["TaskTemplate"]["ContainerSpec"])
    container["Image"] = image_id
    for key in ("Configs", "Secrets"):
        container[key] = [
            {k: v for k, v in ref.items() if not k.endswith("ID")} for ref in container[key]
        ]
    parts: dict[str, Any] = {f"container.{k}": v for k, v in container.items()}
    parts |= {f"task.{k}": v for k, v in spec["TaskTemplate"].items() if k != "ContainerSpec"}
    parts |= {k: v for k, v in spec.items() if k not in {"TaskTemplate", "Mode", "Labels"}}
    parts["labels"] = spec["Labels"]
    parts["mode"] = "global" if "Global" in spec["Mode"] else "replicated"
    return {key: hashing.digest(value)[:8] for key, value in sorted(parts.items())}


def labelled(spec: dict[str, Any], stack: str, service: str, image_id: str) -> dict[str, Any]:
    """The spec with deployer's labels: its hash (replicas left out, so scaling is no change)."""
    digests = fields(spec, image_id)
    # How the swarm rolls is no part of what a task is: changing it replaces no task.
    config_hash = hashing.config_hash({k: v for k, v in digests.items() if k not in _HOW_TO_ROLL})
    task = spec["TaskTemplate"]
    container = task["ContainerSpec"]
    return {
        **spec,
        "Labels": {
            **spec["Labels"],
            **labels.swarm_service_labels(
                stack, service, config_hash, hashing.fields_label(digests)
            ),
        },
        # Each task's container says which spec it was made from: an update is done when
        # every running task says the new one.
        "TaskTemplate": {
            **task,
            "ContainerSpec": {
                **container,
                "Labels": {**container["Labels"], labels.CONFIG_HASH: config_hash},
            },
        },
    }


def _reference(file: SwarmFile, object_ids: dict[str, str]) -> dict[str, Any]:
    key = "Config" if file.kind == "config" else "Secret"
    target = file.path
    if file.kind == "secret" and target.startswith(f"{SECRETS_DIR}/"):
        target = target.removeprefix(f"{SECRETS_DIR}/")  # Swarm's own place for secrets
    return {
        "File": {"Name": target, "UID": str(file.uid), "GID": str(file.gid), "Mode": file.mode},
        f"{key}ID": object_ids.get(file.name, ""),
        f"{key}Name": file.name,
    }


def _mounts(stack: Stack, service: Service) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for mount in service.mounts:
        entry: dict[str, Any] = {"Type": mount.type, "Target": mount.target,
                                 "ReadOnly": mount.read_only}  # fmt: skip
        if mount.type == "bind":
            entry["Source"] = str(stack.resolve(Path(mount.source).expanduser()).resolve())
        elif mount.source:
            entry["Source"] = labels.engine_volume(stack, mount.source)
            entry["VolumeOptions"] = {
                "NoCopy": mount.nocopy,
                "Labels": labels.volume_labels(stack.name, mount.source, "data"),
            }
        found.append(entry)
    for path, options in sorted(service.tmpfs.items()):
        entry = {"Type": "tmpfs", "Target": path}
        size = re.search(r"size=(\w+)", options)
        if size:
            entry["TmpfsOptions"] = {"SizeBytes": parse_size(size.group(1))}
        found.append(entry)
    return found


def _resources(service: Service) -> dict[str, Any]:
    limits = service.resources
    reservations = limits.reservations

    def nano(cpus: float | None) -> int | None:
        return None if cpus is None else round(cpus * 1e9)

    def clean(values: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in values.items() if value is not None}

    return {
        "Limits": clean({"NanoCPUs": nano(limits.cpus), "MemoryBytes": limits.memory,
                         "Pids": limits.pids}),
        "Reservations": clean({"NanoCPUs": nano(reservations.cpus),
                               "MemoryBytes": reservations.memory}),
    }  # fmt: skip


def _restart(policy: str) -> dict[str, Any]:
    name, _, retries = policy.partition(":")
    found: dict[str, Any] = {"Condition": _RESTART.get(name, "any"), "Delay": 1_000_000_000}
    if retries:
        found["MaxAttempts"] = int(retries)
    return found


def _placement(service: Service, edge: bool) -> dict[str, Any]:
    constraints = list(service.placement.constraints)
    if service.ports and edge:
        constraints.append(f"node.labels.{labels.EDGE_NODE}==true")
    found: dict[str, Any] = {"Constraints": constraints}
    if service.placement.preferences:
        found["Preferences"] = [
            {"Spread": {"SpreadDescriptor": label}} for label in service.placement.preferences
        ]
    if service.placement.max_replicas_per_node is not None:
        found["MaxReplicas"] = service.placement.max_replicas_per_node
    return found


def _update(service: Service, rollback: bool) -> dict[str, Any]:
    policy: UpdatePolicy | RollbackPolicy = service.update
    failure_action = service.update.failure_action
    if rollback:
        policy = service.rollback or service.update
        failure_action = service.rollback.failure_action if service.rollback else "pause"
    # A host-mode port is held by the task on its node: a second task there must wait for the
    # first to stop (start-first would leave it pending forever).
    order = "stop-first" if service.ports else policy.order
    found: dict[str, Any] = {
        "Parallelism": policy.parallelism,
        "Delay": to_nanoseconds(policy.delay),
        "Monitor": to_nanoseconds(policy.monitor),
        "Order": order,
        "FailureAction": failure_action,
    }
    return found
