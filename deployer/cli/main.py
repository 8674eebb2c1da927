"""`python -m deployer` / `deployer`: the Typer app, with deployer's exit-code contract.

Errors become one message and a distinct exit code: a DeployerError its own, a usage error 64
(Click's 2 is our "invalid stack"), Ctrl-C 130.

An unchanged `up` or `plan` is answered before any of this loads (deployer.unchanged).

Start-up is paid on every command: a run builds (and imports) only the command it was asked for.
Building all of them costs Typer ~80 ms of signature inspection plus their imports; the whole app
is built only for help, shell completion and names it does not know.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from deployer.model.errors import DeployerError
from deployer.unchanged.invocation import parse

if TYPE_CHECKING:
    import typer

EXIT_USAGE = 64
EXIT_INTERRUPTED = 130

# Which module of deployer.cli defines each command (a group like `images` counts as one).
COMMANDS = {
    **dict.fromkeys(
        ["up", "down", "plan", "status", "ps", "rollback", "restart", "stop", "start", "ls",
         "config", "build", "pull"],
        "stack_commands",
    ),
    **dict.fromkeys(["logs", "exec", "run"], "operations"),
    "watch": "watch",
    "tunnel": "tunnel",
    **dict.fromkeys(["import", "images", "gc"], "setup"),
    "export": "export",
    "cluster": "cluster",
}  # fmt: skip
_GLOBAL_WITH_VALUE = {
    "-f", "--file", "-p", "--project-name", "--env-file", "--profile", "--target", "-H", "--host",
}  # fmt: skip


def _command_name(argv: list[str]) -> str | None:
    """The first word that is not a global option or its value."""
    words = iter(argv)
    for word in words:
        if word in _GLOBAL_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _name_of(info: typer.models.CommandInfo) -> str:
    callback = info.callback
    return info.name or (callback.__name__.replace("_", "-") if callback else "")


def build_app(only: str | None = None) -> typer.Typer:
    """The root app with every command, or with just `only` (and what it needs to parse)."""
    # Help lists the stack commands first, then operations, setup and the other targets.
    from deployer.cli.app import root

    modules = list(dict.fromkeys(COMMANDS.values())) if only is None else [COMMANDS[only]]
    made = root()
    for name in modules:
        commands: typer.Typer = importlib.import_module(f"deployer.cli.{name}").commands
        made.registered_commands += [
            c for c in commands.registered_commands if only is None or _name_of(c) == only
        ]
        made.registered_groups += [
            g for g in commands.registered_groups if only is None or g.name == only
        ]
    return made


def _app_for(argv: list[str]) -> typer.Typer:
    name = _command_name(argv)
    completing = any(key.endswith("_COMPLETE") for key in os.environ)
    if name in COMMANDS and not completing:
        return build_app(only=name)
    return build_app()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if parse(argv) is None:  # not an `up` or `plan` the fast answer may take
        return _full(argv)
    # An unchanged `up` or `plan` is answered before Typer, Click or the models load.
    from deployer.unchanged import answer

    try:
        fast = answer.attempt(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if fast is not None:
        return fast
    with answer.recording(argv):
        return _full(argv)


def _full(argv: list[str]) -> int:
    """The command line as the Typer app reads it."""
    import click
    import typer

    command = typer.main.get_command(_app_for(argv))
    try:
        result = command.main(args=argv, prog_name="deployer", standalone_mode=False)
    except DeployerError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except typer.Abort:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except click.ClickException as error:  # usage errors, bad parameters
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {error.format_message()}", file=sys.stderr)
        return EXIT_USAGE if error.exit_code == 2 else error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if result == EXIT_INTERRUPTED:
        print("interrupted", file=sys.stderr)
    return result if isinstance(result, int) else 0


def run() -> NoReturn:
    """The command line's entry point: main(), then leave without the interpreter's teardown.

    Each command closed its own files, locks and connections; tearing down the ~500 modules it
    imported would add ~0.15 s (measured) to every command, `down` and a no-op `up` included.
    """
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)  # a profiler or coverage writes its results at the teardown
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            code = code or 1
    os._exit(code)


__all__ = ["COMMANDS", "build_app", "main", "run"]
