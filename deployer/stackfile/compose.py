"""docker-compose.yml -> Stack. Supported keys are mapped; anything else is a warning with its
line, never dropped silently. Errors read like any stack's: file, line, field path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from deployer.model.errors import StackError
from deployer.model.spec import Config, Network, Secret, Service, Stack, Volume
from deployer.stackfile.compose_document import Document, Merged, Warn
from deployer.stackfile.compose_merge import merge, without_tags
from deployer.stackfile.compose_options import ComposeOptions
from deployer.stackfile.compose_service import (
    mapping,
    scalar,
    service_fields,
    shape_problems,
)
from deployer.stackfile.interpolate import (
    InterpolationError,
    read_env_file,
)
from deployer.stackfile.messages import explain

TOP_KEYS = {
    "version", "name", "services", "networks", "volumes", "secrets", "configs", "include",
}  # fmt: skip


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
    documents: list[Document] = []
    for path in paths:
        documents += _with_includes(path, environment, warn, project, [])
    doc = Merged(documents, environment)
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
        shape = shape_problems(body, prefix, doc)
        if shape:
            problems += shape
            continue
        try:
            fields = service_fields(name, body, doc, prefix, path.parent, warn, problems)
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
) -> list[Document]:
    """A file, preceded by the files it includes (each read from its own folder)."""
    if path.resolve() in chain:
        cycle = " -> ".join(str(p) for p in [*chain, path.resolve()])
        raise StackError(str(path), [f"include: files include each other: {cycle}"])
    document = Document(path, environment, warn, project)
    included = document.data.pop("include", None) if isinstance(document.data, dict) else None
    if included is None:
        return [document]
    if not isinstance(included, list):
        raise StackError(str(path), [f"line {document.line('include')}: include: must be a "
                                     "list of files (or of {path: ...})"])  # fmt: skip
    found: list[Document] = []
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
    doc: Merged, environment: Mapping[str, str], warn: Warn, project: Path
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
            data = Document(path, environment, warn, project).data
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
    services: dict[Any, Any], active: set[str], doc: Merged, problems: list[str]
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
    section: Any, label: str, model: type[Secret] | type[Config], doc: Merged, warn: Warn,
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


def _ipam(value: dict[str, Any], path: str, doc: Merged, warn: Warn) -> list[Any]:
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


def _top_level(
    section: Any, label: str, model: type[Network] | type[Volume], doc: Merged, warn: Warn,
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
            body["driver_opts"] = {str(k): scalar(v) for k, v in body["driver_opts"].items()}
        if "labels" in body:
            if not isinstance(body["labels"], dict | list):
                problems.append(f"{doc.at(prefix + '.labels')}: {prefix}.labels: must be a "
                                "mapping or a list of KEY=VALUE")  # fmt: skip
                continue
            body["labels"] = mapping(body["labels"])
        try:
            found.append(model.model_validate({**body, "name": name}))
        except ValidationError as error:
            problems += [f"{doc.at(prefix)}: {prefix}: {e['msg']}" for e in error.errors()]
    return found
