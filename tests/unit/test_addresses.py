"""Where `up` and `status` say a published port is reached from: here, or a server."""

from __future__ import annotations

import pytest

from deployer.core.state import PublishedPort
from deployer.core.status import ReplicaStatus, addresses


def row(service: str, host_ip: str, port: int) -> ReplicaStatus:
    return ReplicaStatus(
        stack="shop", service=service, replica=1, container=f"shop-{service}-1", id="c0ffee",
        state="running", health="healthy", image="x:1", restart_count=0, uptime_seconds=1.0,
        ports=[PublishedPort(host_ip=host_ip, host_port=port, container_port=80, protocol="tcp")],
    )  # fmt: skip


def test_a_local_engines_ports_are_here() -> None:
    (found,) = addresses([row("nginx", "127.0.0.1", 8080)], "unix:///var/run/docker.sock")
    assert (found.url, found.server, found.hint) == ("http://127.0.0.1:8080", None, "")
    assert found.text() == "nginx: http://127.0.0.1:8080"


def test_a_servers_loopback_port_comes_with_the_ssh_forward_that_reaches_it() -> None:
    (found,) = addresses([row("nginx", "127.0.0.1", 8080)], "ssh://deploy@example.com:2222")
    assert found.url == "http://127.0.0.1:8080" and found.server == "example.com"
    assert "`ssh -N -L 8080:127.0.0.1:8080 -p 2222 deploy@example.com`" in found.hint
    assert found.text().startswith("nginx: http://127.0.0.1:8080 on example.com (its loopback")


@pytest.mark.parametrize("everywhere", ["0.0.0.0", ""])
def test_a_port_on_every_interface_of_a_server_is_the_servers_name(everywhere: str) -> None:
    (found,) = addresses([row("web", everywhere, 80)], "ssh://deploy@example.com")
    assert (found.url, found.hint) == ("http://example.com:80", "")


def test_a_tcp_engines_loopback_port_is_reached_from_the_server() -> None:
    (found,) = addresses([row("web", "127.0.0.1", 80)], "tcp://example.com:2376")
    assert "from the server itself" in found.hint


def test_one_address_per_service() -> None:
    rows = [row("web", "127.0.0.1", 8001), row("web", "127.0.0.1", 8002), row("db", "", 5432)]
    assert [a.service for a in addresses(rows, "")] == ["web", "db"]
