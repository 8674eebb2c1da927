from datetime import timedelta

import pytest

from deployer.model.units import format_duration, parse_duration, parse_size, to_nanoseconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5),
        ("1m", 60),
        ("1m30s", 90),
        ("500ms", 0.5),
        ("2h", 7200),
        ("1.5s", 1.5),
        (3, 3),
        ("PT20S", 20),
        ("PT0.5S", 0.5),
        ("P1DT1H", 90000),
        ("PT1M30S", 90),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5", "five", "5 s", "s5", "1x", "", "-1s", "P", "PT"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("512m", 512 * 2**20), ("1g", 2**30), ("64MiB", 64 * 2**20), ("1024", 1024), ("1.5k", 1536),
     (4096, 4096), ("1GB", 2**30)],
)  # fmt: skip
def test_sizes_are_binary_like_docker(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "12q", "m512", ""])
def test_malformed_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


def test_nanoseconds_are_exact() -> None:
    assert to_nanoseconds(timedelta(seconds=2)) == 2_000_000_000
    assert to_nanoseconds(timedelta(milliseconds=250)) == 250_000_000
    assert to_nanoseconds(timedelta(days=1)) == 86_400_000_000_000


def test_format_duration() -> None:
    assert format_duration(timedelta(seconds=42)) == "42s"
    assert format_duration(timedelta(seconds=125)) == "2m05s"
    assert format_duration(timedelta(hours=1, minutes=2)) == "1h02m"
