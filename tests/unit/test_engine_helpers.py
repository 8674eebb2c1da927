"""The engine seam's pure helpers: inspection JSON -> data, files -> tar archives."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime

from deployer.engine.archive import by_folder, tar_of
from deployer.engine.inspect import container_info, published_ports, timestamp
from deployer.model.spec import File

INSPECTED = {
    "Id": "abc123",
    "Name": "/shop-web-1",
    "Image": "sha256:feed",
    "RestartCount": 2,
    "Config": {"Labels": {"io.deployer.stack": "shop"}, "Image": "shop-web:1"},
    "State": {
        "Status": "running",
        "Running": True,
        "ExitCode": 0,
        "StartedAt": "2026-11-22T03:16:15.062054695Z",
        "Health": {
            "Status": "healthy",
            "Log": [{"Output": "old\n"}, {"Output": "claimed slot\n"}],
        },
    },
    "NetworkSettings": {
        "Ports": {
            "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "443/tcp": None,  # exposed, not published
        }
    },
}


def test_an_inspected_container_becomes_plain_data() -> None:
    info = container_info(INSPECTED)
    assert not info.oom_killed
    assert (info.id, info.name, info.state, info.health) == (
        "abc123",
        "shop-web-1",
        "running",
        "healthy",
    )
    assert (info.image, info.image_id, info.restart_count) == ("shop-web:1", "sha256:feed", 2)
    assert info.labels == {"io.deployer.stack": "shop"}
    assert info.health_output == "claimed slot"
    assert info.started_at == datetime(2026, 11, 22, 3, 16, 15, 62054, tzinfo=UTC)
    assert [(p.host_ip, p.host_port, p.container_port) for p in info.ports] == [
        ("127.0.0.1", 8080, 80)
    ]


def test_a_stopped_container_without_healthcheck() -> None:
    data = {"Id": "x", "Name": "/a", "State": {"Status": "exited", "ExitCode": 137}}
    info = container_info(data)
    assert (info.state, info.health, info.exit_code, info.started_at) == ("exited", "", 137, None)
    assert not info.oom_killed
    assert published_ports(data) == []


def test_engine_timestamps_with_nanoseconds_zones_and_zero() -> None:
    assert timestamp("2026-01-02T03:04:05.123456789+02:00") == datetime.fromisoformat(
        "2026-01-02T03:04:05.123456+02:00"
    )
    assert timestamp("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert timestamp("0001-01-01T00:00:00Z") is None  # the engine's "never"
    assert timestamp("") is None
    assert timestamp(None) is None


def test_files_pack_into_a_tar_relative_to_their_folder() -> None:
    files = [
        File(path="/etc/deployer-nginx/nginx.conf", content="events {}\n", mode=0o600),
        File(path="/etc/deployer-nginx/mime.types", link="/etc/nginx/mime.types"),
        File(path="/srv/app.env", content="A=1\n"),
    ]
    folders = by_folder(files)
    assert sorted(folders) == ["/etc/deployer-nginx", "/srv"]
    packed = tar_of(folders["/etc/deployer-nginx"], relative_to="/etc/deployer-nginx")
    with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert sorted(members) == ["mime.types", "nginx.conf"]
        assert members["nginx.conf"].mode == 0o600
        config = archive.extractfile("nginx.conf")
        assert config is not None and config.read() == b"events {}\n"
    link = members["mime.types"]
    assert link.issym() and link.linkname == "/etc/nginx/mime.types"
    with tarfile.open(fileobj=io.BytesIO(tar_of(files))) as whole:
        assert "srv/app.env" in whole.getnames()


def test_the_memory_limit_kill_is_kept_across_restarts() -> None:
    data = {"Id": "x", "Name": "/a", "RestartCount": 1,
            "State": {"Status": "running", "Running": True, "OOMKilled": True}}  # fmt: skip
    info = container_info(data)
    assert (info.oom_killed, info.restart_count) == (True, 1)
