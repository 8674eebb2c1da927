"""The default stack on a server reached only over ssh://: every command, through the tunnel
deployer starts itself (sshd at its default MaxSessions 10)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from deployer.engine.docker_engine import DockerEngine
from tests.integration.conftest import ROOT
from tests.remote.conftest import Server, engine_says_healthy


def test_the_default_stack_deploys_over_ssh_and_every_command_works(
    server: Server, engine: DockerEngine
) -> None:
    down = server.deployer("down")  # whatever an earlier test left: this up makes everything
    assert down.returncode == 0, down.stderr
    up = server.deployer("up")
    assert up.returncode == 0, up.stderr + up.stdout
    assert "stack demo is up and healthy" in up.stdout, up.stdout
    # The front door listens on the server's loopback: up says where, and how to get there.
    assert "http://127.0.0.1:8080 on testserver" in up.stdout, up.stdout
    assert "ssh -N -L 8080:127.0.0.1:8080 deploy@testserver" in up.stdout, up.stdout

    again = server.deployer("up", "--json")
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["plan"]["actions"] == []
    (front,) = answer["addresses"]
    assert (front["service"], front["server"]) == ("nginx", "testserver")
    assert "ssh -N -L 8080:127.0.0.1:8080 deploy@testserver" in front["hint"]

    plan = server.deployer("plan")
    assert plan.returncode == 0 and "nothing to do" in plan.stdout, plan.stdout + plan.stderr

    rows = engine_says_healthy(server)
    assert sorted(row["service"] for row in rows) == ["nginx", "web", "web"]

    # nginx answers on the server, through gunicorn.
    served = server.deployer("exec", "-T", "nginx", "--", "curl", "-fsS", "http://127.0.0.1/")
    assert served.returncode == 0, served.stderr
    assert served.stdout.strip()

    code = server.deployer("exec", "-T", "web", "--", "sh", "-c", "exit 3")
    assert code.returncode == 3, code.stderr

    ran = server.deployer("run", "--rm", "-T", "web", "--", "python3", "-c", "print(6 * 7)")
    assert ran.returncode == 0, ran.stderr
    assert "42" in ran.stdout

    logs = server.deployer("logs", "--tail", "5", "web")
    assert logs.returncode == 0 and logs.stdout.strip(), logs.stderr


def test_tunnel_brings_the_servers_loopback_port_here(server: Server) -> None:
    assert server.deployer("up").returncode == 0
    forwarding = subprocess.Popen(
        [sys.executable, "-m", "deployer", "tunnel", "--json", "nginx"], cwd=ROOT,
        env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert forwarding.stdout is not None
        opened = json.loads(forwarding.stdout.readline())
        (forward,) = opened["forwards"]
        assert forward["service"] == "nginx" and forward["server_port"] == "127.0.0.1:8080"
        answer = requests.get(forward["url"] + "/", timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        forwarding.terminate()
        assert forwarding.wait(timeout=10) == 0


def test_a_change_rollback_restart_stop_and_start_over_ssh(server: Server, tmp_path: Path) -> None:
    assert server.deployer("up").returncode == 0
    changed = tmp_path / "stack.py"
    changed.write_text(
        "from pathlib import Path\n"
        "from deployer import load_stack\n"
        f"stack = load_stack(Path({str(ROOT / 'stack.py')!r}))\n"
        "web = stack.service('web')\n"
        "stack = stack.with_service('web', env={**web.env, 'APP_MESSAGE': 'v2 over ssh'})\n"
        f"stack = stack.model_copy(update={{'root': Path({str(ROOT)!r})}})\n"
    )

    def served() -> str:
        done = server.deployer("exec", "-T", "nginx", "--", "curl", "-fsS", "http://127.0.0.1/")
        assert done.returncode == 0, done.stderr
        return done.stdout

    up = server.deployer("-f", str(changed), "up")
    assert up.returncode == 0, up.stderr
    assert "v2 over ssh" in served()
    back = server.deployer("-f", str(changed), "rollback")
    assert back.returncode == 0, back.stderr
    assert "Hello from deployer" in served()
    for command in (["restart", "web"], ["stop", "nginx"], ["start", "nginx"]):
        done = server.deployer(*command)
        assert done.returncode == 0, f"{command}: {done.stderr}"
    engine_says_healthy(server)
