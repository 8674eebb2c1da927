"""Compose's interpolation and .env files, case by case as the Compose specification has them."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.stackfile.interpolate import (
    InterpolationError,
    interpolate,
    read_env_file,
    substitute,
)

ENV = {"SET": "value", "EMPTY": "", "PORT": "8080"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$SET", "value"),
        ("${SET}", "value"),
        ("x${SET}y$SET.z", "xvalueyvalue.z"),
        ("$UNSET", ""),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${SET:-d}", "value"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-${PORT}}", "8080"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${UNSET:-a b/c:d}", "a b/c:d"),
        ("$$SET", "$SET"),
        ("mysqladmin -p$$MYSQL_PASSWORD", "mysqladmin -p$MYSQL_PASSWORD"),
        ("$${SET}", "${SET}"),
        ("no templates", "no templates"),
        ("${PORT:-8080}:80", "8080:80"),
    ],
)
def test_templates(template: str, expected: str) -> None:
    assert substitute(template, ENV) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${UNSET:?set it in .env}", "required variable UNSET is missing a value: set it in .env"),
        ("${EMPTY:?}", "required variable EMPTY is missing a value: is empty"),
        ("${UNSET?}", "required variable UNSET is missing a value: is not set"),
        ("${SET", "unclosed '${'"),
        ("${UNSET:-${SET}", "unclosed '${'"),
        ("${}", "must be followed by a variable name"),
        ("${SET!}", "unexpected '!'"),
        ("cost: $5", "a '$' must start $NAME"),
        ("trailing $", "a '$' must start $NAME"),
    ],
)
def test_errors_say_what_is_wrong(template: str, message: str) -> None:
    with pytest.raises(InterpolationError, match=message.replace("$", r"\$").replace("{", r"\{")):
        substitute(template, ENV)


def test_required_but_empty_passes_the_plain_question_mark() -> None:
    assert substitute("${EMPTY?}", ENV) == ""


def test_interpolate_walks_values_not_keys_and_reports_paths() -> None:
    problems: list[tuple[str, str]] = []
    data = {"${SET}": {"image": "app:${SET}", "ports": ["${PORT}:80", 9], "bad": "${X:?no}"}}
    result = interpolate(data, ENV, lambda path, why: problems.append((path, why)))
    assert result["${SET}"]["image"] == "app:value"
    assert result["${SET}"]["ports"] == ["8080:80", 9]
    assert problems == [("${SET}.bad", "required variable X is missing a value: no")]


def test_env_file_syntax(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# a comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=yes\n"
        "SPACED = around \n"
        "INLINE=kept # dropped\n"
        "HASH=a#b\n"
        "SINGLE='literal $PLAIN \\n'\n"
        'DOUBLE="line\\nnext $PLAIN"\n'
        'MULTI="first\n'
        'second"\n'
        "REF=${PLAIN}-${FROM_SHELL:-none}\n"
        "ESCAPED=$$PLAIN\n"
        "EMPTY=\n"
        "FROM_SHELL\n"
    )
    values = read_env_file(path, {"FROM_SHELL": "shell"})
    assert values == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SPACED": "around",
        "INLINE": "kept",
        "HASH": "a#b",
        "SINGLE": "literal $PLAIN \\n",
        "DOUBLE": "line\nnext value",
        "MULTI": "first\nsecond",
        "REF": "value-shell",
        "ESCAPED": "$PLAIN",
        "EMPTY": "",
        "FROM_SHELL": "shell",
    }


def test_env_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("OK=1\nBAD NAME=2\n")
    with pytest.raises(InterpolationError, match=r"\.env:2: 'BAD NAME' is not a variable name"):
        read_env_file(path, {})
    path.write_text('OK=1\nOPEN="never closed\n')
    with pytest.raises(InterpolationError, match=r"\.env:2: OPEN: unclosed"):
        read_env_file(path, {})
