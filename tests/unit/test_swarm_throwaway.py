"""A throwaway on the test cluster: its published ports moved to free ports of the edge node."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.cluster.lifecycle import Cluster
from deployer.model.errors import DeployFailed
from deployer.stackfile.load import load
from deployer.testing.on_swarm import on_the_edge

ROOT = Path(__file__).parents[2]
EDGE = {8080: 18080, 8081: 18081}
CLUSTER = Cluster("tcp://127.0.0.1:23750", "127.0.0.1:15000", [], edge_ports=EDGE)


def test_published_ports_go_to_edge_ports_no_other_stack_uses() -> None:
    stack = load(ROOT / "stack.py")
    moved, urls = on_the_edge(stack, CLUSTER, in_use={8080})
    assert [(p.host, p.container) for p in moved.service("nginx").ports] == [(8081, 80)]
    assert urls == {("nginx", 80): "http://127.0.0.1:18081"}
    assert moved.service("web").ports == stack.service("web").ports == ()


def test_no_free_edge_port_is_an_error_that_says_how_to_get_more() -> None:
    with pytest.raises(DeployFailed, match=r"nginx:80 .*\[8080, 8081\]") as raised:
        on_the_edge(load(ROOT / "stack.py"), CLUSTER, in_use={8080, 8081})
    assert raised.value.hint is not None and "--publish" in raised.value.hint
