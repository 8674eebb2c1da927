"""A model's validation error in words for people: what is wrong with a field and what to do
(an unknown field's nearest known name). The stack loader and the Compose reader share it."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from deployer.model import spec

_KNOWN_FIELDS = sorted(
    {
        name
        for model in vars(spec).values()
        if isinstance(model, type) and issubclass(model, BaseModel)
        for name in model.model_fields
    }
)


def explain(item: Any) -> str:
    if item["type"] == "extra_forbidden":
        import difflib  # only on this error path

        field = str(item["loc"][-1])
        close = difflib.get_close_matches(field, _KNOWN_FIELDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; remove it"
        return f"unknown field{hint}"
    if item["type"] == "missing":
        return "required field is missing"
    message = re.sub(r"^(Value|Assertion) error, ", "", str(item["msg"]))
    if item["type"] == "string_pattern_mismatch" and item["loc"][-1] == "name":
        if "A-Z" in str(item.get("ctx", {}).get("pattern", "")):  # a service's name
            return (
                f"invalid name {item['input']!r}: use letters, digits, '.', '-' and '_', "
                "starting with a letter or digit"
            )
        return (
            f"invalid name {item['input']!r}: use lower-case letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return f"{message} (got {item['input']!r})" if "input" in item and _short(item) else message


def _short(item: Any) -> bool:
    return isinstance(item["input"], str | int | float) and len(repr(item["input"])) < 60
