"""The default stack under another name, with nginx on an ephemeral port, for benchmarks."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).parents[1]


def write_default_stack(folder: Path, name: str, app_message: str | None = None) -> Path:
    """Write `folder/stack.py`; app/ and nginx/ are linked (or, to change the app, copied)."""
    if app_message is None:
        (folder / "app").symlink_to(ROOT / "app")
    else:  # a real code change, so the web image differs
        shutil.copytree(ROOT / "app", folder / "app", ignore=shutil.ignore_patterns("__pycache__"))
        app = folder / "app" / "app.py"
        app.write_text(app.read_text().replace('"Hello from deployer"', f'"{app_message}"'))
    (folder / "nginx").symlink_to(ROOT / "nginx")
    text = (
        (ROOT / "stack.py").read_text()
        .replace('name="demo"', f'name="{name}"')
        .replace("Port(host=8080, container=80", "Port(host=0, container=80")
    )  # fmt: skip
    if app_message is not None:  # let the app's own default message show
        text = text.replace('env={"APP_MESSAGE": "Hello from deployer"}', "env={}")
    stack_file = folder / "stack.py"
    stack_file.write_text(text)
    return stack_file
