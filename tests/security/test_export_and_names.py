"""Audit findings 3 and the keyed swarm names: manifests and secret names give nothing away."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import yaml

from deployer.cli.main import main
from deployer.model.spec import Mount, Secret, SecretUse, Service, Stack
from deployer.targets.kubernetes.render import Options, export
from deployer.targets.swarm import render as swarm_render

KEY = b"k" * 32


def project(tmp_path: Path) -> Stack:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "server.key").write_text("-----BEGIN PRIVATE KEY-----\nMIIEv\n")
    (tmp_path / "nginx.conf").write_text("worker_processes 1;\n")
    outside = tmp_path.parent / "home-ssh-id_rsa"
    outside.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blb\n")
    mounts = [
        Mount(type="bind", source="./certs/server.key", target="/etc/tls/server.key"),
        Mount(type="bind", source=str(outside), target="/root/.ssh/id_rsa"),
        Mount(type="bind", source="./nginx.conf", target="/etc/nginx/nginx.conf"),
    ]
    return Stack(
        name="shop", root=tmp_path, services=[Service(name="web", image="w:1", mounts=mounts)]
    )


def test_key_files_become_secrets_without_data_and_configuration_stays_a_config_map(
    tmp_path: Path,
) -> None:
    result = export(project(tmp_path), Options(stack_text=""))
    text = yaml.safe_dump_all(result.manifests) + "\n".join(result.warnings)
    assert "PRIVATE KEY" not in text
    secrets = {m["metadata"]["name"]: m for m in result.manifests if m["kind"] == "Secret"}
    assert set(secrets) == {"web-server-key", "web-home-ssh-id-rsa"}
    assert all("data" not in m and "stringData" not in m for m in secrets.values())
    maps = {m["metadata"]["name"]: m for m in result.manifests if m["kind"] == "ConfigMap"}
    assert maps["web-nginx-conf"]["data"] == {"nginx.conf": "worker_processes 1;\n"}
    assert any("kubectl create secret generic web-server-key" in w for w in result.warnings)


def test_secret_data_only_when_asked_for(tmp_path: Path) -> None:
    result = export(project(tmp_path), Options(stack_text="", include_secret_data=True))
    (key,) = [m for m in result.manifests if m["metadata"]["name"] == "web-server-key"]
    assert base64.b64decode(key["data"]["server.key"]).startswith(b"-----BEGIN PRIVATE KEY")


def test_env_values_the_stack_file_does_not_spell_go_to_a_secret(tmp_path: Path) -> None:
    stack = Stack(
        name="shop",
        services=[
            Service(name="web", image="w:1", env={"MODE": "prod", "DB_PASSWORD": "hunter22"})
        ],
    )
    result = export(stack, Options(stack_text='env={"MODE": "prod", "DB_PASSWORD": var("PW")}'))
    (deployment,) = [m for m in result.manifests if m["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "MODE", "value": "prod"} in container["env"]
    assert {
        "name": "DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "web-env", "key": "DB_PASSWORD"}},
    } in container["env"]
    assert "hunter22" not in yaml.safe_dump_all(result.manifests)


def test_pods_may_not_escalate_and_run_the_default_seccomp_profile() -> None:
    stack = Stack(name="s", services=[Service(name="web", image="w:1")])
    container = export(stack).manifests[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_cli_writes_no_key_into_the_manifest_folder(tmp_path: Path) -> None:
    stack = project(tmp_path)
    (tmp_path / "stack.py").write_text(
        "from deployer import Mount, Service, Stack\n"
        f"stack = Stack(name='shop', services=[Service(name='web', image='w:1', "
        f"mounts={[m.model_dump(mode='json') for m in stack.services[0].mounts]!r})])\n"
    )
    out = tmp_path / "k8s"
    assert main(["export", "kubernetes", "-f", str(tmp_path / "stack.py"), "-o", str(out)]) == 0
    written = "".join(path.read_text() for path in out.iterdir())
    assert "PRIVATE KEY" not in written and "kind: Secret" in written


def test_swarm_secret_names_are_keyed_not_a_plain_hash_of_the_content() -> None:
    stack = Stack(
        name="shop",
        services=[Service(name="web", image="w:1", secrets=[SecretUse(source="pw")])],
        secrets=[Secret(name="pw", content="1234")],
    )
    (secret,) = swarm_render.files(stack, stack.services[0], None, KEY)
    (other,) = swarm_render.files(stack, stack.services[0], None, b"o" * 32)
    plain = hashlib.sha256(b"1234" + secret.path.encode()).hexdigest()
    assert plain[:20] not in secret.name
    assert secret.name != other.name  # without the key, the name says nothing of the content
    assert secret.name == swarm_render.files(stack, stack.services[0], None, KEY)[0].name
