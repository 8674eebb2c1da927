"""The test cluster as a stack: N dockerd nodes and an image registry, on one bridge network.

Pure: this only describes the containers; deployer's own `up` creates them, health-gated, and
`down` removes them. deployer.cluster.form then makes a Swarm of the running nodes.

A node's Docker API is root on the host (a node runs with nearly every capability), so no node
listens on TCP: the first manager's API is a unix socket in a host folder only its user can
enter (0700, bind-mounted), and the registry asks for a password (htpasswd) that only the
cluster's user holds.
"""

from __future__ import annotations

from typing import Any

from deployer.cluster.options import API_SOCKET, ClusterOptions
from deployer.core import labels
from deployer.model.spec import (
    File,
    Healthcheck,
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
REGISTRY_PORT = 5000
# Where node1's API socket is inside it; the host folder mounted there is ClusterOptions.api_dir.
NODE_API_DIR = "/run/deployer-api"
REGISTRY_USER = "deployer"
_HTPASSWD = "/etc/docker/registry/htpasswd"
SWARM_PORT = 2377
ENTRYPOINT = "/usr/local/sbin/deployer-node"

# The node container stands in for a machine: dockerd needs what `--privileged` gives, which
# this host refuses (its capability bounding set lacks SYS_RESOURCE), so it is given piecewise
# (MACHINE_PRIVILEGES), and MACHINE_SETUP makes the container look like a machine to dockerd.
MACHINE_SETUP = """\
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
"""
MACHINE_PRIVILEGES: dict[str, Any] = {
    "cap_add": ("ALL",),
    "cap_drop": ("SYS_RESOURCE",),
    "security_opt": ("seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"),
    "device_cgroup_rules": ("a *:* rwm",),
}
_NODE_ENTRYPOINT = (
    MACHINE_SETUP
    + """\
# The registry at the same address the host pushes to: one image reference works everywhere.
socat TCP-LISTEN:"$REGISTRY_PORT",bind=127.0.0.1,fork,reuseaddr TCP:registry:5000 &
# No TCP listener: the host reaches the first manager's API through a socket in a private
# folder it mounts ($API_SOCKET); the others only through the swarm.
exec dockerd -H unix:///var/run/docker.sock ${API_SOCKET:+-H unix://$API_SOCKET} \\
  --storage-driver overlay2
"""
)

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
auth:
  htpasswd:
    realm: deployer-cluster
    path: /etc/docker/registry/htpasswd
"""


_REGISTRY_PROBE = (
    "exec 3<>/dev/tcp/127.0.0.1/5000 && printf 'GET /v2/ HTTP/1.0\\r\\n\\r\\n' >&3 && "
    "read -r status <&3 && [[ $status == *' 401 '* ]]"
)


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
    env = {"REGISTRY_PORT": str(options.registry_port)}
    mounts = [Mount(type="volume", source=f"{name}-docker", target="/var/lib/docker")]
    if index == 1:  # the first manager: the API the host drives, and the edge's ports
        ports += [Port(host=host, container=node) for host, node in options.publish]
        mounts.append(Mount(type="bind", source=options.api_dir, target=NODE_API_DIR))
        env["API_SOCKET"] = f"{NODE_API_DIR}/{API_SOCKET}"
    return Service(
        name=name,
        image=NODE_IMAGE,
        command=("sh", ENTRYPOINT),
        hostname=name,
        env=env,
        files=(File(path=ENTRYPOINT, content=_NODE_ENTRYPOINT, mode=0o755),),
        mounts=tuple(mounts),
        ports=tuple(ports),
        **MACHINE_PRIVILEGES,
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
        files=(
            File(path="/etc/docker/registry/config.yml", content=_REGISTRY_CONFIG),
            File(path=_HTPASSWD, content=options.registry_htpasswd, mode=0o644),
        ),
        mounts=(Mount(type="volume", source="registry-data", target="/var/lib/docker-registry"),),
        ports=(Port(host=options.registry_port, container=REGISTRY_PORT),),
        healthcheck=Healthcheck(
            # Up and asking for the password: 401 is its healthy answer without one.
            command=("bash", "-c", _REGISTRY_PROBE),
            interval="1s",
            timeout="2s",
            retries=3,
            start_period="20s",
        ),
        init=True,
        update=_ONE_AT_A_TIME,
    )
