"""The pages that must follow the code: the stack reference (generated from the models) and
the layout table (checked against deployer/ and the layers test)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs import reference
from tests.unit.test_layers import ALLOWED

ROOT = Path(__file__).parents[2]


def test_the_stack_reference_is_generated_from_the_models() -> None:
    committed = (ROOT / "docs" / "reference.md").read_text()
    assert committed == reference.render(), (
        "docs/reference.md is out of date: .venv/bin/python -m tests.docs.reference"
    )


def test_the_home_page_is_the_readme() -> None:
    committed = (ROOT / "docs" / "index.md").read_text()
    assert committed == reference.index((ROOT / "README.md").read_text()), (
        "docs/index.md is out of date: .venv/bin/python -m tests.docs.reference"
    )


def test_the_targets_page_shows_what_each_target_honours_as_the_code_says() -> None:
    committed = (ROOT / "docs" / "targets.md").read_text()
    assert committed == reference.with_matrix(committed), (
        "docs/targets.md's support table is out of date: .venv/bin/python -m tests.docs.reference"
    )


def _layout_rows() -> dict[str, str]:
    rows = re.findall(
        r"^\| `([\w.]+/?)` \| .*? \| (.*?) \|$", (ROOT / "docs/layout.md").read_text(), re.M
    )
    return {name.rstrip("/").removesuffix(".py"): imports for name, imports in rows}


def test_the_layout_page_names_every_package_and_module_of_deployer() -> None:
    package = ROOT / "deployer"
    present = {
        path.name.removesuffix(".py")
        for path in package.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.name not in {"__init__.py", "__main__.py"})
    }
    assert set(_layout_rows()) == present


def test_the_layout_page_says_what_each_layer_may_import_as_the_layers_test_does() -> None:
    for layer, imports in _layout_rows().items():
        said = {word for word in re.findall(r"[a-z]+", imports)}
        if "nothing" in said:
            assert ALLOWED[layer] == {layer}, layer
            continue
        # The targets' row speaks for the room and each target in it.
        allowed = set().union(*(v for k, v in ALLOWED.items() if k.partition(".")[0] == layer))
        named = said & {k.partition(".")[0] for k in ALLOWED}
        assert named <= {k.partition(".")[0] for k in allowed}, f"{layer}: the page allows {named}"
