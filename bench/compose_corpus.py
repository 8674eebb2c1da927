"""How much of real-world Compose deployer reads: every file of tests/compose_corpus loaded,
with the count of files that load, that are refused (and why), and of warnings per key.

    .venv/bin/python bench/compose_corpus.py [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke
from deployer.model.errors import StackError
from deployer.stackfile import load

CORPUS = Path(__file__).parents[1] / "tests" / "compose_corpus"
# "file:line: services.web.platform: why" -> the key path with the service's name folded away
_KEY = re.compile(r":\d+: (?:services\.[^.:]+\.)?([A-Za-z0-9_\-.]+?)(?:\.\d+)*: ")


def warned_key(message: str) -> str:
    match = _KEY.search(message)
    return match.group(1) if match else message.partition(": ")[2][:60]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    smoke.add_option(parser)  # the full run takes seconds already: the same run
    arguments = parser.parse_args()
    loaded: dict[str, int] = Counter()
    refused: dict[str, list[str]] = {}
    keys: Counter[str] = Counter()
    for path in sorted(p for p in CORPUS.rglob("*") if p.suffix in {".yaml", ".yml"}):
        group = path.relative_to(CORPUS).parts[0]
        warnings: list[str] = []
        try:
            load.load_files([path], warn=warnings.append, as_compose=True)
            loaded[group] += 1
        except StackError as error:
            refused[str(path.relative_to(CORPUS))] = error.problems
        keys.update(warned_key(w) for w in warnings)
    report = {
        "loaded": dict(loaded),
        "refused": refused,
        "warnings_per_key": dict(keys.most_common()),
    }
    if arguments.json:
        print(json.dumps(report, indent=2))
        return 0
    for group, count in sorted(loaded.items()):
        print(f"{group}: {count} loaded")
    print(f"refused with a clear error: {len(refused)}")
    for name, problems in refused.items():
        print(f"  {name}: {problems[0]}")
    print("warnings per key (files may warn several times):")
    for key, count in keys.most_common():
        print(f"  {count:4d}  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
