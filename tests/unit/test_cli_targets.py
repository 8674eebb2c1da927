"""Every command on every target: it goes to that target, or it refuses (exit 64) saying what
it cannot do there. With no engine anywhere, going to the target shows as exit 3 (no engine
answers); a refusal comes before any engine is looked for. What each command then does on a
target is tested against fakes (test_target_contract.py) and the real engine and swarm."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.cli.main import main

STACK = """from deployer import Service, Stack
stack = Stack(name="matrix", services=(Service(name="web", image="web:1"),))
"""
# Each command as a user types it (with what it needs: a service, a registry on a swarm).
COMMANDS = {
    "up": [], "plan": [], "rollback": [], "down": [], "status": [], "restart": [],
    "stop": [], "start": [], "logs": [], "ls": [], "build": [], "pull": [], "gc": [],
    "exec": ["web", "--", "true"], "run": ["web", "--", "true"], "images": ["list"],
    "watch": [], "tunnel": [],
}  # fmt: skip
WITH_STACK = {"up", "plan", "rollback", "down", "status", "restart", "stop", "start", "logs",
              "build", "pull", "exec", "run", "watch", "tunnel"}  # fmt: skip
REFUSED = {
    "engine": set(),
    "swarm": {"stop", "start", "exec", "run", "pull", "gc", "watch", "tunnel"},
    "kubernetes": set(COMMANDS),
}
NO_ENGINE = 3
USAGE = 64


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("DOCKER_HOST", "DEPLOYER_BUILD_HOST"):
        monkeypatch.setenv(variable, f"unix://{tmp_path}/no-engine.sock")
    monkeypatch.setenv("DEPLOYER_RUNTIME_DIR", str(tmp_path / "run"))
    for variable in ("DEPLOYER_TARGET", "DEPLOYER_REGISTRY", "DOCKER_CONTEXT"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "stack.py").write_text(STACK)
    return tmp_path / "stack.py"


def _args(command: str, target: str, stack: Path) -> list[str]:
    extra = ["--target", target]
    if command in WITH_STACK:
        extra += ["-f", str(stack)]
    if target == "swarm" and command in {"up", "plan", "build"}:
        extra += ["--registry", "registry.test:5000"]
    if command == "images":  # a group: the option belongs to its command
        return [command, *COMMANDS[command], *extra]
    # Options first: exec and run pass everything after the service to the command.
    return [command, *extra, *COMMANDS[command]]


@pytest.mark.parametrize("target", ["engine", "swarm", "kubernetes"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_goes_to_its_target_or_refuses(
    command: str, target: str, nowhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_args(command, target, nowhere))
    said = capsys.readouterr().err
    assert "Traceback" not in said
    if command in REFUSED[target]:
        assert code == USAGE, said
        assert f"`{command}` on the {target} target" in said, said
    else:
        assert code == NO_ENGINE, said


def test_the_target_given_before_the_command_counts_for_it(
    nowhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--target", "swarm", "stop", "-f", str(nowhere)]) == USAGE
    assert "`stop` on the swarm target" in capsys.readouterr().err
    # After the command wins, as -f and -p do.
    assert main(["--target", "swarm", "stop", "--target", "engine", "-f", str(nowhere)]) == 3


def test_deployer_target_is_read_by_every_command(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEPLOYER_TARGET", "swarm")
    for command in ("exec", "run", "start", "stop", "pull", "gc"):
        args = [a for a in _args(command, "swarm", nowhere) if a not in {"--target", "swarm"}]
        assert main(args) == USAGE, command
        assert "on the swarm target" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["up", "--target", "swarm", "--engine-health"], "the swarm's own healthchecks"),
        (["up", "--target", "swarm", "web"], "a swarm deploys the whole stack"),
        (["up", "--target", "swarm", "--no-deps"], "no dependencies"),
        (["up", "--target", "swarm", "--attach"], "logs -f --target swarm"),
        (["up", "--target", "swarm", "--exit-code-from", "web"], "replaces a task that exits"),
        (["status", "--target", "swarm", "--stats"], "docker stats"),
        (["down", "--target", "swarm", "--timeout", "1"], "stop_grace_period"),
        (["up", "--registry", "r:5000"], "does not honour --registry"),
        (["plan", "--registry", "r:5000"], "does not honour --registry"),
    ],
)
def test_an_option_a_target_does_not_honour_is_refused_not_dropped(
    args: list[str], says: str, nowhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, "-f", str(nowhere)]) == USAGE
    said = capsys.readouterr().err
    assert says in said and "Traceback" not in said, said


def test_scale_past_the_model_limit_is_refused_like_the_model(
    nowhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "--scale", "web=500", "-f", str(nowhere)]) == USAGE
    said = capsys.readouterr().err
    assert "web=500" in said and "100" in said, said


def test_what_each_target_names_is_a_real_option_of_that_command() -> None:
    """A misspelt name in a support table would refuse an option the target honours."""
    import typer

    from deployer.cli.main import build_app
    from deployer.targets.engine.target import SUPPORT as ENGINE
    from deployer.targets.swarm.target import SUPPORT as SWARM
    from tests.docs.reference import command_params

    app = typer.main.get_command(build_app())
    for table in (ENGINE, SWARM):
        for command, support in table.items():
            params = {p.name for p in command_params(app, command)}
            named = support.options | set(support.why_not)
            assert named <= params, (command, named - params)
