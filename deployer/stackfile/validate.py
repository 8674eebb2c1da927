"""Whole-stack rules that no single model can check. Every problem is reported at once."""

from __future__ import annotations

import ipaddress
import os
from collections import Counter
from pathlib import Path

from deployer.core import nginx
from deployer.core.graph import find_cycle
from deployer.model.spec import DEFAULT_NETWORK, Stack


def problems(stack: Stack) -> list[str]:
    """Each string names the field path and says what to do."""
    found: list[str] = []
    found += _duplicates(stack)
    found += _references(stack)
    found += _cycles(stack)
    found += _port_clashes(stack)
    found += _paths(stack)
    found += _secrets(stack)
    found += _jobs(stack)
    return found


def _jobs(stack: Stack) -> list[str]:
    """A service waited on to complete must be allowed to stay exited once done."""
    names = {s.name for s in stack.services}
    return [
        f"services.{job}.restart: {stack.service(job).restart!r} would run it again and again, "
        "but services wait for it to complete: use 'no' or 'on-failure'"
        for job in sorted(stack.jobs() & names)
        if stack.service(job).restart in {"always", "unless-stopped"}
    ]


def _secrets(stack: Stack) -> list[str]:
    """Each secret and config readable now, each use naming one the stack defines."""
    found = []
    for label, defined in (("secrets", stack.secrets), ("configs", stack.configs)):
        for name, count in Counter(item.name for item in defined).items():
            if count > 1:
                found.append(f"{label}.{name}: defined {count} times; keep one")
        for item in defined:
            if item.file is not None and not stack.resolve(item.file).is_file():
                found.append(f"{label}.{item.name}.file: no file {str(stack.resolve(item.file))!r}"
                             "; the path is relative to the stack file")  # fmt: skip
            if item.environment is not None and item.environment not in os.environ:
                found.append(f"{label}.{item.name}.environment: {item.environment} is not "
                             "set where deployer runs; set it")  # fmt: skip
    secrets = {s.name for s in stack.secrets}
    configs = {c.name for c in stack.configs}
    for service in stack.services:
        uses = [("secrets", u.source, u.path(), secrets) for u in service.secrets]
        uses += [("configs", u.source, u.path(), configs) for u in service.configs]
        for label, source, _, known in uses:
            if source not in known:
                names = ", ".join(sorted(known)) or "none defined"
                found.append(f"services.{service.name}.{label}: {source!r} is not one of the "
                             f"stack's {label} ({names})")  # fmt: skip
        targets = Counter(path for *_, path, _ in uses)
        found += [f"services.{service.name}: two secrets or configs are written to {path}"
                  for path, count in targets.items() if count > 1]  # fmt: skip
    return found


def _duplicates(stack: Stack) -> list[str]:
    found = []
    for name, count in Counter(s.name for s in stack.services).items():
        if count > 1:
            found.append(f"services.{name}: {count} services share this name; rename all but one")
    for name, count in Counter(v.name for v in stack.volumes).items():
        if count > 1:
            found.append(f"volumes.{name}: {count} volumes share this name; rename all but one")
    for name, count in Counter(n.name for n in stack.networks).items():
        if count > 1:
            found.append(f"networks.{name}: {count} networks share this name; rename all but one")
    return found


def _references(stack: Stack) -> list[str]:
    found = []
    services = {s.name for s in stack.services}
    networks = {n.name for n in stack.networks} | {DEFAULT_NETWORK}
    for service in stack.services:
        for index, dep in enumerate(service.depends_on):
            if dep.service not in services:
                found.append(
                    f"services.{service.name}.depends_on.{index}: no service named "
                    f"{dep.service!r} in the stack (known: {', '.join(sorted(services))})"
                )
            elif dep.service == service.name:
                found.append(
                    f"services.{service.name}.depends_on.{index}: a service cannot depend on itself"
                )
            elif dep.condition == "healthy" and stack.service(dep.service).healthcheck is None:
                found.append(
                    f"services.{service.name}.depends_on.{index}: waits for {dep.service!r} to "
                    f"be healthy, but {dep.service!r} has no healthcheck; add one or use "
                    "condition='started'"
                )
        for index, attachment in enumerate(service.networks):
            if attachment.name not in networks:
                found.append(
                    f"services.{service.name}.networks.{index}: no network named "
                    f"{attachment.name!r}; declare it in Stack(networks=[...])"
                )
            fixed = attachment.ipv4_address or attachment.ipv6_address
            declared_network = next((n for n in stack.networks if n.name == attachment.name), None)
            if fixed and service.replicas > 1:
                found.append(f"services.{service.name}.networks.{index}: a fixed address fits "
                             "one replica only; set replicas=1")  # fmt: skip
            if (
                fixed
                and declared_network is not None
                and not (declared_network.ipam or declared_network.external)
            ):
                found.append(f"services.{service.name}.networks.{index}: a fixed address needs "
                             f"a subnet of the network's own: give {attachment.name} ipam "
                             "(Subnet(subnet='172.28.0.0/16'))")  # fmt: skip
        declared = {volume.name for volume in stack.volumes}
        for index, mount in enumerate(service.mounts):
            if mount.type == "volume" and mount.source and mount.source not in declared:
                found.append(
                    f"services.{service.name}.mounts.{index}: no volume named {mount.source!r}; "
                    "declare it in Stack(volumes=[...]) (or write ./path for a host folder)"
                )
        mode = service.network_mode
        if mode and service.networks:
            found.append(f"services.{service.name}.network_mode: a service with network_mode "
                         "joins no networks; remove its networks")  # fmt: skip
        if mode and mode.startswith("service:") and mode.removeprefix("service:") not in services:
            found.append(f"services.{service.name}.network_mode: no service named "
                         f"{mode.removeprefix('service:')!r} in the stack")  # fmt: skip
        if mode and not mode.startswith(("service:", "container:")) and mode not in {
            "host", "none", "bridge",
        }:  # fmt: skip
            found.append(f"services.{service.name}.network_mode: {mode!r} is not host, none, "
                         "bridge, service:NAME or container:NAME")  # fmt: skip
        if service.proxy and service.proxy.upstream == service.name:
            found.append(
                f"services.{service.name}.proxy.upstream: a proxy cannot be its own upstream; "
                "name the service it routes to"
            )
        elif service.proxy and service.proxy.upstream not in services:
            found.append(
                f"services.{service.name}.proxy.upstream: no service named "
                f"{service.proxy.upstream!r} in the stack"
            )
        elif service.proxy and stack.service(service.proxy.upstream).replicas == 0:
            found.append(
                f"services.{service.name}.proxy.upstream: {service.proxy.upstream!r} has "
                "replicas=0, so the proxy would serve nothing; give it a replica"
            )
    return found


def _cycles(stack: Stack) -> list[str]:
    # A proxy's upstream counts as a dependency: a cycle through it would deadlock `up` too.
    names = {s.name for s in stack.services}
    edges = {s.name: [d for d in s.needs() if d != s.name and d in names] for s in stack.services}
    cycle = find_cycle(edges)
    if cycle is None:
        return []
    return [f"services.{cycle[0]}.depends_on: dependency cycle {' -> '.join(cycle)}; break it"]


def _port_clashes(stack: Stack) -> list[str]:
    found = []
    owners: dict[tuple[int, str], tuple[str, str]] = {}
    for service in stack.services:
        for index, port in enumerate(service.ports):
            if port.host == 0:
                continue
            path = f"services.{service.name}.ports.{index}"
            if service.replicas > 1:
                found.append(
                    f"{path}: host port {port.host} is fixed but replicas={service.replicas}; "
                    "replicas cannot share a host port (use host port 0, or put them behind nginx)"
                )
            key = (port.host, port.protocol)
            if key in owners and _ips_overlap(owners[key][1], port.host_ip):
                found.append(
                    f"{path}: host port {port.host}/{port.protocol} is already published by "
                    f"{owners[key][0]}; choose another host port"
                )
            else:
                owners[key] = (path, port.host_ip)
    return found


def _ips_overlap(first: str, second: str) -> bool:
    unspecified = {"0.0.0.0", "::"}
    if first in unspecified or second in unspecified:
        return True
    return ipaddress.ip_address(first) == ipaddress.ip_address(second)


def _paths(stack: Stack) -> list[str]:
    found = []
    for service in stack.services:
        build = service.build
        if build is not None:
            context = stack.resolve(build.context)
            if not context.is_dir():
                found.append(
                    f"services.{service.name}.build.context: folder {str(context)!r} does not "
                    "exist; the path is relative to the stack file"
                )
            elif not (context / build.dockerfile).is_file():
                found.append(
                    f"services.{service.name}.build.dockerfile: no file {build.dockerfile!r} "
                    f"in {str(context)!r}"
                )
            elif build.wheelhouse and not (context / build.wheelhouse).is_file():
                found.append(
                    f"services.{service.name}.build.wheelhouse: no requirements file "
                    f"{build.wheelhouse!r} in {str(context)!r}"
                )
        if service.proxy is not None:
            found += _template(stack, service.name, stack.resolve(service.proxy.template))
    return found


def _template(stack: Stack, service: str, path: Path) -> list[str]:
    """The proxy's template is checked now: a bad one must fail before anything is created."""
    where = f"services.{service}.proxy.template"
    if not path.is_file():
        return [f"{where}: no file {str(path)!r}"]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [f"{where}: cannot read {str(path)!r}: {error}"]
    known = ", ".join(nginx.PLACEHOLDERS)
    return [
        f"{where}: {path}: unknown placeholder {{{{ {name} }}}}; known: {known}"
        for name in nginx.unknown_placeholders(text)
    ]
