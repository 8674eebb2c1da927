"""The engine's inspection JSON -> deployer's plain data (pure: no engine, no I/O)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from deployer.core.state import ContainerInfo, PublishedPort
from deployer.engine import wire
from deployer.engine.protocol import ContainerStats


def container_info(data: dict[str, Any]) -> ContainerInfo:
    state = data.get("State") or {}
    health = state.get("Health") or {}
    log = health.get("Log") or []
    config = data.get("Config") or {}
    return ContainerInfo(
        id=data["Id"],
        name=data["Name"].lstrip("/"),
        labels=config.get("Labels") or {},
        state=state.get("Status", "unknown"),
        health=health.get("Status", ""),
        image=config.get("Image", ""),
        image_id=data.get("Image", ""),
        ports=published_ports(data),
        restart_count=int(data.get("RestartCount") or 0),
        started_at=timestamp(state.get("StartedAt")) if state.get("Running") else None,
        exit_code=int(state.get("ExitCode") or 0),
        health_output=str(log[-1].get("Output", "")).strip() if log else "",
        oom_killed=bool(state.get("OOMKilled")),
        healthcheck=tuple((config.get("Healthcheck") or {}).get("Test") or ()),
        health_timeout=((config.get("Healthcheck") or {}).get("Timeout") or 30 * 10**9) / 1e9,
        env=dict(str(item).partition("=")[::2] for item in config.get("Env") or []),
    )


def listed_info(item: dict[str, Any]) -> ContainerInfo:
    """A container as a list call shows it: state, health, ports, labels (one request for
    all of them; the rest of ContainerInfo takes an inspect each)."""
    status = str(item.get("Status") or "")
    return ContainerInfo(
        id=item["Id"],
        name=(item.get("Names") or ["/"])[0].lstrip("/"),
        labels=item.get("Labels") or {},
        state=str(item.get("State") or "unknown"),
        health=wire.listed_health(status),
        image=str(item.get("Image") or ""),
        image_id=str(item.get("ImageID") or ""),
        ports=sorted(
            (
                PublishedPort(
                    host_ip=str(port.get("IP") or ""), host_port=int(port["PublicPort"]),
                    container_port=int(port.get("PrivatePort") or 0),
                    protocol=str(port.get("Type") or "tcp"),
                )
                for port in item.get("Ports") or []
                if port.get("PublicPort")
            ),
            key=lambda p: (p.container_port, p.protocol, p.host_ip, p.host_port),
        ),
    )  # fmt: skip


def exit_code(value: object) -> int:
    """An exec's ExitCode as the engine reports it: None means it did not say (the process
    still runs, or the engine lost it), which is no success."""
    if value is None or isinstance(value, bool):
        return 1
    try:
        return int(str(value))
    except ValueError:
        return 1


def published_ports(data: dict[str, Any]) -> list[PublishedPort]:
    ports = ((data.get("NetworkSettings") or {}).get("Ports")) or {}
    found = []
    for key, bindings in sorted(ports.items()):
        container_port, _, protocol = key.partition("/")
        for binding in bindings or []:
            found.append(
                PublishedPort(
                    host_ip=binding.get("HostIp", ""),
                    host_port=int(binding.get("HostPort") or 0),
                    container_port=int(container_port),
                    protocol=protocol or "tcp",
                )
            )
    return found


_ENGINE_TIME = re.compile(r"^(?P<head>[^.]+?)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)$")


def timestamp(text: str | None) -> datetime | None:
    """Parse the engine's RFC 3339 times, which carry nanoseconds (Python takes microseconds)."""
    match = _ENGINE_TIME.match(text or "")
    if not match or match["head"].startswith("0001-"):
        return None
    fraction = (match["fraction"] or "0")[:6]
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    return datetime.fromisoformat(f"{match['head']}.{fraction}{zone}")


def stats_of(data: dict[str, Any]) -> ContainerStats:
    """CPU as `docker stats` computes it (usage delta over system delta, times online CPUs)."""
    cpu = data.get("cpu_stats") or {}
    before = data.get("precpu_stats") or {}
    usage = (cpu.get("cpu_usage") or {}).get("total_usage", 0)
    usage_before = (before.get("cpu_usage") or {}).get("total_usage", 0)
    system = cpu.get("system_cpu_usage", 0)
    system_before = before.get("system_cpu_usage", 0)
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [1])
    percent = 0.0
    if system > system_before and usage >= usage_before:
        percent = (usage - usage_before) / (system - system_before) * online * 100
    memory = data.get("memory_stats") or {}
    cache = (memory.get("stats") or {}).get("cache", 0)  # page cache is not the app's memory
    return ContainerStats(
        cpu_percent=round(percent, 1),
        memory_bytes=max(0, int(memory.get("usage", 0)) - int(cache)),
        memory_limit_bytes=int(memory.get("limit", 0)),
    )
