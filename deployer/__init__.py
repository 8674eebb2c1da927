"""deployer: typed Python stacks, deployed onto a Docker engine.

from deployer import Stack, Service, up, down, status, plan

The models load without docker (a stack.py imports only them); the API that talks to an engine
is imported the first time one of its names is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from deployer.core.plan import Action, Plan
from deployer.model.errors import (
    DeployerError,
    DeployFailed,
    EngineError,
    EngineUnavailable,
    ImageError,
    LockBusy,
    NotFound,
    StackError,
)
from deployer.model.spec import (
    Build,
    Config,
    ConfigUse,
    DependsOn,
    File,
    Healthcheck,
    HttpProbe,
    Logging,
    Mount,
    Network,
    NetworkAttachment,
    Placement,
    Port,
    Proxy,
    RateLimit,
    Reservations,
    Resources,
    RollbackPolicy,
    Secret,
    SecretUse,
    Service,
    Stack,
    Ulimit,
    UpdatePolicy,
    Volume,
)
from deployer.stackfile.load import load as load_stack
from deployer.stackfile.variables import Variables

if TYPE_CHECKING:
    from deployer.api import (
        Deployment,
        ReplicaStatus,
        UpOptions,
        down,
        gc,
        plan,
        rollback,
        status,
        up,
    )

_API = {
    "Deployment", "ReplicaStatus", "UpOptions", "down", "gc", "plan", "rollback", "status", "up",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module("deployer.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deployer' has no attribute {name!r}")


__all__ = [
    "Action",
    "Build",
    "Config",
    "ConfigUse",
    "DependsOn",
    "DeployFailed",
    "DeployerError",
    "Deployment",
    "EngineError",
    "EngineUnavailable",
    "File",
    "Healthcheck",
    "HttpProbe",
    "ImageError",
    "LockBusy",
    "Logging",
    "Mount",
    "Network",
    "NetworkAttachment",
    "NotFound",
    "Placement",
    "Plan",
    "Port",
    "Proxy",
    "RateLimit",
    "ReplicaStatus",
    "Reservations",
    "Resources",
    "RollbackPolicy",
    "Secret",
    "SecretUse",
    "Service",
    "Stack",
    "StackError",
    "Ulimit",
    "UpOptions",
    "UpdatePolicy",
    "Variables",
    "Volume",
    "down",
    "gc",
    "load_stack",
    "plan",
    "rollback",
    "status",
    "up",
]  # fmt: skip
