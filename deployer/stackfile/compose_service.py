"""One Compose service's settings -> the fields of deployer's Service (pure: data in, data out).

The shapes Compose allows are checked first, so a malformed value is a message with its file,
line and key path; unsupported keys go to the loader's warnings with their line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.stackfile.compose_develop import watch_rules
from deployer.stackfile.interpolate import InterpolationError, read_env_file

if TYPE_CHECKING:
    from deployer.stackfile.compose_document import Merged

Warn = Callable[[str], None]

SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose",
    "volumes", "tmpfs", "read_only", "user", "working_dir", "ulimits", "security_opt", "cap_add",
    "cap_drop", "healthcheck", "depends_on", "restart", "deploy", "logging", "networks",
    "container_name", "labels", "init", "stop_grace_period", "stop_signal", "mem_limit",
    "mem_reservation", "cpus", "pids_limit", "profiles", "secrets", "configs", "hostname",
    "domainname", "extra_hosts", "shm_size", "sysctls", "pid", "ipc", "privileged", "devices",
    "group_add", "network_mode", "pull_policy", "mac_address", "device_cgroup_rules", "develop",
}  # fmt: skip
CONDITIONS = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed",
}


# The shapes Compose allows for each key deployer reads (checked before converting, so a
# malformed value is a message with its file, line and key path, never a traceback).
_SCALAR = "scalar"
_SHAPES: dict[str, tuple[str, ...]] = {
    "image": ("str",), "build": ("str", "map"), "command": ("str", "list"),
    "entrypoint": ("str", "list"), "environment": ("map", "list", "str"),
    "env_file": ("str", "list"), "ports": ("list",), "expose": ("list",), "volumes": ("list",),
    "tmpfs": ("str", "list"), "read_only": ("bool",), "user": ("str", "int"),
    "working_dir": ("str",), "ulimits": ("map",), "security_opt": ("list",), "cap_add": ("list",),
    "cap_drop": ("list",), "healthcheck": ("map",), "depends_on": ("list", "map"),
    "restart": ("str", "bool"), "deploy": ("map",), "logging": ("map",),
    "networks": ("list", "map"), "container_name": ("str",), "labels": ("map", "list"),
    "init": ("bool",), "stop_grace_period": ("str", "int"), "stop_signal": ("str",),
    "secrets": ("list",), "configs": ("list",), "hostname": ("str",), "domainname": ("str",),
    "extra_hosts": ("list", "map"), "shm_size": ("str", "int"), "sysctls": ("map", "list"),
    "pid": ("str",), "ipc": ("str",), "privileged": ("bool",), "devices": ("list",),
    "group_add": ("list",), "network_mode": ("str",), "device_cgroup_rules": ("list",),
    "mem_limit": ("str", "int"), "mem_reservation": ("str", "int"),
    "cpus": ("str", "int", "float"), "pids_limit": ("int",),
    "build.context": ("str",), "build.dockerfile": ("str",), "build.target": ("str",),
    "build.args": ("map", "list"), "build.x-wheelhouse": ("str",),
    "healthcheck.test": ("str", "list"), "healthcheck.interval": ("str", "int"),
    "healthcheck.timeout": ("str", "int"), "healthcheck.retries": ("int",),
    "healthcheck.start_period": ("str", "int"), "healthcheck.disable": ("bool",),
    "deploy.replicas": ("int",), "deploy.resources": ("map",), "deploy.restart_policy": ("map",),
    "deploy.update_config": ("map",), "deploy.resources.limits": ("map",),
    "deploy.rollback_config": ("map",), "deploy.mode": ("str",), "deploy.placement": ("map",),
    "deploy.placement.constraints": ("list",), "deploy.placement.preferences": ("list",),
    "deploy.placement.max_replicas_per_node": ("int",),
    "deploy.resources.reservations": ("map",), "logging.driver": ("str",),
    "logging.options": ("map",), "develop": ("map",), "develop.watch": ("list",),
}  # fmt: skip
_ITEMS: dict[str, tuple[str, ...]] = {
    # What the items of a list (or the values of a mapping) may be.
    "command": (_SCALAR,), "entrypoint": (_SCALAR,), "environment": (_SCALAR,),
    "env_file": ("str", "map"), "ports": (_SCALAR, "map"), "expose": (_SCALAR,),
    "volumes": ("str", "map"), "tmpfs": (_SCALAR,), "security_opt": (_SCALAR,),
    "cap_add": (_SCALAR,), "cap_drop": (_SCALAR,), "labels": (_SCALAR,),
    "depends_on": (_SCALAR, "map"), "networks": (_SCALAR, "map"), "ulimits": ("int", "map"),
    "secrets": ("str", "map"), "configs": ("str", "map"), "extra_hosts": (_SCALAR, "list"),
    "sysctls": (_SCALAR,), "devices": ("str", "map"), "group_add": (_SCALAR,),
    "device_cgroup_rules": (_SCALAR,),
    "build.args": (_SCALAR,), "healthcheck.test": (_SCALAR,), "logging.options": (_SCALAR,),
    "deploy.resources.limits": (_SCALAR,), "deploy.resources.reservations": (_SCALAR, "list"),
    "deploy.placement.constraints": (_SCALAR,), "deploy.placement.preferences": ("map",),
}  # fmt: skip


def _is(value: Any, shape: str) -> bool:
    return {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, float),
        "bool": isinstance(value, bool),
        "map": isinstance(value, dict),
        "list": isinstance(value, list),
        _SCALAR: value is None or isinstance(value, str | int | float | bool),
    }[shape]


def shape_problems(body: dict[str, Any], prefix: str, doc: Merged, key: str = "") -> list[str]:
    """Where `body` (a service, or a part of one) has a value of a shape Compose does not allow."""
    found = []
    for name, value in body.items():
        path = f"{key}.{name}" if key else str(name)
        shapes = _SHAPES.get(path)
        where = f"{prefix}.{path}"
        if shapes is None:
            continue
        if not any(_is(value, shape) for shape in shapes):
            kinds = " or ".join("a mapping" if s == "map" else f"a {s}" for s in shapes)
            found.append(f"{doc.at(where)}: {where}: must be {kinds}, not {value!r}")
            continue
        items = _ITEMS.get(path)
        if items and isinstance(value, list | dict):
            children = value.items() if isinstance(value, dict) else enumerate(value)
            for child, item in children:
                if not any(_is(item, shape) for shape in items):
                    found.append(f"{doc.at(f'{where}.{child}')}: {where}.{child}: unexpected "
                                 f"{type(item).__name__} {item!r}")  # fmt: skip
        if isinstance(value, dict):
            found += shape_problems(value, prefix, doc, path)
    return found


def service_fields(
    name: str, body: dict[str, Any], doc: Merged, prefix: str, folder: Path, warn: Warn,
    problems: list[str],
) -> dict[str, Any]:  # fmt: skip
    def unsupported(key: str, why: str = "not supported by deployer; ignored") -> None:
        warn(f"{doc.where(f'{prefix}.{key}')}: {prefix}.{key}: {why}")

    fields: dict[str, Any] = {"name": name}
    for key in body:
        if key not in SERVICE_KEYS and not key.startswith("x-"):
            unsupported(key)
    if "image" in body and "build" in body:
        # Compose builds and tags the image; deployer tags what it builds itself.
        unsupported("image", "with build, the image is built and tagged by deployer; "
                    f"{body['image']!r} is not used")  # fmt: skip
        body = {k: v for k, v in body.items() if k != "image"}
    simple = {
        "image": "image", "read_only": "read_only", "user": "user", "working_dir": "working_dir",
        "ulimits": "ulimits", "init": "init", "stop_grace_period": "stop_grace_period",
        "stop_signal": "stop_signal", "command": "command", "entrypoint": "entrypoint",
        "hostname": "hostname", "domainname": "domainname", "shm_size": "shm_size", "pid": "pid",
        "ipc": "ipc", "privileged": "privileged", "network_mode": "network_mode",
        "mac_address": "mac_address",
    }  # fmt: skip
    if "pull_policy" in body:
        policy = str(body["pull_policy"])
        policy = {"if_not_present": "missing"}.get(policy, policy)
        if policy not in {"always", "missing", "never", "build"}:
            unsupported("pull_policy", f"{policy!r} (a schedule) is not supported; pulling "
                        "when missing")  # fmt: skip
            policy = "missing"
        fields["pull_policy"] = policy
    for key, field in simple.items():
        if key in body:
            fields[field] = body[key]
    for key in ("security_opt", "cap_add", "cap_drop", "group_add", "device_cgroup_rules"):
        if key in body:
            fields[key] = [str(item) for item in body[key]]
    if "sysctls" in body:
        fields["sysctls"] = mapping(body["sysctls"])
    if "extra_hosts" in body:
        fields["extra_hosts"] = _extra_hosts(body["extra_hosts"])
    if "devices" in body:
        fields["devices"] = [
            ":".join(str(d[k]) for k in ("source", "target", "permissions") if k in d)
            if isinstance(d, dict) else str(d)
            for d in body["devices"]
        ]  # fmt: skip
    if "build" in body:
        fields["build"] = _build(body["build"], unsupported)
    env = _env_files(body.get("env_file"), folder, problems, prefix, doc.environment)
    env.update(_environment(body.get("environment"), doc.environment))
    if env:
        fields["env"] = env
    if "ports" in body:
        fields["ports"] = [
            port
            for i, p in enumerate(body["ports"])
            for port in _ranged(_port(p, f"{prefix}.ports.{i}", doc, warn, problems))
            if port is not None
        ]
    if "expose" in body:
        fields["expose"] = [
            int(port) for p in body["expose"] for port in _ranged(str(p).split("/")[0])
        ]
    mounts, tmpfs = _volumes(body.get("volumes") or [], unsupported)
    tmpfs.update(_tmpfs(body.get("tmpfs")))
    if mounts:
        fields["mounts"] = mounts
    if tmpfs:
        fields["tmpfs"] = tmpfs
    if "labels" in body:
        fields["labels"] = mapping(body["labels"])
    for key in ("secrets", "configs"):
        if key in body:
            fields[key] = _uses(body[key])
    if "healthcheck" in body:
        check = _healthcheck(body["healthcheck"], unsupported)
        if check is not None:
            fields["healthcheck"] = check
    if "depends_on" in body:
        fields["depends_on"] = _depends_on(body["depends_on"], unsupported, doc.present)
    if "restart" in body:
        fields["restart"] = "no" if body["restart"] is False else str(body["restart"])
    resources = _legacy_resources(body)
    _deploy(body.get("deploy") or {}, fields, resources, unsupported)
    if resources:
        fields["resources"] = resources
    if "logging" in body:
        fields["logging"] = _logging(body["logging"])
    if isinstance(body.get("develop"), dict):
        rules = watch_rules(body["develop"], prefix, doc, warn, problems, "build" in body)
        if rules:
            fields["watch"] = rules
    fields["networks"] = (
        [] if "network_mode" in body
        else _networks(body.get("networks"), body.get("container_name"))
    )  # fmt: skip
    if not fields["networks"]:
        del fields["networks"]
    return fields


def _extra_hosts(value: Any) -> dict[str, Any]:
    """ "host:ip", "host=ip" (an IPv6 address has colons of its own), or a mapping of a host to
    one address or several."""
    if isinstance(value, dict):
        return {
            str(k): [str(a) for a in v] if isinstance(v, list) else str(v) for k, v in value.items()
        }
    hosts: dict[str, Any] = {}
    for item in value:
        text = str(item)
        host, sep, address = text.partition("=")
        if not sep:
            host, _, address = text.partition(":")
        hosts[host] = address.strip("[]")
    return hosts


def mapping(value: Any) -> dict[str, str]:
    """Compose writes maps either as a mapping or as a list of "KEY=VALUE"."""
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    pairs = (str(item).partition("=") for item in value or [])
    return {key: val for key, _, val in pairs}


def _environment(value: Any, project: Mapping[str, str]) -> dict[str, str]:
    env = {}
    if isinstance(value, str):  # one "KEY=VALUE", not a list of its characters
        value = [value]
    items = value.items() if isinstance(value, dict) else (
        (str(i).partition("=")[0], str(i).partition("=")[2] if "=" in str(i) else None)
        for i in value or []
    )  # fmt: skip
    for key, val in items:
        # A name without a value takes it from the shell (or .env) that runs deployer, as
        # Compose does; unset there, it is left out.
        if val is None:
            if str(key) in project:
                env[str(key)] = project[str(key)]
            continue
        env[str(key)] = scalar(val)
    return env


def scalar(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def _env_files(
    value: Any, folder: Path, problems: list[str], prefix: str, project: Mapping[str, str]
) -> dict[str, str]:
    env: dict[str, str] = {}
    entries = [value] if isinstance(value, str | dict) else list(value or [])
    for entry in entries:
        path = entry if isinstance(entry, str) else entry.get("path", "")
        required = entry.get("required", True) if isinstance(entry, dict) else True
        file = folder / str(path)
        if not file.is_file():
            if required:
                problems.append(f"{prefix}.env_file: no file {str(file)!r}")
            continue
        try:
            env.update(read_env_file(file, {**project, **env}))
        except InterpolationError as error:
            problems.append(f"{prefix}.env_file: {error}")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"{prefix}.env_file: cannot read {str(file)!r}: {error}")
    return env


def _build(value: Any, unsupported: Callable[..., None]) -> dict[str, Any]:
    if isinstance(value, str):
        return {"context": value}
    build = {"context": value.get("context", ".")}
    for key in ("dockerfile", "target"):
        if key in value:
            build[key] = value[key]
    if "args" in value:
        build["args"] = mapping(value["args"])
    if "x-wheelhouse" in value:
        # deployer's extension: a requirements file whose wheels the host downloads into the
        # context, for images built where no package index is reachable.
        build["wheelhouse"] = value["x-wheelhouse"]
    known = {"context", "dockerfile", "target", "args", "x-wheelhouse"}
    for key in sorted(set(value) - known):
        if not key.startswith("x-"):
            unsupported(f"build.{key}")
    return build


_RANGE = re.compile(r"^(\d+)-(\d+)$")


def _ranged(value: Any) -> list[Any]:
    """Compose's port ranges, one port each: "8000-8002:9000-9002" is three mappings."""
    if not isinstance(value, str) or "-" not in value:
        return [value]
    text, slash, protocol = value.partition("/")
    head, _, container = text.rpartition(":")
    address, _, host = head.rpartition(":") if head.count(":") else ("", "", head)
    containers = _RANGE.match(container)
    if not containers:
        return [value]  # not a range: the port's own check says what is wrong with it
    first, last = int(containers[1]), int(containers[2])
    hosts = _RANGE.match(host) if host else None
    if host and (not hosts or int(hosts[2]) - int(hosts[1]) != last - first):
        return [value]
    prefix = f"{address}:" if address else ""
    suffix = f"{slash}{protocol}"
    return [
        (f"{prefix}{int(hosts[1]) + offset}:" if hosts else f"{prefix}:" if address else "")
        + f"{first + offset}{suffix}"
        for offset in range(last - first + 1)
    ]


def _port(value: Any, path: str, doc: Merged, warn: Warn, problems: list[str]) -> Any:
    if isinstance(value, dict):
        if "target" not in value:
            problems.append(f"{doc.at(path)}: {path}: a long-form port needs 'target' (the "
                            "container's port)")  # fmt: skip
            return None
        port: dict[str, Any] = {"container": int(value["target"])}
        if value.get("published"):
            port["host"] = int(str(value["published"]).split("-")[0])
        if value.get("host_ip"):
            port["host_ip"] = value["host_ip"]
        if value.get("protocol"):
            port["protocol"] = value["protocol"]
        return port
    text = str(value)
    if (":" in text and text.count(":") < 2) or text.isdigit():
        warn(f"{doc.where(path)}: {path}: {text!r} is published on 127.0.0.1 only (deployer's "
             f"default); write '0.0.0.0:{text}' to publish on every interface")  # fmt: skip
    return text


def _volumes(
    value: list[Any], unsupported: Callable[..., None]
) -> tuple[list[Any], dict[str, str]]:
    mounts: list[Any] = []
    tmpfs: dict[str, str] = {}
    for index, item in enumerate(value):
        if isinstance(item, dict):
            kind = item.get("type", "volume")
            if kind == "tmpfs":
                size = (item.get("tmpfs") or {}).get("size")
                tmpfs[item["target"]] = f"size={size}" if size else ""
            elif kind in {"bind", "volume"}:  # no source: an anonymous volume, its own
                mount = {"type": kind, "source": item.get("source") or "",
                         "target": item["target"],
                         "read_only": bool(item.get("read_only"))}  # fmt: skip
                mount.update(_mount_options(item, index, unsupported))
                mounts.append(mount)
            else:
                unsupported(
                    f"volumes.{index}", f"a {kind} mount without a source is not supported; ignored"
                )
        elif ":" not in str(item):
            mounts.append(str(item))  # an anonymous volume, the container's own
        else:
            source, target, *mode = str(item).split(":")
            mounts.append(
                f"{source}:{target}" + (":ro" if "ro" in ",".join(mode).split(",") else "")
            )
    return mounts, tmpfs


def _mount_options(
    item: dict[str, Any], index: int, unsupported: Callable[..., None]
) -> dict[str, Any]:
    """A long-form mount's `bind:` and `volume:` options."""
    found: dict[str, Any] = {}
    bind: dict[str, Any] = item["bind"] if isinstance(item.get("bind"), dict) else {}
    volume: dict[str, Any] = item["volume"] if isinstance(item.get("volume"), dict) else {}
    if bind.get("propagation"):
        found["propagation"] = str(bind["propagation"])
    if volume.get("nocopy"):
        found["nocopy"] = True
    if volume.get("subpath"):
        unsupported(f"volumes.{index}.volume.subpath", "needs Engine API 1.45 (this engine "
                    "speaks 1.41); the whole volume is mounted")  # fmt: skip
    for key in sorted(set(bind) - {"propagation", "create_host_path"}):
        unsupported(f"volumes.{index}.bind.{key}")
    return found


def _tmpfs(value: Any) -> dict[str, str]:
    items = [value] if isinstance(value, str) else list(value or [])
    return {path: options for path, _, options in (str(i).partition(":") for i in items)}


def _healthcheck(value: dict[str, Any], unsupported: Callable[..., None]) -> dict[str, Any] | None:
    test = value.get("test")
    if value.get("disable") or test in (["NONE"], "NONE"):
        return None
    check: dict[str, Any] = {}
    if isinstance(test, str):
        check["command"] = test
    elif test and test[0] == "CMD-SHELL":
        check["command"] = " ".join(test[1:])
    elif test and test[0] == "CMD":
        check["command"] = list(test[1:])
    elif test:
        check["command"] = list(test)
    # Compose's (and Docker's) defaults where the file says nothing, not deployer's own.
    check.update({"interval": "30s", "timeout": "30s", "retries": 3, "start_period": "0s"})
    for key in ("interval", "timeout", "retries", "start_period"):
        if key in value:
            check[key] = value[key]
    if "start_interval" in value:
        unsupported("healthcheck.start_interval", "needs Engine API 1.44 (this engine speaks "
                    "1.41); the interval applies from the start")  # fmt: skip
    known = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
    for key in sorted(set(value) - known):
        unsupported(f"healthcheck.{key}")
    return check


def _depends_on(value: Any, unsupported: Callable[..., None], present: set[str]) -> list[Any]:
    if isinstance(value, list):
        return [str(name) for name in value]
    found = []
    for name, options in value.items():
        options = options or {}
        condition = options.get("condition", "service_started")
        if condition not in CONDITIONS:
            unsupported(f"depends_on.{name}.condition", f"{condition!r} is not supported; "
                        "waiting for the service to start instead")  # fmt: skip
        if options.get("required") is False and str(name) not in present:
            continue  # Compose's optional dependency: absent (left out by a profile, say)
        found.append({"service": name, "condition": CONDITIONS.get(condition, "started"),
                      "restart": bool(options.get("restart"))})  # fmt: skip
    return found


def _legacy_resources(body: dict[str, Any]) -> dict[str, Any]:
    """The service-level limits of Compose file format 2 (mem_limit, cpus, ...)."""
    resources: dict[str, Any] = {}
    for key, field in (("mem_limit", "memory"), ("cpus", "cpus"), ("pids_limit", "pids")):
        if key in body:
            resources[field] = body[key]
    if "mem_reservation" in body:
        resources["reservations"] = {"memory": body["mem_reservation"]}
    return resources


def _deploy(
    deploy: dict[str, Any], fields: dict[str, Any], resources: dict[str, Any],
    unsupported: Callable[..., None],
) -> None:  # fmt: skip
    if "replicas" in deploy:
        fields["replicas"] = deploy["replicas"]
    limits = (deploy.get("resources") or {}).get("limits") or {}
    reservations = (deploy.get("resources") or {}).get("reservations") or {}
    for key in ("cpus", "memory", "pids"):
        if key in limits:
            resources[key] = float(limits[key]) if key == "cpus" else limits[key]
    reserved = {
        k: (float(v) if k == "cpus" else v)
        for k, v in reservations.items()
        if k in {"cpus", "memory"}
    }
    if reserved:
        resources["reservations"] = {**resources.get("reservations", {}), **reserved}
    for key in sorted(set(reservations) - {"cpus", "memory"}):
        unsupported(f"deploy.resources.reservations.{key}")
    policy = deploy.get("restart_policy")
    if policy and "restart" not in fields:
        condition = {"any": "always", "none": "no"}.get(
            policy.get("condition", "any"), "on-failure"
        )
        attempts = policy.get("max_attempts")
        fields["restart"] = (
            f"{condition}:{attempts}" if condition == "on-failure" and attempts else condition
        )
    update = deploy.get("update_config") or {}
    taken = ("parallelism", "order", "delay", "monitor", "failure_action")
    if update:
        fields["update"] = {k: update[k] for k in taken if k in update}
    for key in sorted(set(update) - set(taken)):
        unsupported(f"deploy.update_config.{key}")
    rollback = deploy.get("rollback_config") or {}
    if rollback:
        fields["rollback"] = {k: rollback[k] for k in taken if k in rollback}
    for key in sorted(set(rollback) - set(taken)):
        unsupported(f"deploy.rollback_config.{key}")
    if "mode" in deploy:
        fields["mode"] = deploy["mode"]
    placement = deploy.get("placement") or {}
    if placement:
        fields["placement"] = {
            "constraints": [str(item) for item in placement.get("constraints") or []],
            "preferences": [
                str(item["spread"])
                for item in placement.get("preferences") or []
                if "spread" in item
            ],
            "max_replicas_per_node": placement.get("max_replicas_per_node"),
        }
    for key in sorted(set(placement) - {"constraints", "preferences", "max_replicas_per_node"}):
        unsupported(f"deploy.placement.{key}")
    known = {"replicas", "resources", "restart_policy", "update_config", "rollback_config",
             "mode", "placement"}  # fmt: skip
    for key in sorted(set(deploy) - known):
        unsupported(f"deploy.{key}")


def _logging(value: dict[str, Any]) -> dict[str, Any]:
    options = {str(k): str(v) for k, v in (value.get("options") or {}).items()}
    logging: dict[str, Any] = {"driver": value.get("driver", "json-file")}
    if "max-size" in options:
        logging["max_size"] = options.pop("max-size")
    if "max-file" in options:
        logging["max_file"] = int(options.pop("max-file"))
    if options:
        logging["options"] = options
    return logging


def _networks(value: Any, container_name: str | None) -> list[Any]:
    """Networks with aliases; a container_name becomes an alias, so that name still resolves."""
    extra = [container_name] if container_name else []
    if value is None:
        return [{"name": "default", "aliases": extra}] if extra else []
    if isinstance(value, list):
        return [{"name": str(n), "aliases": extra} for n in value]
    found = []
    for network, options in value.items():
        options = options or {}
        attachment = {"name": str(network), "aliases": [*(options.get("aliases") or []), *extra]}
        attachment.update({k: str(options[k]) for k in ("ipv4_address", "ipv6_address")
                           if options.get(k)})  # fmt: skip
        found.append(attachment)
    return found


def _uses(value: list[Any]) -> list[Any]:
    """A service's secrets/configs: names, or {source, target, uid, gid, mode} (uid and gid
    are strings in Compose)."""
    uses: list[Any] = []
    for item in value:
        if isinstance(item, dict):
            use = {k: item[k] for k in ("source", "target") if k in item}
            use.update({k: int(item[k]) for k in ("uid", "gid") if k in item})
            mode = item.get("mode")
            if isinstance(mode, str):  # "0440" or "0o440": octal, as Compose reads it
                mode = int(mode.lower().removeprefix("0o"), 8)
            if mode is not None:
                use["mode"] = mode
            uses.append(use)
        else:
            uses.append(str(item))
    return uses
