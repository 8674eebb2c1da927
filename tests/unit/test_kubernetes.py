"""Kubernetes manifests from a stack: schema-valid for two Kubernetes versions, golden files for
the default stack and seed 002's (examples/hardened), and no field dropped without a warning."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from deployer import load_stack
from deployer.cli.export import dump
from deployer.model.spec import (
    DependsOn,
    Healthcheck,
    HttpProbe,
    Logging,
    Mount,
    NetworkAttachment,
    Placement,
    Port,
    Resources,
    RollbackPolicy,
    Service,
    Stack,
    Ulimit,
    UpdatePolicy,
    Volume,
    Watch,
)
from deployer.targets.kubernetes.render import Export, Options, export

ROOT = Path(__file__).parents[2]
GOLDEN = Path(__file__).parent / "golden"
VERSIONS = ("1.30.0", "1.37.0")  # an old supported minor and the newest the schemas carry
STACKS = ["stack.py", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("examples/*/stack.py"))]


def _export(path: str, **options: Any) -> Export:
    stack = load_stack(ROOT / path)
    if options.get("proxy") == "nginx":
        proxy = next(s for s in stack.services if s.proxy is not None)
        assert proxy.proxy is not None
        options["proxy_template"] = stack.resolve(proxy.proxy.template).read_text()
    options.setdefault("stack_text", (ROOT / path).read_text())  # as the CLI passes it
    return export(stack, Options(**options))


# (stack, proxy mode): "nginx" only where the stack has a proxy to deploy as it is.
MODES = [
    (path, proxy)
    for path in STACKS
    for proxy in ("ingress", "nginx")
    if proxy == "ingress" or any(s.proxy for s in load_stack(ROOT / path).services)
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "proxy"), MODES)
def test_every_manifest_is_valid_for_kubernetes(path: str, version: str, proxy: str) -> None:
    result = _export(path, namespace="shop", image_registry="registry.local:5000", proxy=proxy)
    assert result.manifests
    for manifest in result.manifests:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_validator_rejects_what_kubernetes_would() -> None:
    manifest = _export("stack.py").manifests[0]
    manifest["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, VERSIONS[-1], strict=True)


@pytest.mark.parametrize(
    ("path", "golden"),
    [("stack.py", "kubernetes-default.yaml"), ("examples/hardened/stack.py",
                                              "kubernetes-hardened.yaml")],
)  # fmt: skip
def test_golden_manifests(path: str, golden: str) -> None:
    result = _export(path, image_registry="registry.local:5000")
    text = dump(result.manifests)
    expected = GOLDEN / golden
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(text)
    assert text == expected.read_text()


def test_seed_002_reads_like_its_own_manifests() -> None:
    kinds = [(m["kind"], m["metadata"]["name"]) for m in _export("examples/hardened/stack.py")
             .manifests]  # fmt: skip
    assert kinds == [
        ("Deployment", "web"), ("Service", "web"), ("Ingress", "web"),
        ("PersistentVolumeClaim", "hardened-logs"),
    ]  # fmt: skip
    deployment = _export("examples/hardened/stack.py").manifests[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000,
                                                      "scheme": "HTTP"}  # fmt: skip
    assert container["startupProbe"]["failureThreshold"] == 3 + 3  # 15 s start / 5 s + retries
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "256Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    tmp = deployment["spec"]["template"]["spec"]["volumes"][0]
    assert tmp["emptyDir"] == {"medium": "Memory", "sizeLimit": "100Mi"}


def test_start_first_means_no_pod_down_and_stop_first_the_reverse() -> None:
    base = Service(name="web", image="web:1", replicas=3)
    stop_first = base.model_copy(update={"update": UpdatePolicy(order="stop-first")})
    for service, expected in ((base, {"maxUnavailable": 0, "maxSurge": 1}),
                              (stop_first, {"maxUnavailable": 1, "maxSurge": 0})):  # fmt: skip
        manifest = export(Stack(name="s", services=(service,))).manifests[0]
        assert manifest["spec"]["strategy"]["rollingUpdate"] == expected


def test_command_probe_and_entrypoint() -> None:
    service = Service(
        name="worker", image="w:1", entrypoint=("python3",), command=("-m", "worker"),
        healthcheck=Healthcheck(command="test -f /tmp/ok", interval="10s"),
    )  # fmt: skip
    container = export(Stack(name="s", services=(service,))).manifests[0]["spec"]["template"][
        "spec"]["containers"][0]  # fmt: skip
    assert (container["command"], container["args"]) == (["python3"], ["-m", "worker"])
    assert container["livenessProbe"]["exec"] == {"command": ["sh", "-c", "test -f /tmp/ok"]}
    assert "startupProbe" not in container


BASELINE = Service(name="app", image="app:1")
# One non-default value per Service field deployer can be given.
VARIANTS: dict[str, dict[str, Any]] = {
    "image": {"image": "app:2"},
    "command": {"command": ("serve",)},
    "entrypoint": {"entrypoint": ("tini", "--")},
    "env": {"env": {"A": "1"}},
    "ports": {"ports": (Port(container=80, host=8080),)},
    "replicas": {"replicas": 4},
    "depends_on": {"depends_on": (DependsOn(service="db"),)},
    "healthcheck": {"healthcheck": Healthcheck(http=HttpProbe(path="/", port=80))},
    "resources": {"resources": Resources(cpus=0.5, memory="128m", pids=64)},
    "restart": {"restart": "on-failure:3"},
    "user": {"user": "1000:1000"},
    "working_dir": {"working_dir": "/srv"},
    "read_only": {"read_only": True},
    "tmpfs": {"tmpfs": {"/tmp": "size=16m"}},
    "cap_add": {"cap_add": ("NET_ADMIN",)},
    "cap_drop": {"cap_drop": ("ALL",)},
    "security_opt": {"security_opt": ("seccomp=unconfined",)},
    "ulimits": {"ulimits": {"nofile": Ulimit(soft=1024, hard=1024)}},
    "logging": {"logging": Logging(driver="json-file", max_size="1m")},
    "labels": {"labels": {"team": "shop"}},
    "stop_grace_period": {"stop_grace_period": "45s"},
    "stop_signal": {"stop_signal": "SIGINT"},
    "init": {"init": True},
    "networks": {"networks": (NetworkAttachment(name="default", aliases=("api",)),)},
    "expose": {"expose": (9000,)},
    "mounts": {"mounts": (Mount(source="data", target="/data"),)},
    "files": {"files": ({"path": "/etc/app.conf", "content": "x"},)},
    "secrets": {"secrets": ("token",)},
    "hostname": {"hostname": "api"},
    "domainname": {"domainname": "example.internal"},
    "extra_hosts": {"extra_hosts": {"db": "10.0.0.5"}},
    "shm_size": {"shm_size": "256m"},
    "sysctls": {"sysctls": {"net.core.somaxconn": "1024"}},
    "pid": {"pid": "host"},
    "ipc": {"ipc": "shareable"},
    "privileged": {"privileged": True},
    "devices": {"devices": ("/dev/fuse",)},
    "device_cgroup_rules": {"device_cgroup_rules": ("c 10:229 rwm",)},
    "mode": {"mode": "global"},
    "placement": {"placement": Placement(constraints=("node.role==worker",))},
    "group_add": {"group_add": ("audio",)},
    "network_mode": {"network_mode": "host"},
    "pull_policy": {"pull_policy": "always"},
    "mac_address": {"mac_address": "02:42:ac:11:00:02"},
    "configs": {"configs": ("settings",)},
    "update": {"update": UpdatePolicy(drain_timeout="3s")},
    "rollback": {"rollback": RollbackPolicy(order="stop-first")},
    "watch": {"watch": (Watch(path="src", action="sync", target="/app"),)},
}
UNREPRESENTED = {"name", "build", "proxy"}  # identity; covered by image and the proxy tests


def _render(service: Service) -> tuple[str, list[str]]:
    stack = Stack(
        name="s",
        services=(service, Service(name="db", image="db:1")),
        volumes=(Volume(name="data"),),
    )
    result = export(stack)
    return dump(result.manifests), result.warnings


def test_every_field_changes_the_manifests_or_is_a_warning_naming_it() -> None:
    assert set(VARIANTS) | UNREPRESENTED == set(Service.model_fields)
    baseline, base_warnings = _render(BASELINE)
    for field_name, change in VARIANTS.items():
        variant = Service.model_validate({**BASELINE.model_dump(), **change, "name": "app"})
        text, warnings = _render(variant)
        new = [w for w in warnings if w not in base_warnings]
        named = any(w.startswith(f"services.app.{field_name}") for w in new)
        assert text != baseline or named, f"{field_name} was dropped silently"
