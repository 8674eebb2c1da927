"""The remote test bed's server: a machine as a container, running dockerd and sshd.

It stands in for the one server a user outgrows their laptop onto: deployer reaches its engine
only through `ssh://deploy@...` (sshd at its defaults, MaxSessions 10 among them), as user
`deploy` in the `docker` group, with a key generated for the test session. sshd is published on
the host's loopback only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from deployer import api
from deployer.cluster.testbed import MACHINE_PRIVILEGES, MACHINE_SETUP, NODE_IMAGE
from deployer.core.events import quiet
from deployer.engine.docker_engine import DockerEngine
from deployer.images import bases
from deployer.model.spec import File, Healthcheck, Mount, Port, Service, Stack, Volume

SSH_USER = "deploy"
OUTSIDER = "outsider"  # a user of the server outside its docker group
ENTRYPOINT = "/usr/local/sbin/deployer-server"
KEYS = "/etc/deployer-server/authorized_keys"

# As a test cluster's node: what `--privileged` would give, piecewise (this host refuses it).
_ENTRYPOINT = (
    MACHINE_SETUP
    + f"""\
# Host keys of its own, made at its first start (the image's are every copy's).
if [ ! -e /etc/ssh/.made-here ]; then
  rm -f /etc/ssh/ssh_host_*
  ssh-keygen -A
  touch /etc/ssh/.made-here
fi
id {SSH_USER} >/dev/null 2>&1 || useradd --create-home --shell /bin/sh --groups docker {SSH_USER}
# Another user with the same key, outside the docker group: sshd lets it in, Docker does not.
id {OUTSIDER} >/dev/null 2>&1 || useradd --create-home --shell /bin/sh {OUTSIDER}
for user in {SSH_USER} {OUTSIDER}; do
  install -d -m 700 -o "$user" -g "$user" /home/"$user"/.ssh
  install -m 600 -o "$user" -g "$user" {KEYS} /home/"$user"/.ssh/authorized_keys
done
mkdir -p /run/sshd
/usr/sbin/sshd
exec dockerd -H unix:///var/run/docker.sock --storage-driver overlay2
"""
)


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
                **MACHINE_PRIVILEGES,
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


ALIAS = "testserver"  # the server's name in the ssh config made for it
ROOT = Path(__file__).parents[2]


@dataclass(frozen=True)
class Server:
    stack: str  # the server's own stack on the local engine
    container: str
    port: int  # sshd, on the host's 127.0.0.1
    folder: Path
    config: Path

    @property
    def address(self) -> str:
        return f"ssh://{SSH_USER}@{ALIAS}"

    @property
    def address_by_port(self) -> str:
        """The same engine spelled another way."""
        return f"ssh://{SSH_USER}@127.0.0.1:{self.port}"

    def env(self, config: Path | None = None, **extra: str) -> dict[str, str]:
        """A deployer process's environment: DOCKER_HOST on the server, the session's ssh."""
        return {
            **os.environ, "DOCKER_HOST": self.address, "CI": "true",
            "DEPLOYER_SSH_CONFIG": str(config or self.config), **extra,
        }  # fmt: skip

    def deployer(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """`python -m deployer ARGS` in the project's folder, against the server."""
        return subprocess.run(
            [sys.executable, "-m", "deployer", *args], cwd=ROOT, env=env or self.env(),
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def ssh_config(self, name: str, key: Path, known_hosts: Path) -> Path:
        """An ssh config for the server with this key and these trusted host keys."""
        path = self.folder / name
        path.write_text(
            f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {self.port}\n"
            f"Host *\n  User {SSH_USER}\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n  LogLevel ERROR\n"
        )
        return path


def new_key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key


def _scan_host_key(port: int) -> str:
    found = subprocess.run(
        ["ssh-keyscan", "-p", str(port), "-t", "ed25519", "127.0.0.1"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert found.stdout.strip(), f"ssh-keyscan found no host key: {found.stderr}"
    return found.stdout


def start_server(engine: DockerEngine, folder: Path, name: str) -> Server:
    """A server (a stack `name` on the local engine) with a key and an ssh config in `folder`."""
    key = new_key(folder, "id_deployer")
    bases.bootstrap(engine, bases.BASES["node"], quiet)
    api.up(server_stack(name, key.with_suffix(".pub").read_text()), engine, quiet)
    (replica,) = api.status(name, engine)
    port = replica.ports[0].host_port
    made = Server(name, replica.id, port, folder, folder / "ssh_config")
    known = folder / "known_hosts"
    known.write_text(_scan_host_key(port))
    made.ssh_config("ssh_config", key, known)
    return made


def stop_server(engine: DockerEngine, server: Server) -> None:
    api.down(server.stack, engine, quiet, stop_timeout=0, remove_volumes=True)
