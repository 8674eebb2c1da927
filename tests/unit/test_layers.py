"""The layers stay layers: who may import what, checked on every module's imports (AST)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "deployer"
ROOT = PACKAGE.parent

# Each layer may import these deployer layers (and itself); the pipeline reads left to right.
ALLOWED = {
    "model": {"model"},
    "local": {"model", "local"},
    "core": {"model", "core"},
    "stackfile": {"model", "core", "stackfile"},
    "engine": {"local", "model", "core", "engine"},
    "images": {"local", "model", "core", "engine", "images"},  # local: the base archives kept
    "deploy": {"local", "model", "core", "engine", "deploy"},
    "api": {
        "local",
        "model",
        "core",
        "engine",
        "images",
        "deploy",
        "stackfile",
        "targets.engine",
        "api",
    },
    "operate": {
        "local",
        "model",
        "core",
        "engine",
        "images",
        "deploy",
        "targets.engine",
        "api",
        "operate",
    },
    "testing": {
        "local",
        "model",
        "core",
        "engine",
        "images",
        "stackfile",
        "api",
        "testing",
        "cluster",
        "swarm",
    },
    "cluster": {"local", "model", "core", "engine", "api", "cluster"},
    # Each target is a room of its own: the shared layers below it, never another target.
    "targets": {
        "model",
        "core",
        "engine",
        "targets",
        "targets.engine",
        "targets.swarm",
        "targets.kubernetes",
    },
    "targets.engine": {
        "unchanged",
        "local",
        "model",
        "core",
        "engine",
        "images",
        "deploy",
        "stackfile",
        "api",
        "operate",
        "targets",
        "targets.engine",
    },
    "targets.swarm": {
        "unchanged",
        "local",
        "model",
        "core",
        "engine",
        "images",
        "deploy",
        "stackfile",
        "targets",
        "targets.swarm",
    },
    # "engine": the Engine protocol, a type in the Target protocol (builder()).
    "targets.kubernetes": {"model", "core", "engine", "stackfile", "targets", "targets.kubernetes"},
    "swarm": {"targets", "targets.swarm", "swarm"},
    # The fast answer of an unchanged `up` (deployer.unchanged), and the record `up` leaves it.
    "unchanged": {"local", "model", "core", "engine", "unchanged"},
    "cli": {
        "unchanged",
        "local",
        "model",
        "core",
        "images",
        "stackfile",
        "api",
        "operate",
        "targets",
        "targets.kubernetes",  # `export kubernetes` writes what that target renders
        "cli",
        "testing",
        "cluster",
        "swarm",
    },
}
# The pure layers: no engine, no processes, no threads, no network.
IMPURE = {"docker", "requests", "subprocess", "threading", "concurrent", "socket", "urllib3"}
PURE_LAYERS = {"model", "core"}
# In a target's room: what it renders, what it knows and what it decides are pure.
PURE_IN_TARGETS = {
    "render.py",
    "state.py",
    "desired.py",
    "reconcile.py",
    "status.py",
    "rules.py",
    "base.py",
}


def _layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    if relative.parts[0] == "targets" and len(relative.parts) > 2:
        return f"targets.{relative.parts[1]}"
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def _layer_of_module(name: str) -> str:
    """deployer.core.plan -> core; deployer.targets.swarm.apply -> targets.swarm."""
    parts = name.split(".")
    if parts[1] == "targets" and len(parts) > 2 and parts[2] in {"engine", "swarm", "kubernetes"}:
        return f"targets.{parts[2]}"
    return parts[1]


def _pure(path: Path) -> bool:
    layer = _layer(path)
    return layer in PURE_LAYERS or (layer.startswith("targets") and path.name in PURE_IN_TARGETS)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "deployer":  # `from deployer import api` names a layer
                found.update(f"deployer.{a.name}" for a in node.names if a.name in ALLOWED)
    return found


MODULES = sorted(
    path
    for path in PACKAGE.rglob("*.py")
    if path.name not in {"__init__.py", "__main__.py"} and "reaper_image" not in path.parts
)


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = {str(path.relative_to(ROOT)) for path in MODULES if _layer(path) not in ALLOWED}
    assert not unknown


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    layer = _layer(path)
    imported = _imports(path)
    deployer_layers = {_layer_of_module(name) for name in imported if name.startswith("deployer.")}
    assert deployer_layers <= ALLOWED[layer], f"{layer} imports {deployer_layers - ALLOWED[layer]}"
    roots = {name.split(".")[0] for name in imported}
    if _pure(path):
        assert not roots & IMPURE, f"the pure {layer} layer imports {roots & IMPURE}"
    if layer != "engine":
        assert "docker" not in roots, "only deployer/engine/ imports docker"


def test_the_checks_see_a_violation(tmp_path: Path) -> None:
    """The walker is not blind: nested and from-imports are found."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import docker.errors\n    from deployer import api\n")
    assert {"docker.errors", "deployer", "deployer.api"} <= _imports(sample)


def test_loading_a_stack_does_not_import_docker() -> None:
    """What every stack.py does (and `plan`'s loader) stays off docker, requests and threads."""
    script = (
        "import sys\n"
        "import deployer, deployer.model.spec\n"
        "from deployer import Service, Stack, load_stack\n"
        "stack = load_stack('stack.py')\n"
        "loaded = sorted(m for m in ('docker', 'requests', 'urllib3') if m in sys.modules)\n"
        "print(stack.name, loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "demo []"


def test_the_api_is_still_one_attribute_away() -> None:
    script = (
        "import sys, deployer\n"
        "assert 'docker' not in sys.modules\n"
        "print(deployer.up.__module__, deployer.Deployment.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "deployer.api Deployment"


def _import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the deployer modules it imports, at any depth (a lazy import is still one)."""
    modules = {}
    for path in package.rglob("*.py"):
        if "reaper_image" in path.parts:
            continue
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported in _imports(path):
            graph[name] |= {imported} & set(modules)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                graph[name] |= {f"{node.module}.{a.name}" for a in node.names} & set(modules)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_module_of_deployer_imports_itself_round_a_circle() -> None:
    """Options and messages have modules of their own, so the Compose reader, its service
    translator and the loader import one way only; a target's registry is imported by no
    target."""
    assert _cycles(_import_graph(PACKAGE)) == []


def test_the_circle_finder_sees_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
