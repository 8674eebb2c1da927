"""The scripting API for a Swarm target (`from deployer import swarm`): up, plan, status, logs,
rollback and down of a stack on a Swarm manager. It lives in deployer.targets.swarm."""

from deployer.targets.swarm.api import (
    Deployment,
    ReplicaStatus,
    SwarmUpOptions,
    build_engine,
    connect,
    down,
    logs,
    plan,
    restart,
    rollback,
    status,
    up,
)

__all__ = [
    "Deployment",
    "ReplicaStatus",
    "SwarmUpOptions",
    "build_engine",
    "connect",
    "down",
    "logs",
    "plan",
    "restart",
    "rollback",
    "status",
    "up",
]
