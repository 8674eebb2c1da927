"""One seam for every target: what a command can ask of a target, and what each one honours.

A target is where a stack runs: one Docker engine, a Swarm, or Kubernetes (rendered only). Every
command goes through a Target; a target says per command which options it honours, or why it
cannot run that command at all. The CLI refuses the rest (exit 64) instead of dropping them, in
one place, the way kompose refuses a flag that belongs to another provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from deployer.model.errors import DeployerError

if TYPE_CHECKING:  # types only: the models load with the first stack, docker when connecting
    from deployer.core.events import Report
    from deployer.core.plan import Plan
    from deployer.core.status import Deployment, LogLine, ReplicaStatus, StackSummary
    from deployer.engine.protocol import Engine
    from deployer.model.spec import Stack

TargetName = Literal["engine", "swarm", "kubernetes"]
TARGET_NAMES: tuple[TargetName, ...] = ("engine", "swarm", "kubernetes")

# The version of every command's --json output. 2: the same keys on every target, status rows
# under "replicas" with "node", a plan's "object_id" (1 had "container_id" and bare lists).
SCHEMA_VERSION = 2

Show = Callable[["LogLine"], None]  # where an attached `up` sends each line

# Options that say which stack or how to print, never how to act: every target takes them.
ANY_TARGET = frozenset({"files", "project", "name", "json_output", "target_name"})


class NotOnTarget(DeployerError):
    """The chosen target cannot run this command, or does not honour one of its options."""

    exit_code = 64


@dataclass(frozen=True)
class Support:
    """What a target does with one command: the options it honours, or why it cannot run it."""

    options: frozenset[str] = frozenset()
    refusal: str = ""  # why not and what to do instead; "" when the command runs
    why_not: Mapping[str, str] = field(default_factory=dict)  # an option refused: why

    @classmethod
    def of(cls, *options: str, why_not: Mapping[str, str] | None = None) -> Support:
        return cls(options=frozenset(options), why_not=why_not or {})

    @classmethod
    def refused(cls, why: str) -> Support:
        return cls(refusal=why)


class Stopper(Protocol):
    """Ends a log stream that follows (a threading.Event)."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Request:
    """A command's options, as the CLI or a script gives them. A target reads only those its
    `support` lists; the rest keep their defaults (the CLI refused any that were given)."""

    services: tuple[str, ...] = ()
    timeout: float | None = None  # seconds to wait for health
    lock_timeout: float = 600.0
    registry: str | None = None  # a swarm's: where images are pushed and nodes pull from
    no_deps: bool = False
    force_recreate: bool = False
    build: bool = True
    pull: Literal["always", "missing", "never"] = "missing"
    bootstrap: bool = True
    engine_health: bool = False
    stop_timeout: int | None = None  # down: seconds before a kill
    remove_volumes: bool = False
    remove_images: bool = False
    no_cache: bool = False
    # up, attached (Compose's): stream the stack's lines; stop it when a container exits; whose
    # exit code is deployer's
    attach: bool = False
    abort_on_exit: bool = False
    exit_code_from: str | None = None
    watch: bool = False  # up: then watch the services' files (deployer watch)
    # logs
    follow: bool = False
    since: str | None = None
    tail: int | None = None


class Target(Protocol):
    """One kind of place a stack runs. Each command either acts there or raises NotOnTarget."""

    name: TargetName

    def support(self, command: str) -> Support: ...

    def check(self, stack: Stack) -> list[str]:
        """Everything this target cannot run as written, each naming its field."""
        ...

    def plan(self, stack: Stack, request: Request) -> Plan: ...
    def up(self, stack: Stack, request: Request, report: Report) -> Deployment: ...
    def rollback(self, stack: Stack, request: Request, report: Report) -> Deployment: ...
    def down(self, stack: str, request: Request, report: Report) -> int: ...
    def status(self, stack: str) -> list[ReplicaStatus]: ...
    def logs(self, stack: str, request: Request, stop: Stopper) -> Iterator[LogLine]: ...
    def restart(self, stack: Stack, request: Request, report: Report) -> int: ...
    def stop(self, stack: str, request: Request, report: Report) -> int: ...
    def start(self, stack: str, request: Request, report: Report) -> int: ...
    def stacks(self) -> list[StackSummary]: ...
    def build(self, stack: Stack, request: Request, report: Report) -> dict[str, str]: ...
    def pull(self, stack: Stack, request: Request, report: Report) -> dict[str, str]: ...

    def attach(self, stack: str, request: Request, show: Show, report: Report) -> int:
        """After `up`: the stack's lines from `request.since` until Ctrl-C (exit 0) or, with
        abort_on_exit, until a container exits (then the exit code of `exit_code_from`'s)."""
        ...

    def watch(self, stack: Stack, request: Request, report: Report, stop: Stopper) -> int:
        """Apply the services' watch rules to their file changes until `stop` (Ctrl-C): 0."""
        ...

    def builder(self) -> Engine:
        """Where this target's images are built (and deployer's base images made)."""
        ...

    def engine_address(self) -> str:
        """The address of the engine it acts through (a swarm's manager), as given: what says
        whether a published port is on this machine or a server's."""
        ...


def refuse(target: TargetName, command: str, why: str) -> NotOnTarget:
    return NotOnTarget(f"`{command}` on the {target} target: {why}")


def check_support(target: Target, command: str, given: dict[str, str]) -> None:
    """Refuse the command, or the first option given (param name -> as spelled), that `target`
    does not honour."""
    support = target.support(command)
    if support.refusal:
        raise refuse(target.name, command, support.refusal)
    for name, spelled in given.items():
        if name not in ANY_TARGET and name not in support.options:
            raise NotOnTarget(
                f"`{command} {spelled}` on the {target.name} target: "
                + support.why_not.get(name, f"this target does not honour {spelled}"),
                hint=f"leave {spelled} out, or deploy to a target that honours it",
            )
