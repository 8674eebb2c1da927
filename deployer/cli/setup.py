"""import (Compose -> stack.py), images (deployer's base images), gc (leftover test stacks)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deployer.cli.app import JsonOption, StackSource, TargetOption, chosen_target, print_data
from deployer.cli.progress import progress
from deployer.images import bases
from deployer.model.errors import StackError

if TYPE_CHECKING:
    from deployer.model.spec import Stack

commands = typer.Typer(rich_markup_mode=None)  # put on the root app by deployer.cli.main

EXIT_USAGE = 64

images_app = typer.Typer(
    rich_markup_mode=None, help="deployer's own base images, built from Debian packages.",
    no_args_is_help=True,
)  # fmt: skip
commands.add_typer(images_app, name="images")


@commands.command("import")
def import_compose(
    ctx: typer.Context,
    compose_file: Annotated[Path, typer.Argument(help="the Compose file to read")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="where to write ('-' for standard output)")
    ] = Path("stack.py"),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> int:
    """Write an equivalent, readable stack.py from a Compose file."""
    # only this command needs them
    from deployer.stackfile import codegen, compose, load, sources
    from deployer.stackfile.compose_options import ComposeOptions

    if not compose_file.is_file():
        raise StackError(str(compose_file), ["file not found"])
    # --env-file / --profile given before the command
    outer = ctx.find_object(StackSource) or StackSource()
    options = ComposeOptions(
        env_files=tuple(outer.env_files or ()), profiles=tuple(outer.profiles or ())
    )
    stack = compose.load_compose(
        compose_file, lambda m: print(f"warning: {m}", file=sys.stderr), options
    )
    load.checked(stack.model_copy(update={"root": compose_file.parent.resolve()}),
                 str(compose_file))  # fmt: skip
    to_stdout = str(output) == "-"
    if not to_stdout and output.exists() and not force:
        print(f"error: {output} exists; pass --force to overwrite it, or -o another file",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    written_in = Path.cwd() if to_stdout else output.parent.resolve()
    relative = Path(os.path.relpath(compose_file.parent.resolve(), written_in))
    # Values from the environment, .env and env files are read when stack.py loads.
    environment = compose.environment_for(compose_file, options)
    found = sources.import_sources([compose_file], environment, relative)
    text = codegen.stack_source(_rebased(stack, relative), compose_file.name, found)
    if to_stdout:
        print(text, end="")
        return 0
    output.write_text(text)
    print(f"wrote {output} ({len(stack.services)} services); check it with "
          f"`python -m deployer plan -f {output}`")  # fmt: skip
    return 0


def _rebased(stack: Stack, folder: Path) -> Stack:
    """Relative paths (build contexts, bind mounts) as seen from where stack.py is written."""
    if folder == Path("."):
        return stack
    services = []
    for service in stack.services:
        changes: dict[str, object] = {}
        if service.build is not None and not service.build.context.is_absolute():
            changes["build"] = service.build.model_copy(
                update={"context": folder / service.build.context}
            )
        mounts = [
            m.model_copy(update={"source": str(folder / m.source)})
            if m.type == "bind" and not Path(m.source).is_absolute() else m
            for m in service.mounts
        ]  # fmt: skip
        if mounts:
            changes["mounts"] = tuple(mounts)
        services.append(service.model_copy(update=changes))
    return stack.model_copy(update={"services": tuple(services)})


@images_app.command("bootstrap")
def images_bootstrap(
    ctx: typer.Context,
    which: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="BASE",
            help=f"{', '.join(bases.BASES)} (default: those stacks use; `cluster up` builds "
            "the others)",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="rebuild even when present")] = False,
    target_name: TargetOption = None,
) -> int:
    """Build deployer's base images from Debian packages (mmdebstrap, then import), where the
    target builds: one engine's; for a swarm, the engine deployer builds and pushes from."""
    target = chosen_target(ctx, "images")
    unknown = sorted(set(which or []) - set(bases.BASES))
    if unknown:
        print(f"error: no base image named {', '.join(unknown)}; known: {', '.join(bases.BASES)}",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    keys = which or [key for key, base in bases.BASES.items() if not base.for_cluster]
    engine = target.builder()
    with progress() as report:
        built = [bases.bootstrap(engine, bases.BASES[key], report, force=force) for key in keys]
    for key, image_id in zip(keys, built, strict=True):
        print(f"{bases.BASES[key].reference} {image_id[7:19]}")
    return 0


@images_app.command("list")
def images_list(ctx: typer.Context, target_name: TargetOption = None) -> int:
    """deployer's base images, and whether each is present where the target builds."""
    engine = chosen_target(ctx, "images").builder()
    for base in bases.BASES.values():
        image_id = engine.image_id(base.reference)
        state = f"present {image_id[7:19]}" if image_id else "missing"
        print(f"{base.reference:<28} {state:<22} {base.description}")
    return 0


@commands.command()
def gc(
    ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="also those of test runs that are still going")
    ] = False,
    json_output: JsonOption = False,
    target_name: TargetOption = None,
) -> int:
    """Remove throwaway test stacks left by test runs that are gone."""
    target = chosen_target(ctx, "gc")  # throwaway stacks live on one engine: others refuse
    with progress(json_output) as report:
        from deployer import api  # only this command

        removed = api.gc(report=report, everything=everything)
    if json_output:
        print_data(target, {"removed": removed})
    else:
        print(f"removed {removed} object(s) of throwaway stacks" if removed else
              "no throwaway stacks to remove")  # fmt: skip
    return 0
