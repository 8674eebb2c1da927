"""deployer's pytest plugin (registered through the `pytest11` entry point).

Fixtures:
- `deployer_stack`: a running throwaway of the stack file named by the `deployer_stack` ini
  option (default: stack.py in the rootdir), fresh for each test.
- for other scopes or stacks, make a fixture with `deployer.testing.throwaway_fixture`.

Each pytest-xdist worker is its own process, with its own reaper, names and ports: workers never
collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.testing.stacks import Throwaway, throwaway


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "deployer_stack", "stack file for the deployer_stack fixture (relative to the rootdir)",
        default="stack.py",
    )  # fmt: skip


@pytest.fixture
def deployer_stack(request: pytest.FixtureRequest) -> Iterator[Throwaway]:
    """A running throwaway copy of the project's stack, removed after the test."""
    path = Path(request.config.rootpath) / str(request.config.getini("deployer_stack"))
    with throwaway(path) as handle:
        yield handle
