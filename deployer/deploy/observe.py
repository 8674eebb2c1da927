"""Reading a stack's live state from the engine: its objects by label, and the proxy's routes."""

from __future__ import annotations

from deployer.core import labels
from deployer.core.state import ContainerInfo, ObservedState, Route, parse_routes
from deployer.engine import Engine
from deployer.model.errors import DeployerError

# Run inside a socket proxy: one line per slot link, "slot-N.sock TARGET live|dangling".
_LIST_ROUTES = r"""
cd "$1" 2>/dev/null || exit 0
for slot in slot-*.sock; do
  [ -L "$slot" ] || continue
  if [ -S "$slot" ]; then state=live; else state=dangling; fi
  printf '%s %s %s\n' "$slot" "$(readlink "$slot")" "$state"
done
"""


def observe(engine: Engine, stack: str) -> ObservedState:
    selector = labels.stack_filter(stack)
    found = sorted(engine.containers(selector), key=lambda c: c.name)
    containers = [c for c in found if labels.ONE_OFF not in c.labels]
    return ObservedState(
        stack=stack,
        containers=containers,
        one_offs=[c for c in found if labels.ONE_OFF in c.labels],
        networks=sorted(engine.networks(selector), key=lambda n: n.name),
        volumes=sorted(engine.volumes(selector), key=lambda v: v.name),
        routes=_routes(engine, containers),
    )


def _routes(engine: Engine, containers: list[ContainerInfo]) -> dict[str, dict[int, Route]]:
    """The slot links as a running socket proxy sees them (one exec per upstream)."""
    found: dict[str, dict[int, Route]] = {}
    for proxy in containers:
        upstream = proxy.labels.get(labels.ROUTES)
        if not upstream or upstream in found or proxy.state != "running":
            continue
        command = ["sh", "-c", _LIST_ROUTES, "routes", labels.SOCKET_DIR]
        try:
            code, output = engine.exec(proxy.id, command)
        except DeployerError:
            continue  # the proxy stopped meanwhile: its routes are unknown, not broken
        if code == 0:
            found[upstream] = parse_routes(output)
    return found
