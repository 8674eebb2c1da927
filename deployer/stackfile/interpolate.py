"""Compose's variable interpolation and its `.env` files (pure: text in, values out).

The syntax is the Compose specification's: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
empty), `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (required),
`${VAR:+alternative}` / `${VAR+alternative}`, defaults that nest further templates, and `$$` for
a literal `$`. Anything else after a `$` is an error, as it is for Compose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A template that cannot be read, or a required variable that is missing."""


Unset = Callable[[str], None]


def _ignore(name: str) -> None:
    pass


def substitute(text: str, environment: Mapping[str, str], unset: Unset = _ignore) -> str:
    """`text` with every template replaced by its value from `environment`; `unset` hears of
    each variable used without a default that has no value (it reads as empty)."""
    value, end = _template(text, 0, environment, closing=False, unset=unset)
    assert end == len(text)
    return value


def _template(
    text: str, start: int, environment: Mapping[str, str], closing: bool, unset: Unset
) -> tuple[str, int]:
    """Read from `start` to the end (or, inside braces, to the unmatched `}`)."""
    out: list[str] = []
    index = start
    while index < len(text):
        char = text[index]
        if closing and char == "}":
            return "".join(out), index
        if char != "$":
            out.append(char)
            index += 1
            continue
        following = text[index + 1] if index + 1 < len(text) else ""
        if following == "$":
            out.append("$")
            index += 2
        elif following == "{":
            value, index = _braced(text, index + 2, environment, unset)
            out.append(value)
        else:
            name = _NAME.match(text, index + 1)
            if name is None:
                raise InterpolationError(
                    f"invalid interpolation format in {text!r}: a '$' must start $NAME or "
                    "${NAME}; write '$$' for a literal '$'"
                )
            out.append(_plain(name.group(), environment, unset))
            index = name.end()
    if closing:
        raise InterpolationError(f"invalid interpolation format in {text!r}: unclosed '${{'")
    return "".join(out), index


def _plain(variable: str, environment: Mapping[str, str], unset: Unset) -> str:
    if variable not in environment:
        unset(variable)
    return environment.get(variable, "")


def _braced(text: str, start: int, environment: Mapping[str, str], unset: Unset) -> tuple[str, int]:
    """After `${`: the variable, an optional operator and its word, then `}`."""
    name = _NAME.match(text, start)
    if name is None:
        raise InterpolationError(
            f"invalid interpolation format in {text!r}: '${{' must be followed by a variable name"
        )
    variable = name.group()
    index = name.end()
    operator = next((op for op in _OPERATORS if text.startswith(op, index)), None)
    if operator is None:
        if not text.startswith("}", index):
            if index >= len(text):
                raise InterpolationError(
                    f"invalid interpolation format in {text!r}: unclosed '${{'"
                )
            raise InterpolationError(
                f"invalid interpolation format in {text!r}: unexpected {text[index]!r} after "
                f"${{{variable}"
            )
        return _plain(variable, environment, unset), index + 1
    word, end = _template(text, index + len(operator), environment, closing=True, unset=unset)
    value = environment.get(variable)
    is_set, is_empty = value is not None, not value
    if operator in {":-", "-"}:
        use_default = not is_set or (operator == ":-" and is_empty)
        return (word if use_default else str(value)), end + 1
    if operator in {":+", "+"}:
        present = is_set and not (operator == ":+" and is_empty)
        return (word if present else ""), end + 1
    missing = not is_set or (operator == ":?" and is_empty)
    if missing:
        reason = word or ("is not set" if not is_set else "is empty")
        raise InterpolationError(f"required variable {variable} is missing a value: {reason}")
    return str(value), end + 1


def interpolate(
    data: Any,
    environment: Mapping[str, str],
    problem: Callable[[str, str], None],
    unset: Callable[[str, str], None] = lambda path, name: None,
    path: str = "",
) -> Any:
    """Every string value in `data` (not the keys) interpolated; `problem(path, message)` is
    called for each template that fails, whose value is then left as written, and
    `unset(path, variable)` for each variable without a value or a default. A tagged value (an
    object with `value` and `rewrap`, such as Compose's `!override`) has its value interpolated."""
    if hasattr(data, "rewrap"):
        return data.rewrap(interpolate(data.value, environment, problem, unset, path))
    if isinstance(data, dict):
        return {
            key: interpolate(
                value, environment, problem, unset, f"{path}.{key}" if path else str(key)
            )
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [
            interpolate(item, environment, problem, unset, f"{path}.{index}")
            for index, item in enumerate(data)
        ]
    if isinstance(data, str) and "$" in data:
        try:
            return substitute(data, environment, lambda name: unset(path, name))
        except InterpolationError as error:
            problem(path, str(error))
    return data


def unset_message(where: str, path: str, variable: str) -> str:
    """The warning for a variable used without a value or a default."""
    return (
        f"{where}: {path}: variable {variable} is not set; it reads as an empty string (set it, "
        f"or give a default: ${{{variable}:-default}})"
    )


# -- .env files --------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$$"}


def read_env_file(path: Path, environment: Mapping[str, str]) -> dict[str, str]:
    """A `.env` file as Compose reads it: KEY=VALUE lines, `export ` allowed, `#` comments,
    single quotes literal, double quotes with escapes and several lines, unquoted values up to
    an inline ` #` comment. Values may refer to variables defined earlier or in `environment`.

    Raises InterpolationError (with the line) for a line it cannot read.
    """
    text = path.read_text(encoding="utf-8")
    values: dict[str, str] = {}
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number].strip()
        first = number + 1
        number += 1
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, raw = line.partition("=")
        key = key.strip()
        if not _NAME.fullmatch(key):
            raise InterpolationError(f"{path}:{first}: {key!r} is not a variable name")
        if not sep:
            # A bare name takes its value from the environment, if it has one.
            if key in environment:
                values[key] = environment[key]
            continue
        raw = raw.lstrip()
        scope = {**environment, **values}
        if raw[:1] in {"'", '"'}:
            quote = raw[0]
            body = raw[1:]
            while not _closed(body, quote):
                if number >= len(lines):
                    raise InterpolationError(f"{path}:{first}: {key}: unclosed {quote}")
                body += "\n" + lines[number]
                number += 1
            content = body[: _closing_index(body, quote)]
            if quote == "'":
                values[key] = content
            else:
                values[key] = _unescaped_then_substituted(content, scope, path, first)
        else:
            content = re.split(r"\s#", raw, maxsplit=1)[0].strip()
            values[key] = _substituted(content, scope, path, first)
    return values


def _closed(body: str, quote: str) -> bool:
    return _closing_index(body, quote) >= 0


def _closing_index(body: str, quote: str) -> int:
    index = 0
    while index < len(body):
        if body[index] == "\\" and quote == '"':
            index += 2
            continue
        if body[index] == quote:
            return index
        index += 1
    return -1


def _unescaped_then_substituted(
    content: str, scope: Mapping[str, str], path: Path, line: int
) -> str:
    out = []
    index = 0
    while index < len(content):
        char = content[index]
        if char == "\\" and index + 1 < len(content) and content[index + 1] in _ESCAPES:
            out.append(_ESCAPES[content[index + 1]])
            index += 2
        else:
            out.append(char)
            index += 1
    return _substituted("".join(out), scope, path, line)


def _substituted(content: str, scope: Mapping[str, str], path: Path, line: int) -> str:
    try:
        return substitute(content, scope)
    except InterpolationError as error:
        raise InterpolationError(f"{path}:{line}: {error}") from None
