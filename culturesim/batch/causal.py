"""`causal_cascades(scenario)`: excess conversions and the causal R, with intervals over replicates.

Each replicate is a pair (culturesim.batch.paired): the scenario and its twin without the
victimisation channel (culturesim.run.causal), one seed, both in one process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from culturesim.batch.paired import (
    PairedRuns,
    as_scenario,
    mean_interval,
    replicate_seeds,
    run_pairs,
)
from culturesim.engine.scenario import Scenario
from culturesim.run.causal import OBSERVED_LABEL, cascade_counts, causal_measures, twin_of

REPORTED = (
    ("conversions", "observed conversions"),
    ("twin_conversions", "twin's conversions (coincidental)"),
    ("excess_conversions", "excess conversions (caused)"),
    ("excess_perpetrator_episodes", "excess perpetrator episodes"),
    ("reproduction_number", "observed R"),
    ("causal_reproduction_number", "causal R (excess per episode)"),
    ("coincidental_share", "twin's / observed conversions"),
)


@dataclass
class CausalCascades:
    """Per replicate: the observed cascade counts and the causal measures against the twin."""

    runs: PairedRuns
    replicates: pd.DataFrame  # one row per replicate
    table: pd.DataFrame  # one row per reported measure: mean, low, high

    @property
    def scenario(self) -> Scenario:
        return self.runs.a

    def text(self) -> str:
        seeds = self.runs.seeds
        window = self.scenario.cascades.conversion_window_weeks
        lines = [
            f"causal cascades of {self.scenario.name}: {len(seeds)} replicates (seeds "
            f"{seeds[0]}..{seeds[-1]}, {self.scenario.run.steps} weeks), each against a twin "
            "with behaviour.victimisation_weight = 0 and the same seed (common random numbers)",
            f"  ({OBSERVED_LABEL}; the twin separates conversions caused by being bullied "
            f"from those that would have happened anyway; W = {window} weeks)",
            "  intervals: 95% t intervals of the mean over replicates (the excess measures are "
            "paired differences): seed noise only, not parameter or structural uncertainty",
            "",
        ]
        width = max(len(label) for _, label in REPORTED)
        lines.append(f"  {'measure':<{width}}  {'mean':>9}  95% interval")
        for row in self.table.itertuples():
            span = "n/a" if row.low != row.low else f"[{row.low:.4g}, {row.high:.4g}]"
            lines.append(f"  {row.label:<{width}}  {row.mean:>9.4g}  {span}")
        return "\n".join(lines)


def causal_cascades(
    scenario: Scenario | str | Path,
    replicates: int = 10,
    seed: int | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> CausalCascades:
    """Run `replicates` twin pairs (seeds seed, seed + 1, ...; default the scenario's seed)."""
    scenario = as_scenario(scenario)
    seeds = replicate_seeds(scenario.run.seed if seed is None else seed, replicates)
    runs = run_pairs(scenario, twin_of(scenario), seeds, cascade_counts, workers, progress)
    observed, twin = runs.measures["A"], runs.measures["B"]
    rows = []
    for r, seed_r in enumerate(seeds):
        counts = observed.iloc[r].to_dict()
        rows.append(
            {
                "replicate": r,
                "seed": seed_r,
                "conversions": counts["conversions"],
                "perpetrator_episodes": counts["perpetrator_episodes"],
                "reproduction_number": counts["reproduction_number"],
                **causal_measures(counts, twin.iloc[r].to_dict()),
            }
        )
    per_replicate = pd.DataFrame(rows)
    table = pd.DataFrame(
        [(name, label, *mean_interval(per_replicate[name])) for name, label in REPORTED],
        columns=["measure", "label", "mean", "low", "high"],
    )
    return CausalCascades(runs=runs, replicates=per_replicate, table=table)
