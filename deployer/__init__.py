"""deployer: typed Python stacks, deployed onto a Docker engine.

from deployer import Stack, Service, up, down, status, plan

Every name is imported the first time it is used: a stack.py loads only the models (no docker),
the CLI lists its commands without them, and the API that talks to an engine loads when called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers; at run time each name loads when first used
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
        Watch,
        WatchExec,
    )
    from deployer.stackfile.load import load as load_stack
    from deployer.stackfile.variables import Variables

# name -> (module, attribute): `import deployer` costs nothing until a name is used (the CLI
# lists its commands without loading pydantic's models; a stack.py loads only the models).
_LAZY = {
    "Action": ("deployer.core.plan", "Action"),
    "Build": ("deployer.model.spec", "Build"),
    "Config": ("deployer.model.spec", "Config"),
    "ConfigUse": ("deployer.model.spec", "ConfigUse"),
    "DependsOn": ("deployer.model.spec", "DependsOn"),
    "DeployFailed": ("deployer.model.errors", "DeployFailed"),
    "DeployerError": ("deployer.model.errors", "DeployerError"),
    "Deployment": ("deployer.api", "Deployment"),
    "EngineError": ("deployer.model.errors", "EngineError"),
    "EngineUnavailable": ("deployer.model.errors", "EngineUnavailable"),
    "File": ("deployer.model.spec", "File"),
    "Healthcheck": ("deployer.model.spec", "Healthcheck"),
    "HttpProbe": ("deployer.model.spec", "HttpProbe"),
    "ImageError": ("deployer.model.errors", "ImageError"),
    "LockBusy": ("deployer.model.errors", "LockBusy"),
    "Logging": ("deployer.model.spec", "Logging"),
    "Mount": ("deployer.model.spec", "Mount"),
    "Network": ("deployer.model.spec", "Network"),
    "NetworkAttachment": ("deployer.model.spec", "NetworkAttachment"),
    "NotFound": ("deployer.model.errors", "NotFound"),
    "Placement": ("deployer.model.spec", "Placement"),
    "Plan": ("deployer.core.plan", "Plan"),
    "Port": ("deployer.model.spec", "Port"),
    "Proxy": ("deployer.model.spec", "Proxy"),
    "RateLimit": ("deployer.model.spec", "RateLimit"),
    "ReplicaStatus": ("deployer.api", "ReplicaStatus"),
    "Reservations": ("deployer.model.spec", "Reservations"),
    "Resources": ("deployer.model.spec", "Resources"),
    "RollbackPolicy": ("deployer.model.spec", "RollbackPolicy"),
    "Secret": ("deployer.model.spec", "Secret"),
    "SecretUse": ("deployer.model.spec", "SecretUse"),
    "Service": ("deployer.model.spec", "Service"),
    "Stack": ("deployer.model.spec", "Stack"),
    "StackError": ("deployer.model.errors", "StackError"),
    "Ulimit": ("deployer.model.spec", "Ulimit"),
    "UpOptions": ("deployer.api", "UpOptions"),
    "UpdatePolicy": ("deployer.model.spec", "UpdatePolicy"),
    "Variables": ("deployer.stackfile.variables", "Variables"),
    "Volume": ("deployer.model.spec", "Volume"),
    "Watch": ("deployer.model.spec", "Watch"),
    "WatchExec": ("deployer.model.spec", "WatchExec"),
    "down": ("deployer.api", "down"),
    "gc": ("deployer.api", "gc"),
    "load_stack": ("deployer.stackfile.load", "load"),
    "plan": ("deployer.api", "plan"),
    "rollback": ("deployer.api", "rollback"),
    "status": ("deployer.api", "status"),
    "up": ("deployer.api", "up"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
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
    "Watch",
    "WatchExec",
    "down",
    "gc",
    "load_stack",
    "plan",
    "rollback",
    "status",
    "up",
]  # fmt: skip
