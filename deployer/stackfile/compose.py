"""docker-compose.yml -> Stack. Supported keys are mapped; anything else is a warning with its
line, never dropped silently. Errors read like any stack's: file, line, field path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from deployer.model.errors import StackError
from deployer.model.spec import Config, Network, Secret, Service, Stack, Volume
from deployer.stackfile.codegen import EnvSource
from deployer.stackfile.compose_merge import Loader, Override, merge, rebased, without_tags
from deployer.stackfile.interpolate import InterpolationError, interpolate, read_env_file
from deployer.stackfile.load import ComposeOptions, explain

Warn = Callable[[str], None]

SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose",
    "volumes", "tmpfs", "read_only", "user", "working_dir", "ulimits", "security_opt", "cap_add",
    "cap_drop", "healthcheck", "depends_on", "restart", "deploy", "logging", "networks",
    "container_name", "labels", "init", "stop_grace_period", "stop_signal", "mem_limit",
    "mem_reservation", "cpus", "pids_limit", "profiles", "secrets", "configs", "hostname",
    "domainname", "extra_hosts", "shm_size", "sysctls", "pid", "ipc", "privileged", "devices",
    "group_add", "network_mode", "pull_policy", "mac_address",
}  # fmt: skip
TOP_KEYS = {
    "version", "name", "services", "networks", "volumes", "secrets", "configs", "include",
}  # fmt: skip
CONDITIONS = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed",
}


class _Document:
    """The parsed YAML plus the line of every node, for messages."""

    def __init__(
        self, path: Path, environment: Mapping[str, str], warn: Warn, project: Path | None = None
    ) -> None:
        """`project`: the folder the stack's relative paths resolve in, when this file (one
        it includes or extends) lives in another."""
        self.path = path
        self.lines: dict[str, int] = {}
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise StackError(str(path), [f"cannot read the file: {error}"]) from None
        try:
            # The data as YAML means it (anchors, merge keys); the nodes only for line numbers.
            data = yaml.load(text, Loader=Loader)
            root = yaml.compose(text, Loader=Loader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            raise StackError(str(path), [f"{where}invalid YAML: {error}"]) from None
        if root is not None:
            self._record(root, "")
        # Each file is interpolated on its own, before merging, as Compose does.
        problems: list[str] = []

        def unset(at: str, variable: str) -> None:
            warn(f"{self.where(at)}: {at}: variable {variable} is not set; it reads as an "
                 f"empty string (set it, or give a default: ${{{variable}:-default}})")  # fmt: skip

        def interpolated(value: Any, at: str) -> Any:
            if isinstance(value, Override):  # its value is interpolated like any other
                return Override(interpolated(value.value, at))
            if isinstance(value, dict):
                return {k: interpolated(v, f"{at}.{k}" if at else str(k)) for k, v in value.items()}
            if isinstance(value, list):
                return [interpolated(item, f"{at}.{i}") for i, item in enumerate(value)]
            return interpolate(
                value, environment,
                lambda where, why: problems.append(f"line {self.line(where)}: {where}: {why}"),
                unset, at,
            )  # fmt: skip

        self.data = interpolated(data, "")
        if problems:
            raise StackError(str(path), problems)
        if project is not None:
            self.data = rebased(self.data, path.parent, project)

    def _record(self, node: yaml.Node, path: str) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key != "<<":
                    child = f"{path}.{key}" if path else key
                    self.lines.setdefault(child, key_node.start_mark.line + 1)  # the key's line
                    self._record(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._record(item, f"{path}.{index}")

    def line(self, path: str) -> int:
        """The line of `path`, or of its nearest ancestor the file spells out."""
        while path and path not in self.lines:
            path = path.rpartition(".")[0]
        return self.lines.get(path, 1)

    def where(self, path: str) -> str:
        return f"{self.path}:{self.line(path)}"


class _Merged:
    """Several Compose files merged into one model, each key remembering the file it came
    from (the last one that spells it out), so messages point at the right file and line."""

    def __init__(self, documents: list[_Document], environment: Mapping[str, str]) -> None:
        self.documents = documents
        self.environment = environment  # what `${VAR}` and a bare `environment: [VAR]` read
        self.present: set[str] = set()  # the services deployed (not left out by a profile)
        self.path = documents[0].path
        data: Any = {}
        for document in documents:
            if not isinstance(document.data, dict):
                raise StackError(str(document.path), ["a Compose file must be a mapping"])
            data = merge(data, document.data)
        self.data = without_tags(data)

    def _owner(self, path: str) -> _Document:
        """The last file that spells out `path`, or else its nearest ancestor."""
        while path:
            for document in reversed(self.documents):
                if path in document.lines:
                    return document
            path = path.rpartition(".")[0]
        return self.documents[0]

    def line(self, path: str) -> int:
        return self._owner(path).line(path)

    def where(self, path: str) -> str:
        return self._owner(path).where(path)

    def at(self, path: str) -> str:
        """Where a problem is, for a message that already names the (first) file."""
        if len(self.documents) == 1:
            return f"line {self.line(path)}"
        return self.where(path)


def env_sources(paths: list[Path], folder: Path = Path(".")) -> dict[str, EnvSource]:
    """Per service, where its environment comes from, as the files spell it (later files
    win): what `import` keeps reading at load time instead of writing values. `folder`: where
    the Compose files are as seen from the stack.py being written."""
    found: dict[str, EnvSource] = {}
    for path in paths:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            continue  # the loader has already said what is wrong with it
        services = data.get("services") if isinstance(data, dict) else None
        for name, body in (services or {}).items() if isinstance(services, dict) else []:
            if isinstance(body, dict):
                found[str(name)] = _env_source(body, folder)
    return found


def _env_source(body: dict[str, Any], folder: Path) -> EnvSource:
    value = body.get("environment")
    value = [value] if isinstance(value, str) else value
    pairs = (
        list(value.items()) if isinstance(value, dict)
        else [tuple(str(i).partition("=")[::2]) for i in value or []]
    )  # fmt: skip
    templates = {
        str(key): str(raw) for key, raw in pairs
        if raw is not None and "$" in str(raw).replace("$$", "")
    }  # fmt: skip
    files = body.get("env_file")
    files = [files] if isinstance(files, str | dict) else files or []
    paths_of = [
        f if isinstance(f, str) else str(f.get("path", "")) if isinstance(f, dict) else ""
        for f in files
    ]
    return EnvSource(
        files=tuple(str(folder / p) for p in paths_of if p),
        explicit=frozenset(str(key) for key, _ in pairs),
        templates=templates,
    )


def load_compose(path: Path, warn: Warn, options: ComposeOptions | None = None) -> Stack:
    """Translate a Compose file; unsupported keys go to `warn`, invalid ones raise StackError."""
    return load_compose_files([path], warn, options)


def environment_for(first: Path, options: ComposeOptions) -> dict[str, str]:
    """What `${VAR}` reads: the env files (--env-file, in order, later wins; without any, the
    `.env` beside the first Compose file), overridden by the process environment."""
    process = dict(os.environ if options.environment is None else options.environment)
    default = first.parent / ".env"
    files = list(options.env_files) or ([default] if default.is_file() else [])
    values: dict[str, str] = {}
    for file in files:
        if not file.is_file():
            raise StackError(str(file), ["env file not found: check --env-file"])
        try:
            values.update(read_env_file(file, {**values, **process}))
        except InterpolationError as error:
            raise StackError(str(file), [str(error).removeprefix(f"{file}:")]) from None
        except (OSError, UnicodeDecodeError) as error:
            raise StackError(str(file), [f"cannot read the env file: {error}"]) from None
    return {**values, **process}


def active_profiles(options: ComposeOptions) -> set[str]:
    if options.profiles:
        return set(options.profiles)
    process = os.environ if options.environment is None else options.environment
    return {p.strip() for p in process.get("COMPOSE_PROFILES", "").split(",") if p.strip()}


def load_compose_files(
    paths: list[Path], warn: Warn, options: ComposeOptions | None = None
) -> Stack:
    """Compose files merged in order (later ones override), translated into one Stack."""
    options = options or ComposeOptions()
    environment = environment_for(paths[0], options)
    project = paths[0].parent
    documents: list[_Document] = []
    for path in paths:
        documents += _with_includes(path, environment, warn, project, [])
    doc = _Merged(documents, environment)
    doc.path = path = paths[0]  # the project's file, though what it includes comes first
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise StackError(str(path), ["a Compose file needs a 'services' mapping"])
    _resolve_extends(doc, environment, warn, project)
    for key in data:
        if key not in TOP_KEYS and not key.startswith("x-"):
            warn(f"{doc.where(key)}: {key}: not supported by deployer; ignored")
    problems: list[str] = []
    services = []
    left_out = _left_out(data["services"], active_profiles(options), doc, problems)
    doc.present = {str(name) for name in data["services"]} - set(left_out)
    for name, profiles in sorted(left_out.items()):
        warn(f"{doc.where(f'services.{name}')}: services.{name}: left out: its profiles "
             f"({', '.join(profiles)}) are not active (--profile or COMPOSE_PROFILES)")  # fmt: skip
    for name, body in data["services"].items():
        prefix = f"services.{name}"
        if name in left_out:
            continue
        if not isinstance(body, dict):
            problems.append(f"{doc.at(prefix)}: {prefix}: must be a mapping")
            continue
        shape = _shape_problems(body, prefix, doc)
        if shape:
            problems += shape
            continue
        try:
            fields = _service_fields(name, body, doc, prefix, path.parent, warn, problems)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
            # A value of the right shape that still cannot be read (a port without target...).
            problems.append(f"{doc.at(prefix)}: {prefix}: cannot read this service: {error!r}")
            continue
        try:
            services.append(Service.model_validate(fields))
        except ValidationError as error:
            for item in error.errors():
                field = ".".join([prefix, *(str(part) for part in item["loc"])])
                message = re.sub(r"^Value error, ", "", str(item["msg"]))
                if item["type"] == "string_pattern_mismatch":  # say what a name may be
                    message = explain(item)
                problems.append(f"{doc.at(field)}: {field}: {message}")
    networks = _top_level(data.get("networks"), "networks", Network, doc, warn, problems)
    volumes = _top_level(data.get("volumes"), "volumes", Volume, doc, warn, problems)
    secrets = _sources(data.get("secrets"), "secrets", Secret, doc, warn, problems)
    configs = _sources(data.get("configs"), "configs", Config, doc, warn, problems)
    if problems:
        raise StackError(str(path), problems)
    name = data.get("name") or re.sub(r"[^a-z0-9_-]", "", path.parent.resolve().name.lower())
    if not isinstance(name, str):
        raise StackError(str(path), [f"{doc.at('name')}: name: must be a string, not {name!r}"])
    try:
        return Stack(
            name=name or "stack", services=tuple(services), networks=tuple(networks),
            volumes=tuple(volumes), secrets=tuple(secrets), configs=tuple(configs),
        )  # fmt: skip
    except ValidationError as error:
        raise StackError(
            str(path), [f"{e['loc'][0]}: {e['msg']}" for e in error.errors()]
        ) from None


def _with_includes(
    path: Path, environment: Mapping[str, str], warn: Warn, project: Path, chain: list[Path]
) -> list[_Document]:
    """A file, preceded by the files it includes (each read from its own folder)."""
    if path.resolve() in chain:
        cycle = " -> ".join(str(p) for p in [*chain, path.resolve()])
        raise StackError(str(path), [f"include: files include each other: {cycle}"])
    document = _Document(path, environment, warn, project)
    included = document.data.pop("include", None) if isinstance(document.data, dict) else None
    if included is None:
        return [document]
    if not isinstance(included, list):
        raise StackError(str(path), [f"line {document.line('include')}: include: must be a "
                                     "list of files (or of {path: ...})"])  # fmt: skip
    found: list[_Document] = []
    for index, entry in enumerate(included):
        files = entry.get("path") if isinstance(entry, dict) else entry
        files = [files] if isinstance(files, str) else files
        at = f"include.{index}"
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            raise StackError(str(path), [f"line {document.line(at)}: {at}: must name a Compose "
                                         "file"])  # fmt: skip
        for name in files:
            target = path.parent / name
            if not target.is_file():
                raise StackError(str(path), [f"line {document.line(at)}: {at}: no file "
                                             f"{str(target)!r}"])  # fmt: skip
            found += _with_includes(target, environment, warn, project, [*chain, path.resolve()])
    # As Compose: an included file's services are its own; redefining one is an error.
    own = document.data.get("services") if isinstance(document.data, dict) else None
    for other in found:
        theirs = other.data.get("services") if isinstance(other.data, dict) else None
        if isinstance(own, dict) and isinstance(theirs, dict):
            clash = sorted(set(map(str, own)) & set(map(str, theirs)))
            if clash:
                raise StackError(str(path), [
                    f"line {document.line(f'services.{clash[0]}')}: services.{clash[0]}: "
                    f"also defined by the included {other.path}; rename one (or use extends)"
                ])  # fmt: skip
    return [*found, document]


def _resolve_extends(
    doc: _Merged, environment: Mapping[str, str], warn: Warn, project: Path
) -> None:
    """Each service with `extends` becomes its base merged with its own settings."""
    services = doc.data["services"]
    files: dict[Path, dict[str, Any]] = {}

    def services_in(file: str | None) -> tuple[dict[str, Any], str]:
        if file is None:
            return services, "this file"
        path = project / file
        if path not in files:
            if not path.is_file():
                raise StackError(str(doc.path), [f"extends: no file {str(path)!r}"])
            data = _Document(path, environment, warn, project).data
            found = data.get("services") if isinstance(data, dict) else None
            files[path] = found if isinstance(found, dict) else {}
        return files[path], str(path)

    def resolved(name: str, pool: dict[str, Any], where: str, chain: list[str]) -> Any:
        body = pool.get(name)
        if not isinstance(body, dict) or "extends" not in body:
            return body
        spec = body["extends"]
        spec = {"service": spec} if isinstance(spec, str) else spec
        at = f"services.{name}.extends"
        if not isinstance(spec, dict) or not isinstance(spec.get("service"), str):
            raise StackError(str(doc.path), [f"{doc.where(at)}: {at}: name the service to "
                                             "extend (and optionally its file)"])  # fmt: skip
        file = spec.get("file")
        base_pool, base_where = services_in(str(file)) if file else (pool, where)
        key = f"{base_where}:{spec['service']}"
        if key in chain:
            raise StackError(str(doc.path), [f"{doc.where(at)}: {at}: services extend each "
                                             f"other: {' -> '.join([*chain, key])}"])  # fmt: skip
        if spec["service"] not in base_pool:
            raise StackError(str(doc.path), [f"{doc.where(at)}: {at}: no service "
                                             f"{spec['service']!r} in {base_where}"])  # fmt: skip
        base = resolved(spec["service"], base_pool, base_where, [*chain, key])
        own = {k: v for k, v in body.items() if k != "extends"}
        return without_tags(merge(base, own))

    for name in list(services):
        services[name] = resolved(name, services, "this file", [f"this file:{name}"])


def _left_out(
    services: dict[Any, Any], active: set[str], doc: _Merged, problems: list[str]
) -> dict[str, list[str]]:
    """Services whose profiles are all inactive (a service without profiles always runs); a
    service that runs may not depend on one of them."""
    left_out: dict[str, list[str]] = {}
    for name, body in services.items():
        profiles = body.get("profiles") if isinstance(body, dict) else None
        if profiles is None:
            continue
        if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
            problems.append(f"{doc.at(f'services.{name}.profiles')}: services.{name}.profiles: "
                            "must be a list of profile names")  # fmt: skip
            continue
        if profiles and "*" not in active and not active.intersection(profiles):
            left_out[str(name)] = profiles
    for name, body in services.items():
        if name in left_out or not isinstance(body, dict):
            continue
        needs = body.get("depends_on") or []
        for needed in needs if isinstance(needs, list | dict) else []:
            options = needs[needed] if isinstance(needs, dict) else None
            if isinstance(options, dict) and options.get("required") is False:
                continue  # optional: dropped when absent
            if isinstance(needed, str) and needed in left_out:
                where = f"services.{name}.depends_on"
                problems.append(
                    f"{doc.at(where)}: {where}: {needed} is in profile(s) "
                    f"{', '.join(left_out[needed])}, which are not active: pass "
                    f"--profile {left_out[needed][0]}"
                )
    return left_out


def _sources(
    section: Any, label: str, model: type[Secret] | type[Config], doc: _Merged, warn: Warn,
    problems: list[str],
) -> list[Any]:  # fmt: skip
    """Top-level secrets/configs: each from a file (relative to the first Compose file), an
    environment variable, or inline content."""
    found: list[Any] = []
    if section is None:
        return found
    if not isinstance(section, dict):
        problems.append(f"{doc.at(label)}: {label}: must be a mapping of names to sources")
        return found
    for name, body in section.items():
        prefix = f"{label}.{name}"
        if not isinstance(body, dict):
            problems.append(f"{doc.at(prefix)}: {prefix}: must be a mapping with file, "
                            "environment or content")  # fmt: skip
            continue
        if body.get("external"):
            warn(f"{doc.where(prefix)}: {prefix}.external: an external {label[:-1]} lives "
                 "in a Swarm; on one engine give it a file, environment or content; "
                 "left out")  # fmt: skip
            continue
        for key in sorted(set(body) - {"file", "environment", "content", "name"}):
            warn(f"{doc.where(f'{prefix}.{key}')}: {prefix}.{key}: not supported; ignored")
        fields = {k: body[k] for k in ("file", "environment", "content") if k in body}
        try:
            found.append(model.model_validate({**fields, "name": str(name)}))
        except ValidationError as error:
            problems += [f"{doc.at(prefix)}: {prefix}: {e['msg']}" for e in error.errors()]
    return found


def _ipam(value: dict[str, Any], path: str, doc: _Merged, warn: Warn) -> list[Any]:
    """Compose's ipam: {driver, config: [{subnet, gateway, ip_range}]} -> the network's pools."""
    if value.get("driver", "default") != "default":
        warn(f"{doc.where(path)}: {path}.driver: only the default IPAM driver is supported")
    pools = []
    for index, pool in enumerate(value.get("config") or []):
        if not isinstance(pool, dict):
            continue
        for key in sorted(set(pool) - {"subnet", "gateway", "ip_range"}):
            warn(f"{doc.where(f'{path}.config.{index}.{key}')}: {path}.config.{index}.{key}: "
                 "not supported; ignored")  # fmt: skip
        pools.append({k: str(pool[k]) for k in ("subnet", "gateway", "ip_range") if k in pool})
    return pools


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


def _top_level(
    section: Any, label: str, model: type[Network] | type[Volume], doc: _Merged, warn: Warn,
    problems: list[str],
) -> list[Any]:  # fmt: skip
    found: list[Any] = []
    if section is not None and not isinstance(section, dict):
        problems.append(f"{doc.at(label)}: {label}: must be a mapping of names to settings")
        return found
    for name, body in (section or {}).items():
        prefix = f"{label}.{name}"
        if body is not None and not isinstance(body, dict):
            problems.append(f"{doc.at(prefix)}: {prefix}: must be a mapping (or empty)")
            continue
        body = dict(body or {})
        external = body.pop("external", False)
        if external:
            # One that exists already: joined or mounted under its own name, never made or
            # removed by deployer (Compose's older `external: {name: ...}` included).
            given = external.get("name") if isinstance(external, dict) else None
            engine_name = given or body.pop("name", None) or str(name)
            body = {"external": True, "engine_name": str(engine_name)}
        elif "name" in body:
            warn(f"{doc.where(f'{prefix}.name')}: {prefix}.name: deployer names the {label} it "
                 f"creates after the stack; {body.pop('name')!r} is not used")  # fmt: skip
        allowed = (
            {"driver", "internal", "labels", "ipam", "enable_ipv6"} if label == "networks"
            else {"driver", "driver_opts", "labels"}
        )  # fmt: skip
        if label == "networks":
            body.pop("attachable", None)  # every user network is attachable on one engine
            if isinstance(body.get("ipam"), dict):
                body["ipam"] = _ipam(body["ipam"], f"{prefix}.ipam", doc, warn)
        allowed |= {"external", "engine_name"}
        for key in sorted(set(body) - allowed):
            if not key.startswith("x-"):
                warn(f"{doc.where(f'{prefix}.{key}')}: {prefix}.{key}: not supported; ignored")
            body.pop(key)
        if isinstance(body.get("driver_opts"), dict):  # values are strings to the engine
            body["driver_opts"] = {str(k): _scalar(v) for k, v in body["driver_opts"].items()}
        if "labels" in body:
            if not isinstance(body["labels"], dict | list):
                problems.append(f"{doc.at(prefix + '.labels')}: {prefix}.labels: must be a "
                                "mapping or a list of KEY=VALUE")  # fmt: skip
                continue
            body["labels"] = _mapping(body["labels"])
        try:
            found.append(model.model_validate({**body, "name": name}))
        except ValidationError as error:
            problems += [f"{doc.at(prefix)}: {prefix}: {e['msg']}" for e in error.errors()]
    return found


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
    "group_add": ("list",), "network_mode": ("str",),
    "mem_limit": ("str", "int"), "mem_reservation": ("str", "int"),
    "cpus": ("str", "int", "float"), "pids_limit": ("int",),
    "build.context": ("str",), "build.dockerfile": ("str",), "build.target": ("str",),
    "build.args": ("map", "list"), "build.x-wheelhouse": ("str",),
    "healthcheck.test": ("str", "list"), "healthcheck.interval": ("str", "int"),
    "healthcheck.timeout": ("str", "int"), "healthcheck.retries": ("int",),
    "healthcheck.start_period": ("str", "int"), "healthcheck.disable": ("bool",),
    "deploy.replicas": ("int",), "deploy.resources": ("map",), "deploy.restart_policy": ("map",),
    "deploy.update_config": ("map",), "deploy.resources.limits": ("map",),
    "deploy.resources.reservations": ("map",), "logging.driver": ("str",),
    "logging.options": ("map",),
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
    "build.args": (_SCALAR,), "healthcheck.test": (_SCALAR,), "logging.options": (_SCALAR,),
    "deploy.resources.limits": (_SCALAR,), "deploy.resources.reservations": (_SCALAR, "list"),
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


def _shape_problems(body: dict[str, Any], prefix: str, doc: _Merged, key: str = "") -> list[str]:
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
            found += _shape_problems(value, prefix, doc, path)
    return found


def _service_fields(
    name: str, body: dict[str, Any], doc: _Merged, prefix: str, folder: Path, warn: Warn,
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
    for key in ("security_opt", "cap_add", "cap_drop", "group_add"):
        if key in body:
            fields[key] = [str(item) for item in body[key]]
    if "sysctls" in body:
        fields["sysctls"] = _mapping(body["sysctls"])
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
        fields["labels"] = _mapping(body["labels"])
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


def _mapping(value: Any) -> dict[str, str]:
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
        env[str(key)] = _scalar(val)
    return env


def _scalar(value: Any) -> str:
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
        build["args"] = _mapping(value["args"])
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


def _port(value: Any, path: str, doc: _Merged, warn: Warn, problems: list[str]) -> Any:
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
    if update:
        fields["update"] = {k: update[k] for k in ("parallelism", "order") if k in update}
    for key in sorted(set(deploy) - {"replicas", "resources", "restart_policy", "update_config"}):
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
