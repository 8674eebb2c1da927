"""The CLI's contract: distinct exit codes, one clear message, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deployer", *args],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=60,
    )  # fmt: skip


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("up", "down", "status", "plan", "logs", "exec", "run", "restart", "ls"):
        assert f" {command} " in result.stdout


def test_invalid_stack_exits_2_with_one_message(tmp_path: Path) -> None:
    (tmp_path / "stack.py").write_text(
        "from deployer import *\nstack = Stack(name='s', services=[\n"
    )
    result = run("up", "-f", str(tmp_path / "stack.py"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'stack.py'}: 1 problem in the stack:")
    assert "Traceback" not in result.stderr


def test_unreachable_engine_exits_3_and_says_how_to_start_one(tmp_path: Path) -> None:
    result = run("status", "--name", "x", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    assert result.returncode == 3
    assert "cannot reach the Docker engine" in result.stderr
    assert "apt-get install -y docker.io" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_64_with_the_usage() -> None:
    for args in (["up", "--bogus"], ["exec", "web"], ["up", "--pull", "sometimes"],
                 ["up", "--scale", "web=many"], ["logs", "--tail", "x"], ["nope"]):  # fmt: skip
        result = run(*args)
        assert result.returncode == 64, (args, result.stderr)
        assert "Usage: deployer" in result.stderr
        assert "Traceback" not in result.stderr


def test_swarm_usage_errors_exit_64_before_any_engine_is_reached(tmp_path: Path) -> None:
    nowhere = {"DOCKER_HOST": f"unix://{tmp_path}/no.sock"}
    for args, says in ((["down", "--target", "swarm", "-v"], "live on each node"),
                       (["down", "--target", "swarm", "--rmi"], "live on each node"),
                       (["up", "--target", "cloud"], "no such target")):  # fmt: skip
        result = run(*args, env=nowhere)
        assert result.returncode == 64, (args, result.stderr)
        assert says in result.stderr and "Traceback" not in result.stderr


def test_the_console_script_is_the_same_cli() -> None:
    script = Path(sys.executable).parent / "deployer"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and " restart " in result.stdout


def test_plan_json_without_engine_is_an_engine_error(tmp_path: Path) -> None:
    result = run("plan", "--json", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    assert result.returncode == 3
    assert result.stdout == ""


def test_up_json_prints_nothing_on_stdout_when_it_fails(tmp_path: Path) -> None:
    # Scripts that parse stdout never see half a document.
    (tmp_path / "stack.py").write_text("stack = 1\n")
    result = run("up", "--json", "-f", str(tmp_path / "stack.py"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
