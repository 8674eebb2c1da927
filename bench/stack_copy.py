"""The default stack under another name, with its ports ephemeral, for benchmarks."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).parents[1]

# The copy is the default stack loaded and changed through the model, never by editing
# stack.py's text: a bench keeps working whatever stack.py comes to say.
_STACK = """\
from pathlib import Path

from deployer import Port, load_stack

stack = load_stack(Path({root!r}) / "stack.py").model_copy(
    update={{"name": {name!r}, "root": Path(__file__).parent}}
)
for service in stack.services:
    if service.ports:
        ephemeral = [Port(container=p.container, protocol=p.protocol) for p in service.ports]
        stack = stack.with_service(service.name, ports=ephemeral)
if {drop_message!r}:  # the app's own default message shows: the code change is what is served
    web = stack.service("web")
    env = {{k: v for k, v in web.env.items() if k != "APP_MESSAGE"}}
    stack = stack.with_service("web", env=env)
"""


def write_default_stack(folder: Path, name: str, app_message: str | None = None) -> Path:
    """Write `folder/stack.py`; app/ and nginx/ are linked (or, to change the app, copied)."""
    if app_message is None:
        (folder / "app").symlink_to(ROOT / "app")
    else:  # a real code change, so the web image differs
        shutil.copytree(ROOT / "app", folder / "app", ignore=shutil.ignore_patterns("__pycache__"))
        app = folder / "app" / "app.py"
        app.write_text(app.read_text().replace('"Hello from deployer"', f'"{app_message}"'))
        if app_message not in app.read_text():
            raise SystemExit("app/app.py no longer says 'Hello from deployer': update the bench")
    (folder / "nginx").symlink_to(ROOT / "nginx")
    stack_file = folder / "stack.py"
    text = _STACK.format(root=str(ROOT), name=name, drop_message=app_message is not None)
    stack_file.write_text(text)
    return stack_file
