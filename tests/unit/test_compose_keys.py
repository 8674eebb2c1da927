"""The service keys real Compose files use reach the engine's create body as Compose means them."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.core.state import ServiceImage
from deployer.model.errors import StackError
from deployer.stackfile import load
from deployer.targets.engine.desired import DesiredStack

COMPOSE = """
services:
  app:
    image: app:1
    hostname: api
    domainname: example.internal
    extra_hosts: ["db.local:10.0.0.5", "v6=::1", "gw=host-gateway"]
    shm_size: 256m
    sysctls: {net.core.somaxconn: 1024}
    pid: host
    ipc: shareable
    group_add: [audio, 1001]
    devices: ["/dev/fuse", {source: /dev/null, target: /dev/nil, permissions: r}]
    volumes: [/cache, {type: volume, target: /scratch}]
    healthcheck:
      test: ["CMD", "true"]
"""


def body(tmp_path: Path) -> dict[str, object]:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    stack = load.load(tmp_path / "compose.yaml", warn=lambda _: None)
    plan = DesiredStack(stack, {"app": ServiceImage("app:1", "sha256:a")}).container(
        stack.service("app"), 1
    )
    return plan.body


def test_container_settings_reach_the_create_body(tmp_path: Path) -> None:
    created = body(tmp_path)
    host = created["HostConfig"]
    assert isinstance(host, dict)
    assert (created["Hostname"], created["Domainname"]) == ("api", "example.internal")
    assert host["ExtraHosts"] == ["db.local:10.0.0.5", "gw:host-gateway", "v6:::1"]
    assert host["ShmSize"] == 256 * 1024 * 1024
    assert host["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert (host["PidMode"], host["IpcMode"]) == ("host", "shareable")
    assert host["GroupAdd"] == ["audio", "1001"]
    assert host["Devices"] == [
        {"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"},
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/nil", "CgroupPermissions": "r"},
    ]
    assert {"Type": "volume", "Target": "/cache", "ReadOnly": False} in host["Mounts"]
    assert {"Type": "volume", "Target": "/scratch", "ReadOnly": False} in host["Mounts"]
    assert not [b for b in host.get("Binds") or [] if "/cache" in b]


def test_a_healthcheck_without_durations_gets_composes_defaults(tmp_path: Path) -> None:
    check = body(tmp_path)["Healthcheck"]
    assert isinstance(check, dict)
    assert (check["Interval"], check["Timeout"], check["Retries"]) == (30 * 10**9, 30 * 10**9, 3)


def test_service_names_as_compose_allows_them(tmp_path: Path) -> None:
    from deployer.core import labels
    from deployer.targets.kubernetes.render import export

    (tmp_path / "compose.yaml").write_text(
        "services:\n  My.App:\n    image: app\n  worker_1:\n    image: w\n"
    )
    stack = load.load(tmp_path / "compose.yaml", warn=lambda _: None)
    assert [s.name for s in stack.services] == ["My.App", "worker_1"]
    assert labels.image_repository(stack.name, "My.App") == f"{stack.name}-my.app"
    result = export(stack)
    names = [m["metadata"]["name"] for m in result.manifests]
    assert "my-app" in names and "My.App" not in names
    assert any(w.startswith("services.My.App.name: named 'my-app'") for w in result.warnings)
    (tmp_path / "bad.yaml").write_text("services:\n  -bad:\n    image: x\n")
    with pytest.raises(StackError, match=r"invalid name '-bad': use letters, digits, '\.'"):
        load.load_files([tmp_path / "bad.yaml"], warn=lambda _: None, as_compose=True)


def test_port_and_expose_ranges_and_long_form_ports(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: app\n"
        "    ports: ['127.0.0.1:8000-8001:9000-9001/udp',\n"
        "            {target: 80, published: '8080', mode: host, app_protocol: http}]\n"
        "    expose: ['3000-3002', '4000/tcp']\n"
    )
    app = load.load(tmp_path / "compose.yaml", warn=lambda _: None).service("app")
    assert [(p.host_ip, p.host, p.container, p.protocol) for p in app.ports] == [
        ("127.0.0.1", 8000, 9000, "udp"), ("127.0.0.1", 8001, 9001, "udp"),
        ("127.0.0.1", 8080, 80, "tcp"),
    ]  # fmt: skip
    assert app.expose == (3000, 3001, 3002, 4000)
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: app\n    ports: [{published: '8080'}]\n"
    )
    with pytest.raises(StackError, match=r"line 4: services.app.ports.0: a long-form port needs"):
        load.load(tmp_path / "compose.yaml", warn=lambda _: None)


def test_external_networks_and_volumes_are_joined_never_made_or_removed(tmp_path: Path) -> None:
    from deployer.core.state import ObservedState
    from deployer.targets.engine.reconcile import reconcile

    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: app\n    networks: [proxy, default]\n"
        "    volumes: ['shared:/data', 'own:/own']\n"
        "networks:\n  proxy:\n    external: true\n    name: traefik_proxy\n"
        "volumes:\n  shared:\n    external: {name: team-data}\n  own: {}\n"
    )
    stack = load.load(tmp_path / "compose.yaml", warn=lambda _: None)
    desired = DesiredStack(stack, {"app": ServiceImage("app:1", "sha256:a")})
    created = desired.container(stack.service("app"), 1)
    assert created.body["HostConfig"]["NetworkMode"] == "traefik_proxy"
    assert "team-data:/data" in created.body["HostConfig"]["Binds"]
    assert f"{stack.name}_own:/own" in created.body["HostConfig"]["Binds"]
    plan = reconcile(stack, ObservedState(stack.name, [], []), desired.services)
    made = [a.resource for a in plan.actions if a.kind.value.startswith("create ")]
    assert made == [f"{stack.name}_default", f"{stack.name}_own"]


def test_network_mode_host_none_and_another_services(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  vpn:\n    image: vpn\n  app:\n    image: app\n    network_mode: service:vpn\n"
        "  probe:\n    image: p\n    network_mode: host\n    container_name: probe\n"
    )
    stack = load.load(tmp_path / "compose.yaml", warn=lambda _: None)
    images = {s.name: ServiceImage(f"{s.name}:1", "sha256:x") for s in stack.services}
    desired = DesiredStack(stack, images)
    app = desired.container(stack.service("app"), 1).body
    assert app["HostConfig"]["NetworkMode"] == f"container:{stack.name}-vpn-1"
    assert app["NetworkingConfig"] == {"EndpointsConfig": {}}
    assert stack.service("app").needs() == {"vpn": False}  # started first
    assert desired.container(stack.service("probe"), 1).body["HostConfig"]["NetworkMode"] == "host"
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: app\n    network_mode: service:nope\n"
    )
    with pytest.raises(StackError, match="network_mode: no service named 'nope'"):
        load.load(tmp_path / "compose.yaml", warn=lambda _: None)


def test_pull_policy_and_mount_options(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: app\n    pull_policy: if_not_present\n    volumes:\n"
        "      - {type: bind, source: ./conf, target: /etc/app, bind: {propagation: rshared}}\n"
        "      - {type: volume, source: data, target: /data, volume: {nocopy: true}}\n"
        "volumes:\n  data: {}\n"
    )
    stack = load.load(tmp_path / "compose.yaml", warn=lambda _: None)
    assert stack.service("app").pull_policy == "missing"
    host = (
        DesiredStack(stack, {"app": ServiceImage("app", "sha256:a")})
        .container(stack.service("app"), 1)
        .body["HostConfig"]
    )
    assert not host.get("Binds")
    assert host["Mounts"] == [
        {"Type": "bind", "Target": "/etc/app", "ReadOnly": False,
         "Source": str((tmp_path / "conf").resolve()), "BindOptions": {"Propagation": "rshared"}},
        {"Type": "volume", "Target": "/data", "ReadOnly": False,
         "Source": f"{stack.name}_data", "VolumeOptions": {"NoCopy": True}},
    ]  # fmt: skip


def test_fixed_addresses_on_a_network_with_its_own_subnet(tmp_path: Path) -> None:
    from deployer import api
    from tests.fakes import FakeEngine

    (tmp_path / "compose.yaml").write_text(
        "services:\n  dns:\n    image: dns\n    mac_address: 02:42:ac:1c:00:05\n"
        "    networks:\n      lan:\n        ipv4_address: 172.28.0.5\n"
        "networks:\n  lan:\n    attachable: true\n    ipam:\n      config:\n"
        "        - {subnet: 172.28.0.0/16, gateway: 172.28.0.1}\n"
    )
    stack = load.load(tmp_path / "compose.yaml", warn=lambda _: None)
    body = (
        DesiredStack(stack, {"dns": ServiceImage("dns", "sha256:d")})
        .container(stack.service("dns"), 1)
        .body
    )
    assert body["NetworkingConfig"]["EndpointsConfig"][f"{stack.name}_lan"] == {
        "Aliases": ["dns"], "IPAMConfig": {"IPv4Address": "172.28.0.5"},
    }  # fmt: skip
    assert body["MacAddress"] == "02:42:ac:1c:00:05"
    fake = FakeEngine({"dns": "sha256:d"})
    api.up(stack, engine=fake)
    assert fake.network_options[f"{stack.name}_lan"]["ipam"] == {
        "Driver": "default", "Config": [{"Subnet": "172.28.0.0/16", "Gateway": "172.28.0.1"}],
    }  # fmt: skip
    (tmp_path / "compose.yaml").write_text(
        "services:\n  dns:\n    image: dns\n"
        "    networks:\n      lan:\n        ipv4_address: 172.28.0.5\nnetworks:\n  lan: {}\n"
    )
    with pytest.raises(StackError, match="a fixed address needs a subnet of the network's own"):
        load.load(tmp_path / "compose.yaml", warn=lambda _: None)
