"""Every example deploys, answers through its front door, and goes away. So do the Compose files
of seeds 000, 002 and 004 (adjusted only for this host: see each file's header)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer import load_stack
from deployer.core import labels
from deployer.engine.docker_engine import DockerEngine
from deployer.testing import Throwaway, throwaway
from tests.integration.conftest import ROOT

EXAMPLES = ROOT / "examples"
CASES = [
    ("minimal/stack.py", "web", "/", "Hello Docker World!"),
    ("production/stack.py", "nginx", "/", "Hello Production Docker World!"),
    ("production/docker-compose.yml", "nginx", "/", "Hello Production Docker World!"),
    ("hardened/stack.py", "web", "/test", "ok"),
    ("hardened/docker-compose.yaml", "web", "/test", "ok"),
    ("uwsgi/stack.py", "nginx", "/", "Hello from MyFlaskApp running in a Docker container"),
    (
        "uwsgi/docker-compose.yml",
        "nginx",
        "/",
        "Hello from MyFlaskApp running in a Docker container",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def remove_built_images(engine: DockerEngine) -> Iterator[None]:
    """The examples' images are built once for the module and removed after it."""
    yield
    names = {load_stack(EXAMPLES / path, warn=lambda _: None).name for path, *_ in CASES}
    for name in names:
        for tag in engine.images(labels.image_filter(name)):
            engine.remove_image(tag)


def get(shop: Throwaway, service: str, path: str) -> str:
    """GET through the front door. The seeds' Compose files define no healthcheck for it, so
    "running" is all deployer can wait for: give it a few seconds to listen."""
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(shop.url(service) + path, timeout=10) as response:
                assert response.status == 200
                return str(response.read().decode())
        except (ConnectionError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize(("path", "front", "route", "expected"), CASES, ids=[c[0] for c in CASES])
def test_example_serves_through_its_front_door(
    path: str, front: str, route: str, expected: str, engine: DockerEngine
) -> None:
    with throwaway(EXAMPLES / path, engine=engine) as shop:
        assert expected in get(shop, front, route)


def test_production_counts_requests_in_its_metrics(engine: DockerEngine) -> None:
    with throwaway(EXAMPLES / "production/stack.py", engine=engine) as shop:
        for _ in range(3):
            get(shop, "nginx", "/")
        metrics = get(shop, "nginx", "/metrics")
        # nine workers, each with its own counter (seed 000 has no multiprocess mode): the
        # scrape shows the one worker that answered it
        assert "http_requests_total" in metrics


def test_hardened_writes_json_access_logs_to_its_logs_volume(engine: DockerEngine) -> None:
    with throwaway(EXAMPLES / "hardened/stack.py", engine=engine) as shop:
        get(shop, "web", "/test")
        # The whole log: a healthcheck's request may land after ours.
        code, output = shop.exec("web", ["cat", "/app/logs/access.log"])
        assert code == 0
        assert '"request_path": "/test", "status_code": 200' in output
        code, _ = shop.exec("web", ["touch", "/app/not-here"])
        assert code != 0  # read-only root


def test_compose_import_writes_a_stack_that_deploys(tmp_path: Path, engine: DockerEngine) -> None:
    from tests.integration.conftest import cli

    target = EXAMPLES / "uwsgi" / "imported_stack.py"
    try:
        result = cli("import", str(EXAMPLES / "uwsgi/docker-compose.yml"), "-o", str(target))
        assert result.returncode == 0, result.stderr
        assert "Service(" in target.read_text()
        with throwaway(target, engine=engine) as shop:
            assert "Hello from MyFlaskApp" in get(shop, "nginx", "/")
    finally:
        target.unlink(missing_ok=True)
