"""Rendering of the reverse proxy's nginx config from its template and the upstream replicas."""

from __future__ import annotations

import re

from deployer.errors import StackError

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def upstream_servers(addresses: list[str]) -> str:
    """One `server` line per replica: `host:port` (resolved by the network's DNS) or `unix:path`.

    A replica that fails is left alone for a few seconds while nginx retries the request on
    another one.
    """
    return "\n".join(f"server {address} max_fails=1 fail_timeout=5s;" for address in addresses)


def render(template: str, source: str, *, upstream: str, addresses: list[str]) -> str:
    """Fill `{{ upstream }}` and `{{ upstream_servers }}` in an nginx config template."""
    if not addresses:
        raise StackError(source, [f"the proxy's upstream {upstream!r} has no replicas to serve"])
    values = {
        "upstream": upstream,
        "upstream_servers": upstream_servers(addresses),
    }
    unknown = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if unknown:
        raise StackError(
            source,
            [
                f"unknown placeholder {{{{ {name} }}}}; known: upstream, upstream_servers"
                for name in unknown
            ],
        )

    def fill(match: re.Match[str]) -> str:
        # A multi-line value keeps the indentation of the line its placeholder stands on.
        line_start = template.rfind("\n", 0, match.start()) + 1
        prefix = template[line_start : match.start()]
        indent = prefix if prefix.isspace() else ""
        return values[match.group(1)].replace("\n", "\n" + indent)

    return _PLACEHOLDER.sub(fill, template)
