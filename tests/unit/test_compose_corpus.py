"""Compose files nobody here wrote (tests/compose_corpus: half of docker's awesome-compose, and
the inline fixtures of compose-go's loader tests), loaded as they are.

- every awesome-compose file imports (`python -m deployer import`, exit 0), the stack.py it
  writes loads back to the same stack, and no value is left as a literal `${...}`;
- every file of the corpus gives a Stack or a StackError: never another exception.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from deployer.cli.main import main
from deployer.model.errors import StackError
from deployer.stackfile import load

CORPUS = Path(__file__).parents[1] / "compose_corpus"
AWESOME = sorted(CORPUS.glob("awesome-compose/*/compose.y*ml"))
EVERY = sorted(p for p in CORPUS.rglob("*") if p.suffix in {".yaml", ".yml"})


def test_the_corpus_is_there() -> None:
    assert len(AWESOME) >= 19 and len(EVERY) >= 150


@pytest.mark.parametrize("path", AWESOME, ids=lambda p: p.parent.name)
def test_every_awesome_compose_file_imports_and_loads_back(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / path.parent.name  # stack.py is written beside the Compose file
    shutil.copytree(path.parent, project)
    path = project / path.name
    output = project / "stack.py"
    assert main(["import", str(path), "-o", str(output)]) == 0, capsys.readouterr().err
    from_compose = load.load_files([path], warn=lambda _: None, as_compose=True)
    from_python = load.load(output)
    assert from_python.model_dump(exclude={"root"}) == from_compose.model_dump(exclude={"root"})
    dumped = json.dumps(from_compose.model_dump(mode="json"))
    assert not re.search(r"\$\{[A-Za-z_]", dumped), "a ${VAR} was left uninterpolated"


@pytest.mark.parametrize("path", EVERY, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_file_is_a_stack_or_a_clear_error(path: Path) -> None:
    try:
        load.load_files([path], warn=lambda _: None, as_compose=True)
    except StackError as error:
        assert error.problems and all(problem.strip() for problem in error.problems)
