"""Compose's `develop.watch` -> Service.watch: the inner loop's rules, each problem with its file,
line and key path."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from deployer.model.spec import Watch
from deployer.stackfile.messages import explain

if TYPE_CHECKING:
    from deployer.stackfile.compose_document import Merged

ACTIONS = ("sync", "rebuild", "sync+restart", "sync+exec", "restart")
RULE_KEYS = {"path", "action", "target", "ignore", "include", "initial_sync", "exec"}
EXEC_KEYS = {"command", "user", "working_dir"}


def watch_rules(
    develop: dict[str, Any], prefix: str, doc: Merged, warn: Callable[[str], None],
    problems: list[str], builds: bool,
) -> list[dict[str, Any]]:  # fmt: skip
    """The rules of `develop` (the service's, at `prefix`; `builds`: it has `build`) as Watch
    fields."""
    for key in develop:
        if key != "watch":
            warn(f"{doc.where(f'{prefix}.develop.{key}')}: {prefix}.develop.{key}: not "
                 "supported by deployer; ignored")  # fmt: skip
    rules = []
    for index, rule in enumerate(develop.get("watch") or []):
        where = f"{prefix}.develop.watch.{index}"
        if not isinstance(rule, dict):
            problems.append(f"{doc.at(where)}: {where}: a rule is a mapping (path, action, "
                            "target)")  # fmt: skip
            continue
        for key in sorted(set(rule) - RULE_KEYS):
            warn(f"{doc.where(f'{where}.{key}')}: {where}.{key}: not supported; ignored")
        action = rule.get("action")
        if action not in ACTIONS:
            problems.append(f"{doc.at(f'{where}.action')}: {where}.action: {action!r}: choose "
                            f"{', '.join(ACTIONS)}")  # fmt: skip
            continue
        if action == "rebuild" and not builds:
            problems.append(f"{doc.at(f'{where}.action')}: {where}.action: 'rebuild' needs the "
                            "service's build (an image is not rebuilt); use sync or "
                            "restart")  # fmt: skip
            continue
        fields = _fields(rule, where, doc, warn)
        try:
            Watch.model_validate(fields)
        except ValidationError as error:
            problems += [
                f"{doc.at(where)}: {where}"
                + (f".{'.'.join(str(p) for p in item['loc'])}" if item["loc"] else "")
                + f": {explain(item)}"
                for item in error.errors()
            ]
            continue
        rules.append(fields)
    return rules


def _fields(
    rule: dict[str, Any], where: str, doc: Merged, warn: Callable[[str], None]
) -> dict[str, Any]:
    fields: dict[str, Any] = {"action": rule["action"]}
    if "path" in rule:
        fields["path"] = str(rule["path"])
    if rule.get("target") is not None:
        fields["target"] = str(rule["target"])
    for key in ("ignore", "include"):
        if key in rule:
            value = rule[key]
            fields[key] = [str(item) for item in (value if isinstance(value, list) else [value])]
    if "initial_sync" in rule:
        fields["initial_sync"] = rule["initial_sync"]
    if isinstance(rule.get("exec"), dict):
        run = rule["exec"]
        for key in sorted(set(run) - EXEC_KEYS):
            warn(f"{doc.where(f'{where}.exec.{key}')}: {where}.exec.{key}: not supported; "
                 "ignored")  # fmt: skip
        fields["exec"] = {key: run[key] for key in EXEC_KEYS if key in run}
    elif "exec" in rule:
        fields["exec"] = rule["exec"]  # the model names what is wrong with it
    return fields
