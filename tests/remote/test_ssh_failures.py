"""What goes wrong over ssh:// is exit 3 with ssh's own words and what to do, never a traceback;
an SSH connection that drops mid-`up` leaves a stack the next `up` repairs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deployer.engine.docker_engine import DockerEngine
from tests.integration.conftest import ROOT
from tests.remote.conftest import Server, engine_says_healthy, new_key, wait_for_line
from tests.remote.server import OUTSIDER

NO_ENGINE = 3


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == NO_ENGINE, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def test_a_key_the_server_does_not_know_is_exit_3_saying_so(server: Server) -> None:
    stranger = new_key(server.folder, "id_stranger")
    config = server.ssh_config("stranger_config", stranger, server.folder / "known_hosts")
    said = _refused(server.deployer("status", env=server.env(config)))
    assert "Permission denied (publickey" in said, said
    assert "the server refused your key" in said, said


def test_an_unknown_host_key_is_exit_3_and_never_accepted(server: Server) -> None:
    nobody = server.folder / "empty_known_hosts"
    nobody.write_text("")
    config = server.ssh_config("unknown_host_config", server.folder / "id_deployer", nobody)
    said = _refused(server.deployer("status", env=server.env(config)))
    assert "Host key verification failed" in said, said
    assert "host key" in said and "fingerprint" in said, said
    assert nobody.read_text() == ""  # nothing was added to it


def test_a_server_nothing_answers_on_is_exit_3(server: Server) -> None:
    said = _refused(server.deployer("-H", "ssh://deploy@127.0.0.1:1", "status"))
    assert "Connection refused" in said, said
    assert "is sshd running on 127.0.0.1 and reachable on port 1?" in said, said


def test_a_user_outside_the_docker_group_is_exit_3_saying_so(server: Server) -> None:
    said = _refused(server.deployer("-H", f"ssh://{OUTSIDER}@testserver", "status"))
    assert "ssh connected, but the server's Docker socket" in said, said
    assert f"`docker` group (`sudo usermod -aG docker {OUTSIDER}`)" in said, said


@pytest.mark.parametrize(
    ("words", "code"),
    [(["exec", "web"], 4), (["run", "--rm", "web"], 5)],
    ids=["exec -it", "run attached"],
)
def test_a_command_in_a_terminal_and_its_exit_code(
    server: Server, words: list[str], code: int
) -> None:
    assert server.deployer("up").returncode == 0
    command = f"{sys.executable} -m deployer {' '.join(words)} -- sh -c 'tty; exit {code}'"
    # `script` gives deployer a terminal, as a user's shell would: it then allocates one.
    done = subprocess.run(
        ["script", "-qec", command, "/dev/null"], cwd=ROOT, env=server.env(),
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == code, done.stdout + done.stderr
    assert "/dev/pts/" in done.stdout


def test_logs_follow_streams_until_stopped(server: Server) -> None:
    assert server.deployer("up").returncode == 0
    following = subprocess.Popen(
        [sys.executable, "-m", "deployer", "logs", "-f", "--tail", "1", "web"], cwd=ROOT,
        env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert following.stdout is not None
        first = following.stdout.readline()
        assert first.startswith("demo-web-"), first
        assert following.poll() is None  # still following
    finally:
        following.terminate()
        following.wait(timeout=10)


def test_the_ssh_connection_killed_mid_up_is_exit_3_and_the_next_up_repairs(
    server: Server, engine: DockerEngine
) -> None:
    assert server.deployer("up").returncode == 0
    interrupted = subprocess.Popen(
        [sys.executable, "-m", "deployer", "up", "--force-recreate"], cwd=ROOT,
        env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert interrupted.stderr is not None
    seen: list[str] = []
    started = wait_for_line(interrupted.stderr, lambda line: " started" in line, seen)
    assert started, "".join(seen)
    # The server ends every SSH session of deployer's user, as a dropped link would.
    code, output = engine.exec(server.container, ["pkill", "-f", "sshd: deploy"])
    assert code == 0, output
    _, rest = interrupted.communicate(timeout=120)
    said = "".join(seen) + rest
    assert interrupted.returncode == NO_ENGINE, said
    assert "Traceback" not in said
    assert "the SSH connection to ssh://deploy@testserver ended" in said, said

    repaired = server.deployer("up")
    assert repaired.returncode == 0, repaired.stderr
    assert f"took over the deploy lock of up by pid {interrupted.pid} on " in repaired.stderr
    assert "(its process is gone)" in repaired.stderr
    engine_says_healthy(server)
    assert "nothing to do" in server.deployer("plan").stdout


def test_two_deploys_from_two_places_take_turns_on_the_servers_lock(
    server: Server, tmp_path_factory: object
) -> None:
    assert server.deployer("up").returncode == 0
    # Two operators: their own runtime folders, the server spelled two ways.
    runs = []
    for index, address in enumerate((server.address, server.address_by_port)):
        env = server.env(DOCKER_HOST=address, DEPLOYER_RUNTIME_DIR=f"/run/deployer-op{index}")
        runs.append(subprocess.Popen(
            [sys.executable, "-m", "deployer", "up", "--force-recreate"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))  # fmt: skip
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out + err
    waited = [
        (run, err) for run, (_, err) in zip(runs, outputs, strict=True)
        if "waiting for the deploy lock of stack demo" in err
    ]  # fmt: skip
    assert len(waited) == 1, [err for _, err in outputs]
    (waiter, err), other = waited[0], next(run for run in runs if run is not waited[0][0])
    assert f"(up by pid {other.pid} on " in err, err
    del waiter
