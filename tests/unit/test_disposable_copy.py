"""A throwaway's copy of a stack: fast probes unless a benchmark asks for the stack's own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from deployer.core.state import ServiceImage
from deployer.model.spec import Stack
from deployer.stackfile.load import load
from deployer.testing.stacks import FAST_PROBE, disposable_copy

ROOT = Path(__file__).parents[2]


def _copy(fast_probes: bool) -> tuple[Stack, Stack]:
    stack = load(ROOT / "stack.py")
    built = {s.name: ServiceImage(f"{s.name}:test", f"sha256:{s.name}") for s in stack.services}
    return stack, disposable_copy(stack, "session-1", built, fast_probes)


def test_a_copy_probes_every_half_second_by_default() -> None:
    stack, copy = _copy(fast_probes=True)
    for service in copy.services:
        assert service.healthcheck is not None
        assert service.healthcheck.interval == FAST_PROBE
    own = stack.service("web").healthcheck
    assert own is not None and own.interval == timedelta(seconds=2)


def test_a_copy_for_a_benchmark_keeps_the_stacks_own_probe_intervals() -> None:
    stack, copy = _copy(fast_probes=False)
    for service in copy.services:
        assert service.healthcheck == stack.service(service.name).healthcheck
    assert copy.name != stack.name and copy.service("web").image == "web:test"
