"""Live control of the nginx proxies in front of a service while its replicas change.

Two transports (spec.Proxy):
- tcp: the upstream lists replicas by name; membership changes rewrite the config and reload
  nginx gracefully, then wait for exactly the retired workers to finish (by process id).
- socket: the upstream lists one stable unix socket path per replica slot, each a symlink in a
  shared volume. Replacing a replica re-points its slot's symlink atomically: no reload, so no
  client connection is ever closed. Only a change in the number of slots reloads.
"""

from __future__ import annotations

import time

from deployer.core import labels
from deployer.core.events import Drained, ProxyReloaded, Report, SlotSwapped, Warning
from deployer.core.state import ContainerInfo, ObservedState, replica_of
from deployer.engine import Engine
from deployer.model.errors import DeployFailed
from deployer.model.spec import Service
from deployer.targets.engine.desired import DesiredStack, upstream_addresses

Member = tuple[int, str]  # (replica, container name)

# $1: config path, $2: new content. Prints the pids of the workers that the reload retires.
_RELOAD = r"""
set -e
old=""
for dir in /proc/[0-9]*; do
  if grep -qa "nginx: worker process" "$dir/cmdline" 2>/dev/null; then old="$old ${dir#/proc/}"; fi
done
printf '%s' "$2" > "$1.next"
if ! nginx -t -q -c "$1.next" 2>&1; then rm -f "$1.next"; exit 1; fi
mv "$1.next" "$1"
nginx -s reload
echo "$old"
"""
_ALIVE = 'for pid in "$@"; do if [ -d "/proc/$pid" ]; then echo "$pid"; fi; done'
_READ = 'cat "$1"'
_WRITE = 'printf "%s" "$2" > "$1.next" && mv "$1.next" "$1"'
# $1: the replica's own socket, $2: its slot's path. Run inside the replica (it has the volume).
_LINK = r"""
if [ ! -S "$1" ]; then echo "nothing listens on $1"; exit 3; fi
ln -sfn "${1##*/}" "$2.next" && mv -fT "$2.next" "$2"
"""
POLL_SECONDS = 0.1


class Upstream:
    """The running proxies whose upstream is one service (often none)."""

    def __init__(
        self,
        engine: Engine,
        desired: DesiredStack,
        service: Service,
        observed: ObservedState,
        report: Report,
    ) -> None:
        self.engine = engine
        self.desired = desired
        self.report = report
        self.sockets = desired.stack.socket_proxy_of(service.name) is not None
        # Proxies start after their upstream (they depend on it), so what was observed before
        # this deploy began is what runs while the upstream changes.
        self.proxies: list[tuple[Service, ContainerInfo]] = [
            (proxy, live)
            for proxy in desired.stack.proxies_of(service.name)
            for live in observed.service_containers(proxy.name)
            if live.state == "running"
        ]
        # What each proxy was last loaded with, as far as deployer knows. A slot stays in the
        # config while its replica is stopped (by `docker stop`, say); a name would not.
        loaded = [
            (replica_of(c), c.name)
            for c in observed.service_containers(service.name)
            if c.state == "running" or self.sockets
        ]
        self.loaded = {live.id: upstream_addresses(proxy, loaded) for proxy, live in self.proxies}

    def link(self, replica: int, container_id: str, socket: str) -> None:
        """Point a replica slot at `socket` (socket transport only): new connections go there."""
        if not self.sockets:
            return
        slot = labels.slot_path(replica)
        code, output = self.engine.exec(container_id, ["sh", "-c", _LINK, "link", socket, slot])
        if code != 0:
            raise DeployFailed(
                f"cannot route slot {replica} to {socket}: {output.strip()}",
                hint=f"the service must also listen on the unix socket named by "
                f"${labels.SOCKET_ENV} (mode 0666), or its proxy must use transport='tcp'",
            )
        self.report(SlotSwapped(replica, socket.rsplit("/", 1)[-1]))

    def serve(self, members: list[Member], drain_timeout: float) -> None:
        """Make `members` the upstream of every proxy; reload only where that changes it."""
        retired = [
            (live, output.split()) for live, output in self._rewrite(members, _RELOAD, "reload")
        ]
        for live, pids in retired:
            self.report(ProxyReloaded(live.name, tuple(self.loaded[live.id])))
            self._drain(live, pids, drain_timeout)

    def _rewrite(
        self, members: list[Member], script: str, verb: str
    ) -> list[tuple[ContainerInfo, str]]:
        """Run `script` with the new config in every proxy whose upstream `members` change."""
        done = []
        for proxy, live in self.proxies:
            assert proxy.proxy is not None
            addresses = upstream_addresses(proxy, members)
            if addresses == self.loaded.get(live.id):
                continue
            content = self.desired.proxy_config(proxy, members)
            command = ["sh", "-c", script, verb, labels.PROXY_CONFIG, content]
            code, output = self.engine.exec(live.id, command)
            if code != 0:
                raise DeployFailed(
                    f"{verb} of {live.name}'s config (upstream {', '.join(addresses)}) failed:\n"
                    + output.strip()
                )
            self.loaded[live.id] = addresses
            done.append((live, output))
        return done

    def _drain(self, live: ContainerInfo, pids: list[str], timeout: float) -> None:
        started = time.monotonic()
        deadline = started + timeout
        while pids and time.monotonic() < deadline:
            code, output = self.engine.exec(live.id, ["sh", "-c", _ALIVE, "alive", *pids])
            if code != 0:  # cannot tell which workers live: say so, and go on as if drained
                self.report(Warning(f"{live.name}: cannot check its old workers: {output}"))
                break
            pids = output.split()
            if pids:
                time.sleep(POLL_SECONDS)
        self.report(Drained(live.name, time.monotonic() - started, complete=not pids))

    def rename(self, members: list[Member]) -> None:
        """Same containers under new names: rewrite the config on disk, without a reload.

        The running nginx resolved those containers' addresses already; the file is what a
        restarted nginx reads, so it must name containers that exist.
        """
        self._rewrite(members, _WRITE, "write")

    def ensure(self, members: list[Member], drain_timeout: float) -> None:
        """Rewrite and reload the proxies whose config on disk does not serve `members`.

        Also fixes a config that still names containers that were renamed since.
        """
        for proxy, live in self.proxies:
            assert proxy.proxy is not None
            wanted = self.desired.proxy_config(proxy, members)
            read = ["sh", "-c", _READ, "read", labels.PROXY_CONFIG]
            code, current = self.engine.exec(live.id, read)
            if code != 0 or current != wanted:  # unreadable counts as stale: write it again
                self.loaded.pop(live.id, None)
        self.serve(members, drain_timeout)
