"""The scripting API for a Swarm target (`from deployer import swarm`): up, plan, status, logs,
restart, rollback and down of a stack on a Swarm manager. It lives in deployer.targets.swarm."""

from deployer.targets.swarm.api import *  # noqa: F403
from deployer.targets.swarm.api import __all__ as __all__
