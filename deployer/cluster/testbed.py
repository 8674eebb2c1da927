"""The test cluster as a stack: N dockerd nodes and an image registry, on one bridge network.

Pure: this only describes the containers; deployer's own `up` creates them, health-gated, and
`down` removes them. deployer.cluster.form then makes a Swarm of the running nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deployer.core import labels
from deployer.model.spec import (
    File,
    Healthcheck,
    HttpProbe,
    Mount,
    Port,
    Service,
    Stack,
    UpdatePolicy,
    Volume,
)

# A node's or the registry's replacement needs its volume to itself: the old one stops first.
_ONE_AT_A_TIME = UpdatePolicy(order="stop-first")

NODE_IMAGE = "deployer/node:bookworm"
REGISTRY_IMAGE = "deployer/registry:bookworm"
NODE_API_PORT = 2375
REGISTRY_PORT = 5000
SWARM_PORT = 2377
ENTRYPOINT = "/usr/local/sbin/deployer-node"

# The node container stands in for a machine: dockerd needs what `--privileged` gives, which
# this host refuses (its capability bounding set lacks SYS_RESOURCE), so it is given piecewise.
_NODE_ENTRYPOINT = """\
#!/bin/sh
set -e
# Writable /sys and cgroups, securityfs and shared mounts: what dockerd expects of a machine.
# (A plain remount of a cgroup hierarchy is "busy"; its bind mount's flags can change.)
for path in /sys /sys/fs/cgroup /sys/fs/cgroup/*; do
  mount -o remount,rw "$path" 2>/dev/null || mount -o remount,rw,bind "$path" 2>/dev/null || true
done
mount -t securityfs none /sys/kernel/security 2>/dev/null || true
mount --make-rshared /
# A node killed and started again finds its last pid file; dockerd refuses to start over it.
rm -f /var/run/docker.pid /run/docker/containerd/containerd.pid
# The registry at the same address the host pushes to: one image reference works everywhere.
socat TCP-LISTEN:"$REGISTRY_PORT",bind=127.0.0.1,fork,reuseaddr TCP:registry:5000 &
# --tls=false: without it dockerd sleeps 15 s before listening on TCP without TLS.
exec dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2375 --tls=false \\
  --storage-driver overlay2
"""

_REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: :5000
"""


@dataclass(frozen=True)
class ClusterOptions:
    nodes: int = 3
    managers: int = 1
    # Host ports on 127.0.0.1: the first manager's Docker API and the registry.
    api_port: int = 23750
    registry_port: int = 15000
    # (host port on 127.0.0.1, port on the edge node): how the host reaches published services.
    # Several, so that throwaway stacks can run beside a stack that publishes 8080.
    publish: tuple[tuple[int, int], ...] = field(
        default=tuple((18080 + offset, 8080 + offset) for offset in range(4))
    )

    @property
    def docker_host(self) -> str:
        return f"tcp://127.0.0.1:{self.api_port}"

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.registry_port}"


def node_name(index: int) -> str:
    return f"node{index}"


def cluster_stack(options: ClusterOptions) -> Stack:
    nodes = [_node(index, options) for index in range(1, options.nodes + 1)]
    volumes = [Volume(name=f"{node.name}-docker") for node in nodes]
    return Stack(
        name=labels.CLUSTER_STACK,
        services=(*nodes, _registry(options)),
        volumes=(*volumes, Volume(name="registry-data")),
    )


def _node(index: int, options: ClusterOptions) -> Service:
    name = node_name(index)
    ports: list[Port] = []
    if index == 1:  # the first manager: the API the host drives, and the edge's ports
        ports.append(Port(host=options.api_port, container=NODE_API_PORT))
        ports += [Port(host=host, container=node) for host, node in options.publish]
    return Service(
        name=name,
        image=NODE_IMAGE,
        command=("sh", ENTRYPOINT),
        hostname=name,
        env={"REGISTRY_PORT": str(options.registry_port)},
        files=(File(path=ENTRYPOINT, content=_NODE_ENTRYPOINT, mode=0o755),),
        mounts=(Mount(type="volume", source=f"{name}-docker", target="/var/lib/docker"),),
        ports=tuple(ports),
        cap_add=("ALL",),
        cap_drop=("SYS_RESOURCE",),
        security_opt=("seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"),
        device_cgroup_rules=("a *:* rwm",),
        healthcheck=Healthcheck(
            command=("docker", "version"),
            interval="1s",
            timeout="3s",
            retries=3,
            start_period="60s",
        ),
        init=True,
        stop_grace_period="15s",
        update=_ONE_AT_A_TIME,
    )


def _registry(options: ClusterOptions) -> Service:
    return Service(
        name="registry",
        image=REGISTRY_IMAGE,
        files=(File(path="/etc/docker/registry/config.yml", content=_REGISTRY_CONFIG),),
        mounts=(Mount(type="volume", source="registry-data", target="/var/lib/docker-registry"),),
        ports=(Port(host=options.registry_port, container=REGISTRY_PORT),),
        healthcheck=Healthcheck(
            http=HttpProbe(path="/v2/", port=REGISTRY_PORT),
            interval="1s",
            timeout="2s",
            retries=3,
            start_period="20s",
        ),
        init=True,
        update=_ONE_AT_A_TIME,
    )
