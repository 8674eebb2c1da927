"""Throwaway stacks for integration tests, their reaper, and deployer's pytest plugin.

from deployer.testing import throwaway

with throwaway("stack.py") as shop:
    urllib.request.urlopen(shop.url("nginx"))
"""

from deployer.testing.on_swarm import SwarmThrowaway, swarm_throwaway
from deployer.testing.stacks import (
    Throwaway,
    disposable_copy,
    throwaway,
    throwaway_fixture,
)

__all__ = [
    "SwarmThrowaway",
    "Throwaway",
    "disposable_copy",
    "swarm_throwaway",
    "throwaway",
    "throwaway_fixture",
]
