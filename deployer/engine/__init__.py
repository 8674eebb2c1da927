"""The engine seam: the protocol the rest of deployer calls, and the data it answers with.

Importing this package loads nothing: the real engine is `docker_engine.DockerEngine`, loaded
by whoever connects (deployer.api.connect); `wire`, its plain transport, is what the fast
answer of an unchanged `up` reads through, before any of the rest has loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deployer.core.state import ContainerInfo, NetworkInfo, PublishedPort, VolumeInfo
    from deployer.engine.protocol import Engine

_WHERE = {
    "ContainerInfo": "deployer.core.state", "NetworkInfo": "deployer.core.state",
    "PublishedPort": "deployer.core.state", "VolumeInfo": "deployer.core.state",
    "Engine": "deployer.engine.protocol",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = ["ContainerInfo", "Engine", "NetworkInfo", "PublishedPort", "VolumeInfo"]
