"""How several Compose files become one model: the YAML tags `!reset` and `!override`, the
merge rules, and paths rebased when a file from another folder joins (`include`, `extends`).

Pure data in, data out; the loader (compose.py) reads the files and reports the problems.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


class _Reset:
    """`!reset`: the key is removed from what the files before it set."""

    def __repr__(self) -> str:
        return "!reset"


RESET = _Reset()


class Override:
    """`!override VALUE`: replaces what the files before it set, without merging."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def rewrap(self, value: Any) -> Override:
        return Override(value)

    def __repr__(self) -> str:
        return f"!override {self.value!r}"


# A document whose aliases expand past this many nodes is refused ("billion laughs": a 1 KB
# file of nested aliases would otherwise keep every later step busy for minutes).
MAX_EXPANDED_NODES = 200_000


# libyaml's parser when PyYAML has it (~10x faster on a large file); the same resolver and
# constructors either way.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BoundedLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """The safe loader with a cap on what aliases may expand to."""

    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()
        if node is not None and expanded_size(node) > MAX_EXPANDED_NODES:
            raise yaml.YAMLError(
                f"its aliases expand to more than {MAX_EXPANDED_NODES} values (line "
                f"{node.start_mark.line + 1}); a Compose file needs far fewer: write the "
                "repeated parts out, or nest fewer aliases"
            )
        return node


def expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has with every alias expanded (counted once per node,
    so an exponential expansion costs linear time to count)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a node reached again while counting it (a recursive alias)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        total = min(1 + sum(size(child) for child in children), MAX_EXPANDED_NODES + 1)
        sizes[id(node)] = total
        return total

    return size(root)


class Loader(BoundedLoader):
    """YAML as Compose reads it: the bounded safe loader plus Compose's two merge tags."""


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> _Reset:
    return RESET


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    return Override(loader.construct_scalar(node))  # type: ignore[arg-type]


Loader.add_constructor("!reset", _reset)
Loader.add_constructor("!override", _override)


# Sequences Compose merges by a key (the rest are appended without duplicates, or replaced).
_REPLACED = {"command", "entrypoint", "test"}
_AS_MAPPING = {"environment", "labels", "extra_hosts", "sysctls", "annotations"}


def merge(base: Any, override: Any, key: str = "") -> Any:
    """Compose's merge of an override file into a base: mappings merged key by key; the
    command-like sequences replaced; environment-like lists merged by name; volumes by their
    target, ports by their published port; other sequences appended without duplicates;
    scalars replaced. `!reset` removes, `!override` replaces."""
    if isinstance(override, Override):
        return override.value
    if key in _AS_MAPPING and isinstance(base, list | dict) and isinstance(override, list | dict):
        return {**_as_mapping(base), **_as_mapping(override)}
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for name, value in override.items():
            if value is RESET:
                merged.pop(name, None)
            elif name in base:
                merged[name] = merge(base[name], value, str(name))
            else:
                merged[name] = value
        return merged
    if isinstance(base, list) and isinstance(override, list) and key not in _REPLACED:
        if key == "volumes":
            targets = {_volume_target(item) for item in override}
            kept = [item for item in base if _volume_target(item) not in targets]
            return [*kept, *override]
        return [*base, *(item for item in override if item not in base)]
    return override


def without_tags(data: Any) -> Any:
    """What is left of the tags once every file is merged: `!reset` keys gone, values kept."""
    if isinstance(data, Override):
        return without_tags(data.value)
    if isinstance(data, dict):
        return {k: without_tags(v) for k, v in data.items() if v is not RESET}
    if isinstance(data, list):
        return [without_tags(item) for item in data if item is not RESET]
    return data


def _as_mapping(value: list[Any] | dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    pairs = (str(item).partition("=") for item in value)
    return {name: (text if sep else None) for name, sep, text in pairs}


def _volume_target(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target", ""))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


# -- files from other folders ------------------------------------------------------------------


def rebased(data: Any, source: Path, project: Path) -> Any:
    """A Compose model read in folder `source`, its relative paths made relative to `project`
    (where the stack's paths resolve): build contexts, env files, bind mounts, secret and
    config files, and the files other services extend."""
    if source.resolve() == project.resolve() or not isinstance(data, dict):
        return data
    offset = Path(os.path.relpath(source.resolve(), project.resolve()))

    def moved(path: Any) -> Any:
        text = str(path)
        if text.startswith(("/", "~")) or "://" in text:
            return path
        joined = str(offset / text)
        # Still a path Compose recognises as one (a volume source "./x", not a volume name).
        return joined if joined.startswith((".", "/")) else f"./{joined}"

    data = dict(data)
    services = data.get("services")
    if isinstance(services, dict):
        data["services"] = {
            name: _rebased_service(body, moved) if isinstance(body, dict) else body
            for name, body in services.items()
        }
    for section in ("secrets", "configs"):
        items = data.get(section)
        if isinstance(items, dict):
            data[section] = {
                name: {**body, "file": moved(body["file"])}
                if isinstance(body, dict) and "file" in body
                else body
                for name, body in items.items()
            }
    return data


def _rebased_service(body: dict[str, Any], moved: Any) -> dict[str, Any]:
    body = dict(body)
    build = body.get("build")
    if isinstance(build, str):
        body["build"] = moved(build)
    elif isinstance(build, dict):
        body["build"] = {**build, "context": moved(build.get("context", "."))}
    env_file = body.get("env_file")
    if isinstance(env_file, str):
        body["env_file"] = moved(env_file)
    elif isinstance(env_file, list):
        body["env_file"] = [
            moved(e) if isinstance(e, str) else {**e, "path": moved(e.get("path", ""))}
            if isinstance(e, dict) else e
            for e in env_file
        ]  # fmt: skip
    volumes = body.get("volumes")
    if isinstance(volumes, list):
        body["volumes"] = [_rebased_volume(v, moved) for v in volumes]
    extends = body.get("extends")
    if isinstance(extends, dict) and "file" in extends:
        body["extends"] = {**extends, "file": moved(extends["file"])}
    return body


def _rebased_volume(volume: Any, moved: Any) -> Any:
    if isinstance(volume, dict):
        if volume.get("type") == "bind" and "source" in volume:
            return {**volume, "source": moved(volume["source"])}
        return volume
    text = str(volume)
    if text.startswith("."):
        source, sep, rest = text.partition(":")
        return f"{moved(source)}{sep}{rest}"
    return volume
