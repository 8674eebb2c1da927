"""A page that needs an engine counts as an integration test."""

from __future__ import annotations

import pytest

from tests.docs.test_docs import needs


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        page = callspec.params.get("page") if callspec else None
        if page is not None and needs(page, "engine"):
            item.add_marker(pytest.mark.integration)
