"""The scripting API for a Swarm target (`from deployer import swarm`): up, plan, status, logs,
rollback and down of a stack on a Swarm manager. It lives in deployer.targets.swarm."""

from deployer.targets.swarm.api import (
    SwarmDeployment,
    TaskStatus,
    build_engine,
    connect,
    down,
    logs,
    plan,
    rollback,
    status,
    up,
)

__all__ = [
    "SwarmDeployment",
    "TaskStatus",
    "build_engine",
    "connect",
    "down",
    "logs",
    "plan",
    "rollback",
    "status",
    "up",
]
