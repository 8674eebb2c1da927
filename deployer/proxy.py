"""Live control of the nginx proxies in front of a service: rewrite the upstream, reload, drain.

nginx reloads gracefully: new workers take the new upstream, old workers finish their in-flight
requests and exit. Draining waits for exactly those old workers, by process id.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from deployer.desired import DesiredStack
from deployer.engine import ContainerInfo, Engine
from deployer.errors import DeployFailed
from deployer.observe import ObservedState
from deployer.spec import Service

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
POLL_SECONDS = 0.1


class Upstream:
    """The running proxies whose upstream is one service (often none)."""

    def __init__(
        self,
        engine: Engine,
        desired: DesiredStack,
        service: Service,
        observed: ObservedState,
        report: Callable[[str], None],
    ) -> None:
        self.engine = engine
        self.desired = desired
        self.report = report
        # Proxies are started after their upstream (they depend on it), so what was observed
        # before this deploy began is what runs while the upstream changes.
        self.proxies: list[tuple[Service, ContainerInfo]] = [
            (proxy, live)
            for proxy in desired.stack.proxies_of(service.name)
            for live in observed.service_containers(proxy.name)
            if live.state == "running"
        ]

    def __bool__(self) -> bool:
        return bool(self.proxies)

    def serve(
        self,
        hosts: list[str],
        drain_timeout: float,
        only: list[tuple[Service, ContainerInfo]] | None = None,
    ) -> None:
        """Make `hosts` the upstream of every proxy, then wait until retired workers are gone."""
        retired: list[tuple[ContainerInfo, list[str]]] = []
        for proxy, live in self.proxies if only is None else only:
            assert proxy.proxy is not None
            content = self.desired.proxy_config(proxy, sorted(hosts))
            command = ["sh", "-c", _RELOAD, "reload", proxy.proxy.config_path, content]
            code, output = self.engine.exec(live.id, command)
            if code != 0:
                raise DeployFailed(
                    f"reloading {live.name} with upstream {', '.join(sorted(hosts))} failed:\n"
                    + output.strip()
                )
            retired.append((live, output.split()))
        self.report(f"proxy upstream: {', '.join(sorted(hosts))}")
        for live, pids in retired:
            self._drain(live, pids, drain_timeout)

    def _drain(self, live: ContainerInfo, pids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            _, output = self.engine.exec(live.id, ["sh", "-c", _ALIVE, "alive", *pids])
            pids = output.split()
            if pids:
                time.sleep(POLL_SECONDS)
        if pids:
            self.report(f"{live.name}: old workers still busy after {timeout:.0f}s; going on")

    def ensure(self, hosts: list[str], drain_timeout: float) -> None:
        """Reload only the proxies whose config does not list exactly `hosts`."""
        stale = []
        for proxy, live in self.proxies:
            assert proxy.proxy is not None
            wanted = self.desired.proxy_config(proxy, sorted(hosts))
            _, current = self.engine.exec(
                live.id, ["sh", "-c", _READ, "read", proxy.proxy.config_path]
            )
            if current != wanted:
                stale.append((proxy, live))
        if stale:
            self.serve(hosts, drain_timeout, only=stale)
