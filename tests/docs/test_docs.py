"""Every command block of the documentation runs, so a page that stops working fails CI.

The conventions, written as HTML comments (invisible on the site) just before a fenced block:
- `<!-- not run: why -->`: shown, not run; the reason is required.
- `<!-- file: NAME -->`: the block's text is written to NAME in the page's workspace.
- `<!-- output -->`: the expected output of the Python block before it (`...` matches any lines).
A page that says `<!-- docs-test: engine -->` needs a Docker engine (integration tests),
`<!-- docs-test: default-stack -->` starts from a workspace with this repo's stack.py, app/ and
nginx/, and `<!-- docs-cleanup: COMMAND -->` runs COMMAND after the page, whatever happened.
Every page's blocks run in order, in a workspace of its own:
- `console` blocks: each `$ ` line runs in bash (`deployer` is this checkout's); the lines under
  it are its expected output (`...` matches any lines); a last line `[exit N]` expects exit N;
  an `export` or `unset` line changes the environment of the page's later commands.
- `sh` blocks run as a script; `python` blocks run in one namespace per page.
- any other block (yaml, text, toml, an output sample) is data.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md"))
_FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```\s*$", re.M | re.S)
_MARK = re.compile(r"<!--\s*(?P<kind>not run|file|output)\s*:?\s*(?P<value>.*?)\s*-->\s*$")
RUNNABLE = {"console", "sh", "bash", "python"}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    body: str
    mark: str  # "", "not run", "file", "output"
    value: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = _MARK.search(before)
        found.append(
            Block(
                path.name,
                text.count("\n", 0, match.start()) + 1,
                match["lang"],
                match["body"],
                mark["kind"] if mark else "",
                mark["value"] if mark else "",
            )
        )
    return found


def needs(path: Path, what: str) -> bool:
    return f"<!-- docs-test: {what} -->" in path.read_text()


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; a line `...` stands for any number of lines, and `...` within a line for
    any text."""
    if not expected:
        return not actual
    head, *rest = expected
    if head.strip() == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _same_line(head, actual[0]) and matches(rest, actual[1:])


def _same_line(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.rstrip().split("..."))
    return re.fullmatch(pattern, actual.rstrip()) is not None


def run_console(block: Block, workspace: Path, env: dict[str, str]) -> None:
    commands: list[tuple[str, list[str]]] = []
    for line in block.body.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        elif line.strip():
            pytest.fail(f"{block.where}: a console block starts with a `$ ` command")
    for command, expected in commands:
        if re.match(r"(export|unset) ", command):  # the page's shell remembers it
            remember(command, workspace, env)
            continue
        code = 0
        if expected and re.fullmatch(r"\[exit \d+\]", expected[-1].strip()):
            code = int(expected.pop()[6:-1])
        # One stream, in the order a terminal shows it: progress (stderr) before the result.
        done = subprocess.run(
            ["bash", "-c", command], cwd=workspace, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=600,
        )  # fmt: skip
        said = done.stdout.splitlines()
        assert done.returncode == code, (
            f"{block.where}: `{command}` exited {done.returncode}:\n" + ("\n".join(said))
        )
        assert matches(expected, said), (
            f"{block.where}: `{command}` said:\n" + "\n".join(said) + "\n\nthe page shows:\n"
            + "\n".join(expected)
        )  # fmt: skip


def remember(command: str, workspace: Path, env: dict[str, str]) -> None:
    """An `export` or `unset` line changes the environment of the page's later commands."""
    done = subprocess.run(
        ["bash", "-c", f"{command} && env -0"], cwd=workspace, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    env.clear()
    env.update(line.partition("=")[::2] for line in done.stdout.split("\0") if "=" in line)


def environment(workspace: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "HOME": os.environ.get("HOME", str(workspace)),
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_block_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    if needs(page, "engine") and os.environ.get("DEPLOYER_DOCS_WITHOUT_ENGINE"):
        pytest.skip("needs an engine")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    if needs(page, "default-stack"):
        for name in ("stack.py", "app", "nginx"):
            (workspace / name).symlink_to(ROOT / name)
    env = environment(workspace)
    try:
        run_page(page, workspace, env)
    finally:
        for cleanup in re.findall(r"<!-- docs-cleanup: (.*?) -->", page.read_text()):
            subprocess.run(["bash", "-c", cleanup], cwd=workspace, env=env, capture_output=True)


def run_page(page: Path, workspace: Path, env: dict[str, str]) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    printed = ""
    for block in blocks(page):
        if block.mark == "not run":
            assert block.value, f"{block.where}: say why the block is not run"
            continue
        if block.mark == "file":
            (workspace / block.value).write_text(block.body)
            continue
        if block.mark == "output":
            assert matches(block.body.splitlines(), printed.splitlines()), (
                f"{block.where}: the Python block printed:\n{printed}"
            )
            continue
        if block.lang == "console":
            run_console(block, workspace, env)
        elif block.lang in {"sh", "bash"}:
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.body], cwd=workspace,
                                  env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
            assert done.returncode == 0, f"{block.where}:\n{done.stdout}{done.stderr}"
        elif block.lang == "python":
            out = io.StringIO()
            with contextlib.chdir(workspace), contextlib.redirect_stdout(out):
                exec(compile(block.body, block.where, "exec"), namespace)
            printed = out.getvalue()


def test_every_runnable_block_is_run_or_says_why_not() -> None:
    """No block escapes by accident: a shell or Python block without a mark is run above."""
    for page in PAGES:
        for block in blocks(page):
            if block.lang in RUNNABLE and block.mark == "not run":
                assert len(block.value) > 10, f"{block.where}: a reason, please"


def test_the_checks_can_fail() -> None:
    assert matches(["a", "...", "c"], ["a", "b", "b", "c"])
    assert matches(["up in ...s"], ["up in 0.5s"])
    assert not matches(["up in ...s"], ["down in 0.5s"])
    assert not matches(["a", "c"], ["a", "b", "c"])
    assert not matches(["a"], [])
