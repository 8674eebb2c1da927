"""deployer: typed Python stacks, deployed onto a Docker engine.

from deployer import Stack, Service, up, down, status, plan
"""

from deployer.api import Deployment, ReplicaStatus, down, gc, plan, rollback, status, up
from deployer.errors import (
    DeployerError,
    DeployFailed,
    EngineError,
    EngineUnavailable,
    ImageError,
    LockBusy,
    NotFound,
    StackError,
)
from deployer.load import load as load_stack
from deployer.plan import Action, Plan
from deployer.spec import (
    Build,
    DependsOn,
    File,
    Healthcheck,
    HttpProbe,
    Logging,
    Mount,
    Network,
    NetworkAttachment,
    Port,
    Proxy,
    Reservations,
    Resources,
    Service,
    Stack,
    Ulimit,
    UpdatePolicy,
    Volume,
)

__all__ = [
    "Action",
    "Build",
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
    "Plan",
    "Port",
    "Proxy",
    "ReplicaStatus",
    "Reservations",
    "Resources",
    "Service",
    "Stack",
    "StackError",
    "Ulimit",
    "UpdatePolicy",
    "Volume",
    "down",
    "gc",
    "load_stack",
    "plan",
    "rollback",
    "status",
    "up",
]  # fmt: skip
