"""Compose-style variables for stack.py files: what `import` writes instead of baking values.

    var = Variables(__file__)
    env={"POSTGRES_PASSWORD": var.substitute("${POSTGRES_PW:?set it in .env}")}

Values are read when the stack file loads: the process environment first, then the `.env`
beside the stack file, with Compose's interpolation rules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from deployer.stackfile.interpolate import read_env_file, substitute


class Variables:
    def __init__(self, stack_file: str | Path, environ: Mapping[str, str] | None = None) -> None:
        process = dict(os.environ if environ is None else environ)
        dotenv = Path(stack_file).resolve().parent / ".env"
        values = read_env_file(dotenv, process) if dotenv.is_file() else {}
        self.values = {**values, **process}

    def __call__(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def substitute(self, template: str) -> str:
        """`template` interpolated as Compose does (`${VAR:-default}`, `${VAR:?message}`, ...)."""
        return substitute(template, self.values)
