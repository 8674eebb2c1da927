"""The remote test bed's server: a machine as a container, running dockerd and sshd.

It stands in for the one server a user outgrows their laptop onto: deployer reaches its engine
only through `ssh://deploy@...` (sshd at its defaults, MaxSessions 10 among them), as user
`deploy` in the `docker` group, with a key generated for the test session. sshd is published on
the host's loopback only.
"""

from __future__ import annotations

from deployer.cluster.testbed import NODE_IMAGE
from deployer.model.spec import File, Healthcheck, Mount, Port, Service, Stack, Volume

SSH_USER = "deploy"
ENTRYPOINT = "/usr/local/sbin/deployer-server"
KEYS = "/etc/deployer-server/authorized_keys"

# As a test cluster's node: what `--privileged` would give, piecewise (this host refuses it).
_ENTRYPOINT = f"""\
#!/bin/sh
set -e
for path in /sys /sys/fs/cgroup /sys/fs/cgroup/*; do
  mount -o remount,rw "$path" 2>/dev/null || mount -o remount,rw,bind "$path" 2>/dev/null || true
done
mount -t securityfs none /sys/kernel/security 2>/dev/null || true
mount --make-rshared /
rm -f /var/run/docker.pid /run/docker/containerd/containerd.pid
# Host keys of its own, made at its first start (the image's are every copy's).
if [ ! -e /etc/ssh/.made-here ]; then
  rm -f /etc/ssh/ssh_host_*
  ssh-keygen -A
  touch /etc/ssh/.made-here
fi
id {SSH_USER} >/dev/null 2>&1 || useradd --create-home --shell /bin/sh --groups docker {SSH_USER}
install -d -m 700 -o {SSH_USER} -g {SSH_USER} /home/{SSH_USER}/.ssh
install -m 600 -o {SSH_USER} -g {SSH_USER} {KEYS} /home/{SSH_USER}/.ssh/authorized_keys
mkdir -p /run/sshd
/usr/sbin/sshd
exec dockerd -H unix:///var/run/docker.sock --storage-driver overlay2
"""


def server_stack(name: str, public_key: str) -> Stack:
    return Stack(
        name=name,
        services=(
            Service(
                name="server",
                image=NODE_IMAGE,
                command=("sh", ENTRYPOINT),
                hostname="server",
                files=(
                    File(path=ENTRYPOINT, content=_ENTRYPOINT, mode=0o755),
                    File(path=KEYS, content=public_key, mode=0o644),
                ),
                mounts=(Mount(type="volume", source="docker", target="/var/lib/docker"),),
                ports=(Port(container=22, host=0, host_ip="127.0.0.1"),),
                cap_add=("ALL",),
                cap_drop=("SYS_RESOURCE",),
                security_opt=(
                    "seccomp=unconfined",
                    "apparmor=unconfined",
                    "systempaths=unconfined",
                ),
                device_cgroup_rules=("a *:* rwm",),
                healthcheck=Healthcheck(
                    command=("sh", "-c", "docker version >/dev/null && pgrep -x sshd >/dev/null"),
                    interval="1s",
                    timeout="3s",
                    retries=3,
                    start_period="60s",
                ),
                init=True,
                stop_grace_period="15s",
            ),
        ),
        volumes=(Volume(name="docker"),),
    )
