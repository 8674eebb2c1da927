"""No input produces a traceback: any YAML document is a Stack or a StackError (exit 2)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployer.model.errors import StackError
from deployer.model.spec import Stack
from deployer.stackfile.compose_service import SERVICE_KEYS
from deployer.stackfile.load import load

# Keys real files use, so that documents reach deep into the loaders, plus anything at all.
KEYS = [
    "name", "services", "image", "build", "context", "dockerfile", "args", "command",
    "entrypoint", "env", "environment", "ports", "expose", "replicas", "depends_on", "condition",
    "service", "healthcheck", "http", "path", "port", "interval", "timeout", "retries",
    "start_period", "test", "resources", "cpus", "memory", "pids", "reservations", "limits",
    "deploy", "restart", "user", "working_dir", "read_only", "tmpfs", "cap_add", "cap_drop",
    "security_opt", "ulimits", "soft", "hard", "logging", "driver", "options", "labels",
    "stop_grace_period", "stop_signal", "init", "networks", "aliases", "volumes", "mounts",
    "source", "target", "type", "files", "content", "proxy", "upstream", "transport",
    "template", "update", "order", "parallelism", "target", "published", "protocol", "mode",
    "container_name", "env_file", "version", "external", "internal", "driver_opts", "x-extra",
    "include", "extends", "file", "secrets", "configs", "profiles", "network_mode", "extra_hosts",
    "ipam", "config", "subnet", "ipv4_address", "pull_policy", "uid", "gid", "required",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False),
    st.sampled_from(["", "web", "8080:80", "127.0.0.1:80:80", "5s", "1m30s", "512m", "nope",
                     "3000-3005", "${VAR}", "$$X", "no", "always", "tcp", "a=b", "/tmp",
                     "${X:?}", "${Y:-d}", "$", "${", "!reset", "service:web", "0440"]),
    st.text(max_size=12),
)  # fmt: skip
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=30,
)
# Every key a Compose service may have, each present or not: the loaders see all of them.
SERVICE_BODIES = st.fixed_dictionaries(
    {}, optional={key: st.one_of(SCALARS, DOCUMENTS) for key in sorted(SERVICE_KEYS | set(KEYS))}
)
STACKS = st.fixed_dictionaries(
    {
        "services": st.dictionaries(
            st.sampled_from(["web", "db", "Web.1", "x"]), SERVICE_BODIES, max_size=3
        )
    },
    optional={
        "name": SCALARS,
        "networks": DOCUMENTS,
        "volumes": DOCUMENTS,
        "include": DOCUMENTS,
        "secrets": DOCUMENTS,
        "configs": DOCUMENTS,
    },
)


def _loads_or_explains(document: Any, filename: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / filename
        path.write_text(yaml.safe_dump(document, allow_unicode=True))
        try:
            result = load(path, warn=lambda message: None)
        except StackError as error:
            assert error.exit_code == 2
            assert str(path) in str(error)
            return
        assert isinstance(result, Stack)


FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)  # fmt: skip


@FUZZ
@given(DOCUMENTS)
def test_any_yaml_document_is_a_stack_or_a_stack_error(document: Any) -> None:
    _loads_or_explains(document, "stack.yaml")


@FUZZ
@given(STACKS)
def test_any_stack_shaped_yaml_is_a_stack_or_a_stack_error(document: Any) -> None:
    _loads_or_explains(document, "stack.yaml")


@FUZZ
@given(DOCUMENTS)
def test_any_compose_document_is_a_stack_or_a_stack_error(document: Any) -> None:
    _loads_or_explains(document, "compose.yaml")


@FUZZ
@given(STACKS)
def test_any_compose_shaped_file_is_a_stack_or_a_stack_error(document: Any) -> None:
    _loads_or_explains(document, "compose.yaml")
