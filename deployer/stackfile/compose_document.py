"""Compose files as parsed YAML that remembers the file and line of every key (for messages),
each interpolated on its own, then merged in order into one document."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from deployer.model.errors import StackError
from deployer.stackfile.compose_merge import Loader, merge, rebased, without_tags
from deployer.stackfile.interpolate import interpolate, unset_message

Warn = Callable[[str], None]


class Document:
    """The parsed YAML plus the line of every node, for messages."""

    def __init__(
        self, path: Path, environment: Mapping[str, str], warn: Warn, project: Path | None = None
    ) -> None:
        """`project`: the folder the stack's relative paths resolve in, when this file (one
        it includes or extends) lives in another."""
        self.path = path
        self.lines: dict[str, int] = {}
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise StackError(str(path), [f"cannot read the file: {error}"]) from None
        try:
            # The data as YAML means it (anchors, merge keys); the nodes only for line numbers.
            loader = Loader(text)
            try:
                root = loader.get_single_node()
                data = loader.construct_document(root) if root is not None else None
            finally:
                loader.dispose()
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            raise StackError(str(path), [f"{where}invalid YAML: {error}"]) from None
        if root is not None:
            self._record(root, "")
        # Each file is interpolated on its own, before merging, as Compose does.
        problems: list[str] = []

        self.data = interpolate(
            data, environment,
            lambda at, why: problems.append(f"line {self.line(at)}: {at}: {why}"),
            lambda at, name: warn(unset_message(self.where(at), at, name)),
        )  # fmt: skip
        if problems:
            raise StackError(str(path), problems)
        if project is not None:
            self.data = rebased(self.data, path.parent, project)

    def _record(self, node: yaml.Node, path: str) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key != "<<":
                    child = f"{path}.{key}" if path else key
                    self.lines.setdefault(child, key_node.start_mark.line + 1)  # the key's line
                    self._record(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._record(item, f"{path}.{index}")

    def line(self, path: str) -> int:
        """The line of `path`, or of its nearest ancestor the file spells out."""
        while path and path not in self.lines:
            path = path.rpartition(".")[0]
        return self.lines.get(path, 1)

    def where(self, path: str) -> str:
        return f"{self.path}:{self.line(path)}"


class Merged:
    """Several Compose files merged into one model, each key remembering the file it came
    from (the last one that spells it out), so messages point at the right file and line."""

    def __init__(self, documents: list[Document], environment: Mapping[str, str]) -> None:
        self.documents = documents
        self.environment = environment  # what `${VAR}` and a bare `environment: [VAR]` read
        self.present: set[str] = set()  # the services deployed (not left out by a profile)
        self.path = documents[0].path
        data: Any = {}
        for document in documents:
            if not isinstance(document.data, dict):
                raise StackError(str(document.path), ["a Compose file must be a mapping"])
            data = merge(data, document.data)
        self.data = without_tags(data)

    def _owner(self, path: str) -> Document:
        """The last file that spells out `path`, or else its nearest ancestor."""
        while path:
            for document in reversed(self.documents):
                if path in document.lines:
                    return document
            path = path.rpartition(".")[0]
        return self.documents[0]

    def line(self, path: str) -> int:
        return self._owner(path).line(path)

    def where(self, path: str) -> str:
        return self._owner(path).where(path)

    def at(self, path: str) -> str:
        """Where a problem is, for a message that already names the (first) file."""
        if len(self.documents) == 1:
            return f"line {self.line(path)}"
        return self.where(path)
