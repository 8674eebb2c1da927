"""What `config` may print: env values the stack files do not spell themselves are hidden.

A value from the shell, `.env` or an env file may be a password; `config` output is pasted
into issues and CI logs. What the files spell out is configuration and is shown as written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from deployer.core.outside import guarded

# From the environment or an env file; `config --show-values` prints it.
HIDDEN = "<hidden: --show-values>"


def concealed(data: dict[str, Any], stack_text: str, outside: Iterable[str] = ()) -> dict[str, Any]:
    """`data` (a Stack's JSON dump) with every env value not in `stack_text` hidden, and every
    string holding one of the `outside` values (those a Compose file's templates read)."""
    hidden: dict[str, Any] = _strings(data, guarded(outside))
    for service in hidden.get("services") or []:
        env = service.get("env") or {}
        service["env"] = {key: v if v in stack_text else HIDDEN for key, v in env.items()}
    return hidden


def _strings(data: Any, protected: list[str]) -> Any:
    if isinstance(data, dict):
        return {key: _strings(value, protected) for key, value in data.items()}
    if isinstance(data, list):
        return [_strings(item, protected) for item in data]
    if isinstance(data, str) and any(value in data for value in protected):
        return HIDDEN
    return data
