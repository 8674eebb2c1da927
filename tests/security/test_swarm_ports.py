"""Audit finding 6: a port that is private on one engine must not turn public on a swarm."""

from __future__ import annotations

import pytest

from deployer.model.errors import StackError
from deployer.model.spec import Port, Service, Stack
from deployer.stackfile.load import load
from deployer.targets.swarm import apply as swarm
from tests.integration.conftest import ROOT


def test_the_default_loopback_port_is_refused_on_a_swarm_naming_the_port() -> None:
    stack = load(ROOT / "stack.py")
    notes: list[object] = []
    with pytest.raises(StackError) as refused:
        swarm.validate(stack, 3, notes.append)
    assert refused.value.exit_code == 2
    (problem,) = refused.value.problems
    assert problem.startswith("services.nginx.ports.0: 127.0.0.1:8080:80 cannot be kept on a Swarm")
    assert '"0.0.0.0:8080:80"' in problem


@pytest.mark.parametrize("host_ip", ["127.0.0.1", "10.0.0.5", "::1"])
def test_any_address_but_every_address_is_refused(host_ip: str) -> None:
    stack = Stack(
        name="s",
        services=[Service(name="web", image="w", ports=[Port(container=80, host_ip=host_ip)])],
    )
    with pytest.raises(StackError, match=r"services\.web\.ports\.0: "):
        swarm.validate(stack, 1, print)


def test_a_port_that_says_0_0_0_0_is_published_and_not_noted() -> None:
    stack = Stack(
        name="s",
        services=[Service(name="web", image="w", ports=["0.0.0.0:8080:80"])],
    )
    notes: list[object] = []
    swarm.validate(stack, 3, notes.append)
    assert not any("host_ip" in str(note) for note in notes)
