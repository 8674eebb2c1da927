"""The security suite: unit tests where the fake engine can show a hole, the real engine where
it cannot (those carry the integration marker and clean up like the integration suite)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import (  # the integration suite's engine and cleanup
    cleanup,
    docker_api,
    engine,
    pytest_sessionfinish,
)

__all__ = ["cleanup", "docker_api", "engine", "pytest_sessionfinish"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
