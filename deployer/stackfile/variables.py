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
        self.folder = Path(stack_file).resolve().parent
        dotenv = self.folder / ".env"
        values = read_env_file(dotenv, process) if dotenv.is_file() else {}
        self.values = {**values, **process}

    def __call__(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def pick(self, *names: str) -> dict[str, str]:
        """Those of `names` that have a value: Compose's bare `environment: [NAME]`."""
        return {name: self.values[name] for name in names if name in self.values}

    def env_file(self, path: str) -> dict[str, str]:
        """The variables of an env file (relative to the stack file), as Compose reads them."""
        return read_env_file(self.folder / path, self.values)

    def substitute(self, template: str) -> str:
        """`template` interpolated as Compose does (`${VAR:-default}`, `${VAR:?message}`, ...)."""
        return substitute(template, self.values)
