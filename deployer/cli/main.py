"""`python -m deployer` / `deployer`: the Typer app, with deployer's exit-code contract.

Errors become one message and a distinct exit code: a DeployerError its own, a usage error 64
(Click's 2 is our "invalid stack"), Ctrl-C 130.
"""

from __future__ import annotations

import sys

import typer

from deployer.cli import export, lifecycle, operations, setup  # noqa: F401 - they register
from deployer.cli.app import app
from deployer.model.errors import DeployerError

EXIT_USAGE = 64
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="deployer", standalone_mode=False)
    except DeployerError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except typer.Abort:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except typer.TyperException as error:  # Click's usage errors, bad parameters
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


__all__ = ["app", "main"]
