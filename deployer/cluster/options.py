"""How the local test cluster is shaped: plain settings, read by `cluster up`'s options without
loading the models its stack is made of."""

from __future__ import annotations

from dataclasses import dataclass, field

API_SOCKET = "docker.sock"  # node1's API socket, in ClusterOptions.api_dir on the host


@dataclass(frozen=True)
class ClusterOptions:
    nodes: int = 3
    managers: int = 1
    # A private host folder (0700) for the first manager's API socket: set by cluster.lifecycle.
    api_dir: str = "/run/deployer/cluster"
    # The registry's htpasswd line (bcrypt): its password is in the cluster user's own files.
    registry_htpasswd: str = ""
    # Host port on 127.0.0.1 of the registry (which asks for the password).
    registry_port: int = 15000
    # (host port on 127.0.0.1, port on the edge node): how the host reaches published services.
    # Several, so that throwaway stacks can run beside a stack that publishes 8080.
    publish: tuple[tuple[int, int], ...] = field(
        default=tuple((18080 + offset, 8080 + offset) for offset in range(4))
    )

    @property
    def docker_host(self) -> str:
        return f"unix://{self.api_dir}/{API_SOCKET}"

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.registry_port}"
