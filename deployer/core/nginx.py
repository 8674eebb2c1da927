"""Rendering of the reverse proxy's nginx config from its template and the upstream replicas."""

from __future__ import annotations

import re

from deployer.model.errors import StackError
from deployer.model.spec import RateLimit

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def upstream_servers(addresses: list[str]) -> str:
    """One `server` line per replica: `host:port` (resolved by the network's DNS) or `unix:path`.

    A replica that fails is left alone for a few seconds while nginx retries the request on
    another one.
    """
    return "\n".join(f"server {address} max_fails=1 fail_timeout=5s;" for address in addresses)


PLACEHOLDERS = (
    "upstream", "upstream_servers", "limit_req_zone", "limit_req", "max_body_size",
    "metrics_access",
)  # fmt: skip


def unknown_placeholders(template: str) -> list[str]:
    """The `{{ names }}` a template uses that render() does not fill."""
    return sorted(set(_PLACEHOLDER.findall(template)) - set(PLACEHOLDERS))


def render(
    template: str,
    source: str,
    *,
    upstream: str,
    addresses: list[str],
    rate_limit: RateLimit | None = None,
    max_body_size: str = "10m",
    public_metrics: bool = False,
) -> str:
    """Fill the `{{ placeholders }}` of an nginx config template.

    upstream, upstream_servers: the upstream's name and one `server` line per replica.
    limit_req_zone (http level), limit_req (server or location level): the rate limit, or
    nothing when it is off. max_body_size: for client_max_body_size. metrics_access: inside a
    `location = /metrics` block, `return 404;` unless the stack makes its metrics public.
    """
    if not addresses:
        raise StackError(source, [f"the proxy's upstream {upstream!r} has no replicas to serve"])
    values = {
        "upstream": upstream,
        "upstream_servers": upstream_servers(addresses),
        "limit_req_zone": (
            "limit_req_zone $binary_remote_addr zone=per_client:10m "
            f"rate={rate_limit.per_second}r/s;"
            if rate_limit else "# no rate limit"
        ),
        "limit_req": (
            f"limit_req zone=per_client burst={rate_limit.burst} nodelay;\nlimit_req_status 429;"
            if rate_limit else "# no rate limit"
        ),
        "max_body_size": max_body_size,
        # In a `location = /metrics` block: pass it on, or answer 404 as if there were none.
        "metrics_access": "# public: Proxy(public_metrics=True)" if public_metrics
        else "return 404;",
    }  # fmt: skip
    unknown = unknown_placeholders(template)
    if unknown:
        raise StackError(
            source,
            [
                f"unknown placeholder {{{{ {name} }}}}; known: {', '.join(PLACEHOLDERS)}"
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
