"""The config hash: what decides whether a running container still matches its service.

Canonical JSON of the service's effective configuration -> sha256. The fields below are left
out on purpose; everything else a user writes goes in, plus what the engine resolves (the image
id) and the content of files written into the container.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from deployer.core import render, secrets
from deployer.model.spec import Service, Stack

EXCLUDED_FIELDS = {
    # Scaling adds or removes replicas; it never recreates the ones that run.
    "replicas",
    # Start order only: a dependency's change does not make this container stale.
    "depends_on",
    # The name is already the container's identity.
    "name",
    # Replaced by the id of the image it produces, which is what actually runs.
    "build",
    # How to replace containers, not what they are.
    "update",
    "rollback",
    # Where a Swarm puts tasks: a single engine has one place.
    "mode",
    "placement",
    # What `deployer watch` does on a change: the inner loop's, not the container's.
    "watch",
}


def digest(data: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def service_fields(
    stack: Stack, service: Service, image_id: str, proxy_template: str | None
) -> dict[str, str]:
    """A short digest per configuration field, so a plan can say *what* changed."""
    data = service.model_dump(mode="json", exclude=EXCLUDED_FIELDS)
    attached = {att.name for att in stack.service_networks(service)}
    data["networks"] = [
        {"attachment": att.model_dump(mode="json"), "network": net.model_dump(mode="json")}
        for att in stack.service_networks(service)
        for net in stack.all_networks()
        if net.name == att.name and net.name in attached
    ]
    # What runs is the resolved image, not the name or build recipe that produced it.
    data["image"] = image_id
    # A file mounted as configuration changes the container when its content changes.
    data["mounted_files"] = {
        mount.source: _file_digest(stack.resolve(Path(mount.source).expanduser()))
        for mount in service.mounts
        if mount.type == "bind" and stack.resolve(Path(mount.source).expanduser()).is_file()
    }
    # Secrets and configs by the digest of their content: a changed one rolls the service,
    # and its value stays out of every label.
    data["secrets"] = [data.get("secrets"), data.get("configs"), secrets.digests(stack, service)]
    data.pop("configs", None)
    # The proxy's template content goes in; the upstream list it is filled with does not,
    # because replicas of the upstream come and go without recreating the proxy.
    data["proxy"] = [data.get("proxy"), proxy_template]
    # A socket-reached replica's healthcheck also claims its route: a change to that claim must
    # reach the running replicas (plan: "config changed: healthcheck").
    if service.name in stack.socket_upstreams():
        data["healthcheck"] = [data.get("healthcheck"), render.CLAIM_SLOT]
    return {key: digest(value)[:8] for key, value in sorted(data.items())}


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fields_label(fields: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(fields.items()))


def parse_fields_label(text: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in text.split(",") if item)
    return {key: value for key, _, value in pairs}


def changed_fields(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def config_hash(fields: dict[str, str]) -> str:
    return digest(fields)
