"""The fast answer's decisions, without an engine: which command lines it may take, what counts
as an input, and a digest that moves with every input and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deployer.unchanged import inputs, record
from deployer.unchanged.invocation import parse

KEY = b"k" * 32


@pytest.mark.parametrize(
    "argv",
    [
        ["up"], ["plan"], ["-f", "a.yaml", "up"], ["up", "-f", "a.yaml", "-p", "shop"],
        ["--file=a.yaml", "--project-name=shop", "plan"], ["--env-file", ".env.prod", "up"],
        ["--profile", "debug", "--target", "engine", "up"], ["up", "--target=engine"],
        ["--target", "swarm", "up"],
    ],
)  # fmt: skip
def test_stack_options_alone_may_be_answered_fast(argv: list[str]) -> None:
    found = parse(argv)
    assert found is not None and found.command == argv[-1 if argv[-1] in {"up", "plan"} else 0]


@pytest.mark.parametrize(
    "argv",
    [
        [], ["status"], ["down"], ["up", "web"], ["up", "--json"], ["plan", "--json"],
        ["-H", "ssh://me@host", "up"], ["up", "--target", "kubernetes"], ["up", "--scale", "web=2"],
        ["up", "--profile", "debug"], ["up", "-p"], ["up", "-p", "a", "-p", "b"],
        ["up", "--force-recreate"], ["up", "--pull", "always"], ["--help"], ["up", "--help"],
    ],
)  # fmt: skip
def test_anything_else_goes_to_the_full_command_line(argv: list[str]) -> None:
    assert parse(argv) is None


def test_a_target_from_the_environment_counts_and_the_command_line_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOYER_TARGET", "kubernetes")
    assert parse(["up"]) is None
    assert parse(["up", "--target", "engine"]) is not None
    monkeypatch.setenv("DEPLOYER_TARGET", "swarm")
    on_swarm, on_engine = parse(["up"]), parse(["up", "--target", "engine"])
    assert on_swarm is not None and on_engine is not None
    assert on_swarm.identity() != on_engine.identity()  # one record per target


def test_files_after_the_command_replace_the_ones_before_it() -> None:
    found = parse(["-f", "a.yaml", "-p", "one", "up", "-f", "b.yaml"])
    assert found is not None and (found.files, found.project) == (("b.yaml",), "one")
    assert parse(["-f", "a.yaml", "up"]).identity() != parse(["-f", "b.yaml", "up"]).identity()  # type: ignore[union-attr]
    assert parse(["-f", "a.yaml", "up"]).identity() == parse(["plan", "-f", "a.yaml"]).identity()  # type: ignore[union-attr]


def settled(*paths: Path) -> None:
    """As if written a minute ago: a later write gets other times, however coarse the clock."""
    for path in paths:
        os.utime(path, (os.stat(path).st_atime - 60, os.stat(path).st_mtime - 60))


def test_a_recorder_notes_reads_and_listings_not_writes_or_its_own_files(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (tmp_path / "read.txt").write_text("x")
    (tmp_path / "listed").mkdir()
    with inputs.Recorder([str(own)]) as recorder:
        (tmp_path / "read.txt").read_text()
        (tmp_path / "written.txt").write_text("y")
        os.listdir(tmp_path / "listed")
        (own / "key").write_bytes(b"k")
        (own / "key").read_bytes()
    (tmp_path / "after.txt").write_text("z")
    (tmp_path / "after.txt").read_text()
    assert sorted(recorder.seen) == [
        str(tmp_path), str(tmp_path / "listed"), str(tmp_path / "read.txt"),
    ]  # fmt: skip
    assert recorder.racy  # each was written just now


def test_a_run_that_read_only_settled_files_is_not_racy(tmp_path: Path) -> None:
    (tmp_path / "read.txt").write_text("x")
    settled(tmp_path / "read.txt", tmp_path)
    with inputs.Recorder() as recorder:
        (tmp_path / "read.txt").read_text()
    assert list(recorder.seen) == [str(tmp_path / "read.txt"), str(tmp_path)]
    assert not recorder.racy


def test_the_digest_moves_with_a_file_a_variable_or_the_key_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = tmp_path / "compose.yaml"
    stack.write_text("services: {}\n")
    settled(stack, tmp_path)
    paths = [str(stack), str(tmp_path)]
    first = inputs.digest(KEY, "id", inputs.current(paths))
    assert inputs.digest(KEY, "id", inputs.current(paths)) == first
    monkeypatch.setenv("OLDPWD", "/somewhere/else")  # the shell's bookkeeping does not count
    assert inputs.digest(KEY, "id", inputs.current(paths)) == first
    assert inputs.digest(b"o" * 32, "id", inputs.current(paths)) != first
    assert inputs.digest(KEY, "other", inputs.current(paths)) != first
    monkeypatch.setenv("TAG", "v2")
    assert inputs.digest(KEY, "id", inputs.current(paths)) != first
    monkeypatch.delenv("TAG")
    stack.write_text("services: {}\n")  # the same text, written again
    rewritten = inputs.digest(KEY, "id", inputs.current(paths))
    assert rewritten != first
    settled(tmp_path)
    rewritten = inputs.digest(KEY, "id", inputs.current(paths))
    (tmp_path / ".env").write_text("TAG=v3\n")  # a file made beside it
    assert inputs.digest(KEY, "id", inputs.current(paths)) != rewritten


def test_records_not_rewritten_for_a_month_go_when_another_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYER_CACHE_DIR", str(tmp_path / "cache"))
    record.key()
    record.write("old", {"stack": "a"})
    folder = tmp_path / "cache" / "unchanged"
    month = 31 * 86400
    os.utime(folder / "old", (os.stat(folder / "old").st_atime - month,) * 2)
    os.utime(folder / "key", (os.stat(folder / "key").st_atime - month,) * 2)
    record.write("new", {"stack": "b"})
    assert sorted(p.name for p in folder.iterdir()) == ["key", "new"]
    assert record.read("new") == {"format": record.FORMAT, "stack": "b"}
    assert record.read("old") is None
