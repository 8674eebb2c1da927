"""Secrets and configs: their content, resolved where the deploy runs, as files for containers.

The content is read from its source (a file beside the stack, an environment variable, or
inline) only here. It reaches containers as files and the config hash as a digest; it never
enters labels, plans or events.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

from deployer.model.errors import StackError
from deployer.model.spec import Config, ConfigUse, File, Secret, SecretUse, Service, Stack


def content(
    stack: Stack, source: Secret | Config, environ: Mapping[str, str] = os.environ
) -> bytes:
    """The bytes as they are (a secret may be binary: a DER key, a keystore)."""
    if source.file is not None:
        path = stack.resolve(source.file)
        try:
            return path.read_bytes()
        except OSError as error:
            kind = "secrets" if isinstance(source, Secret) else "configs"
            raise StackError(
                str(path), [f"{kind}.{source.name}.file: cannot read it: {error.strerror}"]
            ) from None
    if source.environment is not None:
        return environ.get(source.environment, "").encode()
    if isinstance(source, Secret):
        return source.content.get_secret_value().encode() if source.content is not None else b""
    return (source.content or "").encode()


def _uses(stack: Stack, service: Service) -> list[tuple[SecretUse | ConfigUse, Secret | Config]]:
    secrets = {s.name: s for s in stack.secrets}
    configs = {c.name: c for c in stack.configs}
    found: list[tuple[SecretUse | ConfigUse, Secret | Config]] = []
    found += [(use, secrets[use.source]) for use in service.secrets if use.source in secrets]
    found += [(use, configs[use.source]) for use in service.configs if use.source in configs]
    return found


def files(stack: Stack, service: Service) -> list[File]:
    """The files a service's containers get for its secrets and configs."""
    return [
        File(path=use.path(), data=content(stack, source), mode=use.mode, uid=use.uid,
             gid=use.gid)
        for use, source in _uses(stack, service)
    ]  # fmt: skip


def digests(stack: Stack, service: Service) -> dict[str, str]:
    """Per target path: a digest of what is written there (what the config hash sees)."""
    return {
        use.path(): hashlib.sha256(content(stack, source)).hexdigest()
        for use, source in _uses(stack, service)
    }
