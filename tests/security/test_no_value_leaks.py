"""Property: no value from the environment or an env file ever appears in what deployer writes
or prints: `import`'s stack.py, `export kubernetes`'s manifests, `config`, the labels deployer
puts on containers, `plan` (text and JSON) or `status --json`.

Hypothesis draws the values (as weak as a real password may be) and where the Compose file
takes them from: the deploying shell (a bare `environment:` name, `${VAR}`), `.env`, an
`env_file`, and fields other than the environment (a command, a label, a bind mount).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deployer import api
from deployer.cli.main import main
from deployer.stackfile.load import load_files
from tests.fakes import FakeEngine

# Numeric values are not guarded (a port or a count is configuration, and would match anywhere):
# every drawn value has a letter.
VALUE = st.text(string.ascii_letters + string.digits + "-_.@%+!#", min_size=6, max_size=24).filter(
    lambda v: any(ch.isalpha() for ch in v)
)
NAMES = ("BARE", "SHELL", "DOTENV", "FILE", "TOKEN", "LABEL", "MEDIA")

COMPOSE = """\
services:
  web:
    image: web:1
    command: ["serve", "--token", "${TOKEN}"]
    environment:
      - BARE
      - TEMPLATED=${SHELL}
      - FROM_DOTENV=${DOTENV}
      - PLAIN=written-in-the-file
      - NOTE=${LABEL}-and-more
    env_file: [app.env]
    volumes:
      - "./${MEDIA}:/media:ro"
"""


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


def everything_written(folder: Path, skip: set[Path]) -> str:
    return "\n".join(
        path.read_text(errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path not in skip
    )


def outputs(values: dict[str, str]) -> str:
    """Everything deployer writes or prints for the Compose project, its values taken from
    the shell, `.env` and an env file as `values` say."""
    seen: list[str] = []
    with tempfile.TemporaryDirectory() as temp:
        project = Path(temp) / "shop"
        project.mkdir()
        compose = project / "compose.yaml"
        compose.write_text(COMPOSE)
        (project / ".env").write_text(f"DOTENV={values['DOTENV']}\nTOKEN={values['TOKEN']}\n")
        (project / "app.env").write_text(f"FROM_FILE={values['FILE']}\n")
        inputs = {compose, project / ".env", project / "app.env"}
        shell = {k: values[k] for k in ("BARE", "SHELL", "LABEL", "MEDIA")}
        with environment(shell):
            code, said = run("import", str(compose), "-o", str(project / "stack.py"))
            assert code == 0, said
            seen += [said, (project / "stack.py").read_text()]
            code, said = run("export", "kubernetes", "-f", str(compose), "-o", str(project / "k8s"))
            assert code == 0, said
            seen.append(said)
            for form in ("yaml", "json"):
                code, said = run("-f", str(compose), "config", "--format", form)
                assert code == 0, said
                seen.append(said)
            stack = load_files([compose], lambda _: None, as_compose=True)
            fake = FakeEngine(images={"web:1": "sha256:w"})
            api.up(stack, engine=fake)
            changed = stack.with_service("web", replicas=2)
            seen.append(api.plan(changed, engine=fake).text())
            seen.append(json.dumps(api.plan(changed, engine=fake).as_data()))
            seen.append(json.dumps([r.as_data() for r in api.status("shop", engine=fake)]))
            seen += [json.dumps(plan.body["Labels"]) for plan in fake.bodies.values()]
            # The container's own environment is where these values belong: they do arrive.
            (web,) = fake.bodies.values()
            assert f"BARE={values['BARE']}" in web.body["Env"]
            assert f"FROM_FILE={values['FILE']}" in web.body["Env"]
            seen.append(everything_written(project, inputs))
    return "\n".join(seen)


@functools.cache
def baseline() -> str:
    """The outputs for values that cannot collide: deployer's own words, which a drawn value
    must not be part of for a match to mean a leak."""
    return outputs({name: f"zq{index}xv{index}kj" for index, name in enumerate(NAMES)})


@settings(max_examples=20, deadline=None)
@given(st.lists(VALUE, min_size=len(NAMES), max_size=len(NAMES), unique=True))
def test_no_outside_value_is_written_or_printed(drawn: list[str]) -> None:
    values = dict(zip(NAMES, drawn, strict=True))
    assume(not any(value in COMPOSE + baseline() for value in drawn))
    assume(not any(a != b and a in b for a in drawn for b in drawn))
    text = outputs(values)
    leaked = {name: value for name, value in values.items() if value in text}
    assert not leaked, leaked
