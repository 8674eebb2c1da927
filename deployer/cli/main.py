"""`python -m deployer`: a thin layer over the API. Errors become one message and an exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from deployer import api
from deployer.cli.output import Progress, status_table
from deployer.images import bases
from deployer.model.errors import DeployerError, StackError
from deployer.model.spec import Stack
from deployer.stackfile import load

EXIT_USAGE = 64  # distinct from StackError's 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m deployer",
        description="Deploy typed Python stacks onto a Docker engine.",
        epilog="Exit codes: 2 invalid stack, 3 no engine, 4 image problem, 5 deploy failed, "
        "6 engine refused, 7 not found, 8 another deploy holds the lock, 64 usage.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def with_file(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "-f", "--file", type=Path, default=Path("stack.py"),
            help="stack file: .py (defines `stack`) or .yaml (default: ./stack.py)",
        )  # fmt: skip

    def with_lock(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--lock-timeout", type=float, default=api.LOCK_TIMEOUT, metavar="S",
            help="seconds to wait while another deploy of the stack runs (default: %(default)s)",
        )  # fmt: skip

    def with_name(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--name", help="the stack's name; stack.py is then not read")

    up = commands.add_parser("up", help="build, create and start the stack; wait until healthy")
    with_file(up)
    up.add_argument("--json", action="store_true", help="print the result as JSON")
    up.add_argument("--timeout", type=float, help="seconds to wait for health (default: derived)")
    up.add_argument(
        "--no-bootstrap", action="store_true",
        help="fail instead of building missing deployer base images",
    )  # fmt: skip
    with_lock(up)

    rollback = commands.add_parser(
        "rollback", help="return every service to the version its containers replaced"
    )
    with_file(rollback)
    rollback.add_argument("--json", action="store_true", help="print the result as JSON")
    rollback.add_argument("--timeout", type=float, help="seconds to wait for health")
    with_lock(rollback)

    down = commands.add_parser("down", help="stop and remove the stack's containers and networks")
    with_file(down)
    with_name(down)
    down.add_argument("--json", action="store_true", help="print the result as JSON")
    down.add_argument("--rmi", action="store_true", help="also remove the images built for it")
    down.add_argument(
        "-v", "--volumes", action="store_true", help="also remove the stack's named volumes"
    )
    with_lock(down)
    down.add_argument(
        "--timeout",
        type=int,
        help="stop timeout in seconds (default: the service's stop_grace_period)",
    )

    status = commands.add_parser("status", help="show every replica of the stack")
    with_file(status)
    with_name(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")

    plan = commands.add_parser("plan", help="show what `up` would do, and why; changes nothing")
    with_file(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")

    gc = commands.add_parser("gc", help="remove throwaway test stacks left by dead test runs")
    gc.add_argument(
        "--all", action="store_true", dest="everything",
        help="also those of test runs that are still going",
    )  # fmt: skip
    gc.add_argument("--json", action="store_true", help="print the result as JSON")

    importer = commands.add_parser(
        "import", help="write an equivalent stack.py from a docker-compose.yml"
    )
    importer.add_argument("compose_file", type=Path, help="the Compose file to read")
    importer.add_argument(
        "-o", "--output", type=Path, default=Path("stack.py"),
        help="where to write (default: ./stack.py; '-' for standard output)",
    )  # fmt: skip
    importer.add_argument("--force", action="store_true", help="overwrite an existing file")

    image_cmd = commands.add_parser("images", help="deployer's own base images")
    image_actions = image_cmd.add_subparsers(dest="action", required=True, parser_class=_Parser)
    boot = image_actions.add_parser("bootstrap", help="build base images from Debian packages")
    boot.add_argument(
        "which", nargs="*", metavar="BASE", help=f"{', '.join(bases.BASES)} (default: all)"
    )
    boot.add_argument("--force", action="store_true", help="rebuild even when present")
    image_actions.add_parser("list", help="show deployer's base images and whether present")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except DeployerError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _stack_name(args: argparse.Namespace) -> str:
    if getattr(args, "name", None):
        return str(args.name)
    return load.load(args.file, _warn).name


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def _print_deployment(deployment: api.Deployment, as_json: bool) -> None:
    if as_json:
        _print_json(deployment.as_data())
        return
    print(status_table(deployment.replicas))
    if deployment.plan.empty:
        print(f"\nstack {deployment.stack}: nothing to do; every container is healthy")
    else:
        print(f"\nstack {deployment.stack} is up and healthy in {deployment.seconds:.1f}s")
    for service, url in deployment.urls().items():
        print(f"  {service}: {url}")


def _run(args: argparse.Namespace) -> int:
    progress = Progress(json_lines=bool(getattr(args, "json", False)))
    if args.command == "up":
        deployment = api.up(
            load.load(args.file, _warn),
            report=progress,
            timeout=args.timeout,
            bootstrap=not args.no_bootstrap,
            lock_timeout=args.lock_timeout,
        )
        _print_deployment(deployment, args.json)
        return 0
    if args.command == "rollback":
        deployment = api.rollback(
            load.load(args.file, _warn),
            report=progress,
            timeout=args.timeout,
            lock_timeout=args.lock_timeout,
        )
        _print_deployment(deployment, args.json)
        return 0
    if args.command == "down":
        name = _stack_name(args)
        removed = api.down(
            name,
            report=progress,
            stop_timeout=args.timeout,
            remove_images=args.rmi,
            lock_timeout=args.lock_timeout,
            remove_volumes=args.volumes,
        )
        if args.json:
            _print_json({"stack": name, "removed": removed})
        else:
            print(
                f"stack {name}: removed {removed} object(s)"
                if removed
                else f"stack {name}: nothing to remove"
            )
        return 0
    if args.command == "status":
        name = _stack_name(args)
        replicas = api.status(name)
        if args.json:
            _print_json([replica.as_data() for replica in replicas])
        elif replicas:
            print(status_table(replicas))
        else:
            print(f"stack {name}: no containers")
        return 0
    if args.command == "plan":
        the_plan = api.plan(load.load(args.file, _warn))
        if args.json:
            _print_json(the_plan.as_data())
        else:
            print(the_plan.text())
        return 0
    if args.command == "import":
        return _import(args)
    if args.command == "gc":
        removed = api.gc(report=progress, everything=args.everything)
        if args.json:
            _print_json({"removed": removed})
        else:
            print(f"removed {removed} object(s) of throwaway stacks" if removed else
                  "no throwaway stacks to remove")  # fmt: skip
        return 0
    if args.command == "images":
        return _images(args, progress)
    raise AssertionError(args.command)


def _import(args: argparse.Namespace) -> int:
    from deployer.stackfile import codegen, compose  # only this command needs them

    source: Path = args.compose_file
    if not source.is_file():
        raise StackError(str(source), ["file not found"])
    stack = compose.load_compose(source, _warn)
    load.checked(stack.model_copy(update={"root": source.parent.resolve()}), str(source))
    output: Path = args.output
    to_stdout = str(output) == "-"
    if not to_stdout and output.exists() and not args.force:
        print(f"error: {output} exists; pass --force to overwrite it, or -o another file",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    written_in = Path.cwd() if to_stdout else output.parent.resolve()
    text = codegen.stack_source(
        _rebased(stack, Path(os.path.relpath(source.parent.resolve(), written_in))), source.name
    )
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


def _images(args: argparse.Namespace, progress: Progress) -> int:
    engine = api.connect()
    if args.action == "list":
        for base in bases.BASES.values():
            image_id = engine.image_id(base.reference)
            state = f"present {image_id[7:19]}" if image_id else "missing"
            print(f"{base.reference:<28} {state:<22} {base.description}")
        return 0
    unknown = sorted(set(args.which) - set(bases.BASES))
    if unknown:
        print(
            f"error: no base image named {', '.join(unknown)}; known: {', '.join(bases.BASES)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for key in args.which or list(bases.BASES):
        base = bases.BASES[key]
        image_id = bases.bootstrap(engine, base, progress, force=args.force)
        print(f"{base.reference} {image_id[7:19]}")
    return 0
