"""The fault suite: the real engine, the default stack under load, one fault per test.

Each test records its figures (requests, failed requests, recovery seconds) through the
`figures` fixture: printed always, and appended as one JSON line to $DEPLOYER_FAULT_FIGURES when
it is set (bench/faults.py collects them into bench/results/faults.json).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.conftest import (  # the integration suite's engine and cleanup
    cleanup,
    docker_api,
    engine,
    pytest_sessionfinish,
)

__all__ = ["cleanup", "docker_api", "engine", "pytest_sessionfinish"]

Record = Callable[..., None]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "faults" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Record]:
    recorded: dict[str, Any] = {}

    def record(scenario: str, **values: Any) -> None:
        recorded.update(scenario=scenario, test=request.node.name, **values)

    yield record
    if not recorded:
        return
    print(f"\n{json.dumps(recorded)}")
    target = os.environ.get("DEPLOYER_FAULT_FIGURES")
    if target:
        with open(target, "a") as out:
            out.write(json.dumps(recorded) + "\n")
