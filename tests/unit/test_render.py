"""Service -> Engine API body, in the engine's units."""

import http.server
import socket
import subprocess
import threading
from typing import Any

import pytest

from deployer.core import labels
from deployer.core.render import BASH_PROBE, container_plan, http_probe
from deployer.model.spec import (
    Healthcheck,
    HttpProbe,
    Logging,
    Network,
    NetworkAttachment,
    Port,
    Proxy,
    Reservations,
    Resources,
    Service,
    Stack,
    Ulimit,
)


def body_of(service: Service, stack_networks: tuple[Network, ...] = ()) -> dict[str, Any]:
    stack = Stack(name="shop", services=(service,), networks=stack_networks)
    return container_plan(
        stack, service, 2, image="img:1", config_hash="h", config_fields="f=1", files=[]
    ).body


def test_durations_are_nanoseconds() -> None:
    check = Healthcheck(
        command="true", interval="2s", timeout="500ms", retries=4, start_period="1m"
    )
    body = body_of(Service(name="web", image="x", healthcheck=check))
    assert body["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"],
        "Interval": 2_000_000_000,
        "Timeout": 500_000_000,
        "Retries": 4,
        "StartPeriod": 60_000_000_000,
    }


def test_list_command_healthcheck_runs_without_shell() -> None:
    check = Healthcheck(command=["pg_isready", "-q"])
    assert body_of(Service(name="db", image="x", healthcheck=check))["Healthcheck"]["Test"] == [
        "CMD", "pg_isready", "-q",
    ]  # fmt: skip


def test_limits_are_bytes_and_nanocpus() -> None:
    resources = Resources(
        cpus=1.5, memory="256m", pids=100, reservations=Reservations(cpus=0.5, memory="64m")
    )
    host = body_of(Service(name="web", image="x", resources=resources))["HostConfig"]
    assert host["NanoCpus"] == 1_500_000_000
    assert host["Memory"] == 268_435_456
    assert host["MemorySwap"] == 268_435_456
    assert host["MemoryReservation"] == 67_108_864
    assert host["CpuShares"] == 512
    assert host["PidsLimit"] == 100


def test_no_limits_means_no_keys() -> None:
    host = body_of(Service(name="web", image="x"))["HostConfig"]
    assert not {"NanoCpus", "Memory", "PidsLimit"} & host.keys()


def test_restart_policies() -> None:
    def policy(text: str) -> Any:
        return body_of(Service(name="w", image="x", restart=text))["HostConfig"]["RestartPolicy"]

    assert policy("no") == {"Name": "", "MaximumRetryCount": 0}
    assert policy("unless-stopped") == {"Name": "unless-stopped", "MaximumRetryCount": 0}
    assert policy("on-failure:3") == {"Name": "on-failure", "MaximumRetryCount": 3}


def test_ports_bind_loopback_and_ephemeral() -> None:
    body = body_of(Service(name="w", image="x", ports=(Port(container=80), "0.0.0.0:8080:81")))
    assert body["ExposedPorts"] == {"80/tcp": {}, "81/tcp": {}}
    assert body["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "81/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
    }


def test_hardening_fields() -> None:
    service = Service(
        name="w", image="x", user="10001:10001", read_only=True, tmpfs={"/tmp": "size=64m"},
        cap_drop=["ALL"], security_opt=["no-new-privileges:true"], init=True,
        ulimits={"nofile": Ulimit(soft=1024, hard=2048)},
        logging=Logging(max_size="10m", max_file=3), stop_grace_period="20s", stop_signal="SIGQUIT",
    )  # fmt: skip
    body = body_of(service)
    host = body["HostConfig"]
    assert body["User"] == "10001:10001"
    assert body["StopTimeout"] == 20
    assert body["StopSignal"] == "SIGQUIT"
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {"/tmp": "size=64m"}
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["Init"] is True
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert host["LogConfig"] == {
        "Type": "json-file",
        "Config": {"max-size": "10m", "max-file": "3"},
    }


def test_labels_name_stack_service_and_replica() -> None:
    body = body_of(Service(name="web", image="x", labels={"team": "a"}, depends_on=["db", "cache"]))
    assert body["Labels"]["team"] == "a"
    assert body["Labels"][labels.STACK] == "shop"
    assert body["Labels"][labels.SERVICE] == "web"
    assert body["Labels"][labels.REPLICA] == "2"
    assert body["Labels"][labels.CONFIG_HASH] == "h"
    assert body["Labels"][labels.DEPENDS_ON] == "cache,db"


def test_first_network_at_creation_others_after() -> None:
    service = Service(
        name="web", image="x",
        networks=[NetworkAttachment(name="front", aliases=("www",)), "back"],
    )  # fmt: skip
    stack = Stack(
        name="shop", services=(service,), networks=(Network(name="front"), Network(name="back"))
    )
    plan = container_plan(stack, service, 1, image="i", config_hash="h", config_fields="", files=[])
    assert plan.name == "shop-web-1"
    assert plan.body["HostConfig"]["NetworkMode"] == "shop_front"
    assert plan.body["NetworkingConfig"] == {
        "EndpointsConfig": {"shop_front": {"Aliases": ["web", "www"]}}
    }
    assert plan.extra_networks == [("shop_back", ["web"], {})]


def test_http_probe_uses_curl_or_bash_or_python() -> None:
    script = http_probe(HttpProbe(path="/health", port=8000), 2.0)
    assert "exec curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:8000/health" in script
    assert "exec bash -c" in script and script.index("exec bash") < script.index("exec python3")
    assert "exec python3 -c" in script
    assert script.endswith("http://127.0.0.1:8000/health 2")


class _Answers(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = {"/health": 200, "/moved": 302}.get(self.path, 404)
        self.send_response(status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("path", "passes", "says"),
    [("/health", True, ""), ("/moved", True, ""), ("/nope", False, "HTTP 404")],
)
def test_the_bash_probe_reads_the_status_line_as_curl_f_does(
    path: str, passes: bool, says: str
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        result = subprocess.run(
            ["bash", "-c", BASH_PROBE, "probe", str(port), path, "2"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    finally:
        server.shutdown()
    assert (result.returncode == 0) is passes, result.stdout + result.stderr
    assert says in result.stdout


def test_the_bash_probe_fails_when_nothing_listens() -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]  # bound, never listening: refused
        result = subprocess.run(
            ["bash", "-c", BASH_PROBE, "probe", str(port), "/health", "2"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    assert result.returncode != 0


def test_socket_transport_mounts_the_shared_volume_and_names_the_socket() -> None:
    web = Service(name="web", image="x")
    nginx = Service(
        name="nginx", image="n", proxy=Proxy(upstream="web", port=8000, transport="socket")
    )
    stack = Stack(name="shop", services=(web, nginx))
    mount = [{"Type": "volume", "Source": "shop_web-sockets", "Target": "/run/deployer-upstream"}]
    replica = container_plan(
        stack, web, 1, image="i", config_hash="h", config_fields="", files=[], name="shop-web-1-ab"
    )
    assert replica.body["HostConfig"]["Mounts"] == mount
    assert "DEPLOYER_SOCKET=/run/deployer-upstream/shop-web-1-ab.sock" in replica.body["Env"]
    assert replica.body["Labels"][labels.SOCKET] == "/run/deployer-upstream/shop-web-1-ab.sock"
    proxy = container_plan(stack, nginx, 1, image="n", config_hash="h", config_fields="", files=[])
    config = {"Type": "volume", "Source": "shop_nginx-config", "Target": "/etc/deployer-nginx"}
    assert proxy.body["HostConfig"]["Mounts"] == [*mount, config]
    assert proxy.body["Cmd"] == [
        "nginx",
        "-c",
        "/etc/deployer-nginx/nginx.conf",
        "-g",
        "daemon off;",
    ]
    assert not any(e.startswith("DEPLOYER_SOCKET=") for e in proxy.body["Env"])


def test_tcp_transport_mounts_only_the_proxy_config() -> None:
    web = Service(name="web", image="x")
    nginx = Service(name="nginx", image="n", proxy=Proxy(upstream="web", port=8000))
    stack = Stack(name="shop", services=(web, nginx))
    body = container_plan(
        stack, web, 1, image="i", config_hash="h", config_fields="", files=[]
    ).body
    assert "Mounts" not in body["HostConfig"]
    proxy = container_plan(stack, nginx, 1, image="n", config_hash="h", config_fields="", files=[])
    assert [m["Target"] for m in proxy.body["HostConfig"]["Mounts"]] == ["/etc/deployer-nginx"]
