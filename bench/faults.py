"""The fault suite's figures: failed requests and recovery seconds per scenario.

Runs tests/faults on the real engine (the engine-restart scenarios last and alone, as
scripts/test does), collects what each test measured, prints a table and writes
bench/results/faults.json. Exits non-zero if any scenario failed its test.

    .venv/bin/python bench/faults.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench import smoke

ROOT = Path(__file__).parents[1]
GROUPS = ["not engine_restart", "engine_restart"]
# The smoke run: one scenario, to check that figures are still collected.
SMOKE_SCENARIO = "a_manually_stopped_replica_shows_in_status"


def run_suite(figures: Path, only: str | None = None) -> int:
    worst = 0
    for group in GROUPS if only is None else GROUPS[:1]:
        environment = dict(os.environ, DEPLOYER_FAULT_FIGURES=str(figures))
        chosen = ["-k", only] if only else []
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", group,
             *chosen, "tests/faults"],
            cwd=ROOT, env=environment,
        )  # fmt: skip
        worst = max(worst, done.returncode)
    return worst


def cell(value: object) -> str:
    return "-" if value is None else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    smoke.add_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "figures.jsonl"
        figures.touch()
        code = run_suite(figures, SMOKE_SCENARIO if args.smoke else None)
        scenarios = [json.loads(line) for line in figures.read_text().splitlines() if line]
    if not scenarios:
        print("no scenario recorded a figure: the suite's `figures` fixture is not called")
        code = code or 1
    columns = ["requests", "failed", "recovery_seconds", "downtime_seconds"]
    print(f"\n{'scenario':<62} " + " ".join(f"{c:>17}" for c in columns) + "  other figures")
    for scenario in scenarios:
        others = {k: v for k, v in scenario.items() if k not in {*columns, "scenario", "test"}}
        print(
            f"{scenario['scenario']:<62} "
            + " ".join(f"{cell(scenario.get(c)):>17}" for c in columns)
            + "  "
            + ", ".join(f"{k}={v}" for k, v in others.items())
        )
    results = smoke.results_dir(args.smoke)
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs",
        "load": "8 keep-alive HTTP clients through nginx on 127.0.0.1 (tests/integration/load.py)",
        "suite_passed": code == 0,
        "scenarios": scenarios,
    }
    (results / "faults.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {results / 'faults.json'} ({len(scenarios)} scenarios, suite exit {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
