"""Golden baseline: short runs' outputs at fixed seeds, pinned exactly.

A refactor must leave these bit for bit unchanged. A deliberate change to the model's
trajectories refreshes them, on purpose, with

    python -m tests.golden --refresh

and the diff of `tests/golden/*.json` is then part of the commit that changed the model.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN_DIR = Path(__file__).parent / "golden"

CASES = {
    "baseline-seed7": ("baseline", {"run.steps": 30}, 7),
    "three-trusts-seed3": (
        "compassionate-leadership",
        {
            "run.steps": 60,
            "organisation.trusts": 3,
            "organisation.staff_per_trust": 600,
            "regulator.stance": 0.3,
        },
        3,
    ),
}


def table_digest(table: pd.DataFrame) -> str:
    """SHA-256 of a table's column names, dtypes and raw values, in column order."""
    digest = hashlib.sha256()
    for name in table.columns:
        column = table[name].to_numpy()
        digest.update(f"{name}:{column.dtype}".encode())
        digest.update(np.ascontiguousarray(column).tobytes())
    return digest.hexdigest()


def golden_record(case: str) -> dict:
    """The pinned outputs of one case: every weekly measure exactly, and digests of the tables."""
    from culturesim import load_scenario, simulate

    name, overrides, seed = CASES[case]
    result = simulate(load_scenario(name).with_overrides(overrides), seed=seed)
    series = result.timeseries
    return {
        "scenario": name,
        "overrides": overrides,
        "seed": seed,
        "timeseries": {c: [float(v) for v in series[c]] for c in series.columns},
        "summary": {k: v for k, v in result.summary.items() if isinstance(v, int | float)},
        "digests": {
            table: table_digest(getattr(result, table))
            for table in ("timeseries", "events", "episodes", "agents")
        },
    }


def golden_path(case: str) -> Path:
    return GOLDEN_DIR / f"{case}.json"


def refresh() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for case in CASES:
        golden_path(case).write_text(json.dumps(golden_record(case), indent=1) + "\n")
        print(f"wrote {golden_path(case)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--refresh"]:
        sys.exit("usage: python -m tests.golden --refresh   (rewrites the pinned outputs)")
    refresh()
