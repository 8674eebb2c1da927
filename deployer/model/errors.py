"""One exception hierarchy; each class carries the exit code the CLI uses for it."""

from __future__ import annotations


class DeployerError(Exception):
    """Root of every error deployer raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class StackError(DeployerError):
    """The stack description is invalid: nothing was created or deleted."""

    exit_code = 2

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{source}: {len(problems)} {noun} in the stack:\n{lines}")


class EngineUnavailable(DeployerError):
    """No Docker engine answers."""

    exit_code = 3


class ImageError(DeployerError):
    """An image could not be found, pulled, built or bootstrapped."""

    exit_code = 4


class DeployFailed(DeployerError):
    """Containers were created but did not become healthy (or the engine refused them)."""

    exit_code = 5


class EngineError(DeployerError):
    """The engine refused an operation; the message is the engine's, translated."""

    exit_code = 6


class NotFound(DeployerError):
    """Something named by the user does not exist."""

    exit_code = 7


class LockBusy(DeployerError):
    """Another deploy of the same stack holds the lock."""

    exit_code = 8


class Interrupted(DeployerError):
    """Ctrl-C (SIGINT) stopped a deploy: what ran is left for the next `up` to repair."""

    exit_code = 130


class LocalFileError(DeployerError):
    """A file or folder on this host that deployer keeps or reads is unsafe or unreadable."""

    exit_code = 9
