"""Parsing of the human units stacks are written in: durations ("1m30s") and sizes ("512m")."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# Docker's units are binary: "512m" is 512 MiB, as `docker run --memory` reads it.
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?", re.IGNORECASE)
_SIZE_FACTOR = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


_ISO_DURATION = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


# A year is longer than any grace period, interval or timeout means; past it, a typo.
MAX_DURATION = timedelta(days=365)


def parse_duration(value: object) -> timedelta:
    """Accept "5s", "1m30s", "500ms", ISO 8601 ("PT5S"), a number of seconds, or a timedelta."""
    duration = _parse_duration(value)
    if duration > MAX_DURATION:
        raise ValueError(f"duration {value!r} is longer than a year; write a shorter one")
    return duration


def _parse_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration is a string like '5s' or '1m', not a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        if value != value or value > MAX_DURATION.total_seconds():  # NaN, or absurdly long
            raise ValueError(f"duration {value!r} is longer than a year; write a shorter one")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"a duration is a string like '5s' or '1m', not {type(value).__name__}")
    text = value.strip()
    iso = _ISO_DURATION.fullmatch(text)
    if iso and text not in {"P", "PT"}:  # the form pydantic writes a timedelta in
        parts = {key: float(number or 0) for key, number in iso.groupdict().items()}
        seconds = parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
        return _parse_duration(seconds)
    pos, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _DURATION_SECONDS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(
            f"invalid duration {value!r}: write a number with a unit, like '500ms', '5s', '1m30s'"
        )
    return _parse_duration(seconds)


def parse_size(value: object) -> int:
    """Accept "512m", "1g", "64MiB", "1024" or an int, and return bytes."""
    if isinstance(value, bool):
        raise ValueError("a size is a string like '512m' or a number of bytes, not a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    if not isinstance(value, str):
        raise ValueError(f"a size is a string like '512m', not {type(value).__name__}")
    match = _SIZE.fullmatch(value.strip())
    if not match:
        raise ValueError(f"invalid size {value!r}: write a number with a unit, like '256m' or '1g'")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * _SIZE_FACTOR[unit])


def to_nanoseconds(duration: timedelta) -> int:
    """The Engine API counts durations in integer nanoseconds."""
    return (
        duration.days * 86_400_000_000_000
        + duration.seconds * 1_000_000_000
        + duration.microseconds * 1_000
    )


def format_duration(duration: timedelta) -> str:
    """Short human form: 3s, 2m05s, 1h02m."""
    total = int(duration.total_seconds())
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    if total < 86400:
        return f"{total // 3600}h{total % 3600 // 60:02d}m"
    return f"{total // 86400}d{total % 86400 // 3600:02d}h"
