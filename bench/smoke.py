"""`--smoke`: every bench's short mode (seconds, not minutes), run by `scripts/bench-smoke` in
CI, so that a bench whose own setup or check breaks fails CI instead of rotting unseen.

A smoke run measures nothing worth keeping: it runs each step once, with the least load that
still exercises the bench's checks, and writes its results under bench/.cache/smoke (never
bench/results, which only full runs write).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "bench" / "results"
SMOKE_RESULTS = ROOT / "bench" / ".cache" / "smoke"


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a short run that checks the bench still works (results under bench/.cache/smoke)",
    )


def results_dir(smoke: bool) -> Path:
    """Where a run writes its figures: bench/results for a full run."""
    folder = SMOKE_RESULTS if smoke else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder
