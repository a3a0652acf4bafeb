"""Paired runs with common random numbers, and the intervals of their differences.

Replicate r of a pair runs both arms with seed S + r. Each mechanism draws from its own random
stream spawned from that seed (ODD 4, Stochasticity), so the two arms share their draws until
their states differ, and much of the seed noise cancels in the paired difference. Each pair runs
in one process, arm A then arm B; pairs run side by side in a process pool with `workers` > 1.

The intervals are 95% paired t intervals over replicates (scipy's t quantile): they describe
seed noise only, not uncertainty in the parameters or the model's structure.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from culturesim.batch.intervals import mean_interval  # noqa: F401 (re-exported)
from culturesim.engine.scenario import Scenario, ScenarioError, load_scenario
from culturesim.engine.threads import share_cores
from culturesim.run.simulate import simulate, summary_only

CONFIDENCE = 0.95
INTERVAL = (
    "95% paired t interval over replicates (common random numbers; cut to the values a "
    "measure can take): seed noise only, not parameter or structural uncertainty"
)
WEEKLY_MEASURES = (
    "bullied_by_staff",
    "compassion_climate",
    "mean_strain",
    "care_quality",
    "vacancy_rate",
    "leaver_rate",
)
"""The weekly measures whose paired differences over time are kept and drawn."""
MAX_SEED = 2**63 - 1

Measure = Callable[..., dict]


def as_scenario(scenario: Scenario | str | Path) -> Scenario:
    """A Scenario as given, or loaded from a file or a bundled name."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Seeds S, S + 1, ..., S + N - 1: replicate 0 is the scenario's own run at seed S."""
    if replicates < 2:
        raise ScenarioError(
            f"replicates = {replicates}: need at least 2 for an interval over replicates"
        )
    if not 0 <= seed <= MAX_SEED - replicates + 1:
        raise ScenarioError(f"seed = {seed}: must be from 0 to {MAX_SEED - replicates + 1}")
    return [seed + r for r in range(replicates)]


@dataclass
class PairedRuns:
    """Both arms' measures per replicate, and their weekly measures (replicate, week, measure)."""

    a: Scenario
    b: Scenario
    seeds: list[int]
    measures: dict[str, pd.DataFrame]  # arm -> one row per replicate
    weekly: dict[str, np.ndarray]  # arm -> array (replicate, week, WEEKLY_MEASURES)


def run_pair(
    a: Scenario, b: Scenario, seed: int, measure: Measure, draw: Any = None
) -> tuple[dict, dict, np.ndarray]:
    """Arm A then arm B with one seed, in this process; each arm's measures and weekly table.

    With a posterior `draw` (culturesim.batch.posterior.Draw), both arms take its parameters
    (where they keep the defaults), so the pair differs only by the scenarios."""
    if draw is not None:
        from culturesim.batch.posterior import apply_draw

        a, b = apply_draw(a, draw)[0], apply_draw(b, draw)[0]
    results = [simulate(arm, seed=seed) for arm in (a, b)]
    weekly = np.stack([r.timeseries[list(WEEKLY_MEASURES)].to_numpy(float) for r in results])
    return measure(results[0]), measure(results[1]), weekly


def pool_context() -> multiprocessing.context.BaseContext:
    """A fork server that imports the model once (Mesa makes `spawn` the default otherwise)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["culturesim.batch.paired"])
    return context


def process_pool(workers: int) -> ProcessPoolExecutor:
    """`workers` processes from the fork server, sharing the cores for large models."""
    return ProcessPoolExecutor(
        workers, mp_context=pool_context(), initializer=share_cores, initargs=(workers,)
    )


def run_pairs(
    a: Scenario,
    b: Scenario,
    seeds: Sequence[int],
    measure: Measure,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    draws: Sequence[Any] | None = None,
) -> PairedRuns:
    """Every replicate pair, in order of seed; `measure(result)` picks what each run reports.

    With `draws` (one posterior draw per seed), replicate r runs both arms with draw r."""
    if a.run.steps != b.run.steps:
        raise ScenarioError(
            f"arm A ({a.name}) runs {a.run.steps} weeks and arm B ({b.name}) {b.run.steps}: "
            "a paired comparison needs the same run.steps (e.g. --set run.steps=N)"
        )
    lean_a, lean_b = summary_only(a), summary_only(b)
    if workers > 1 and len(seeds) > 1:
        with process_pool(min(workers, len(seeds))) as pool:
            futures = [
                pool.submit(run_pair, lean_a, lean_b, s, measure, d)
                for s, d in zip(seeds, draws or [None] * len(seeds), strict=True)
            ]
            pairs = []
            for future in futures:
                pairs.append(future.result())
                if progress:
                    progress(1)
    else:
        pairs = []
        for seed, draw in zip(seeds, draws or [None] * len(seeds), strict=True):
            pairs.append(run_pair(lean_a, lean_b, seed, measure, draw))
            if progress:
                progress(1)
    return PairedRuns(
        a=a,
        b=b,
        seeds=list(seeds),
        measures={
            arm: pd.DataFrame([pair[i] for pair in pairs]) for i, arm in enumerate(("A", "B"))
        },
        weekly={arm: np.stack([pair[2][i] for pair in pairs]) for i, arm in enumerate(("A", "B"))},
    )


def ratio_interval(
    a: np.ndarray,
    b: np.ndarray,
    confidence: float = CONFIDENCE,
    within: tuple[float, float] = (-math.inf, math.inf),
) -> tuple[float, ...]:
    """Ratio of means B / A and its paired delta-method t interval.

    The interval is that of R ± t·sd(B − R·A) / (√n·|mean A|), the linearisation of the ratio of
    two paired means, cut to `within` (from 0 for measures never below 0: `ratio_range`);
    undefined where A's mean is 0.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if len(a) == 0 or a.mean() == 0:
        return math.nan, math.nan, math.nan
    ratio = float(b.mean() / a.mean())
    if len(a) < 2:
        return ratio, math.nan, math.nan
    spread = (b - ratio * a).std(ddof=1) / (math.sqrt(len(a)) * abs(a.mean()))
    half = stats.t.ppf((1 + confidence) / 2, len(a) - 1) * spread
    return ratio, max(ratio - half, within[0]), min(ratio + half, within[1])


def weekly_differences(runs: PairedRuns, measures: Sequence[str] = WEEKLY_MEASURES) -> pd.DataFrame:
    """Per week and measure: mean paired difference B − A and its t interval over replicates.

    `measures` names the last axis of `runs.weekly`: WEEKLY_MEASURES for `run_pairs`, others
    where a caller kept other columns (the page keeps those it plots)."""
    difference = runs.weekly["B"] - runs.weekly["A"]  # (replicate, week, measure)
    n = difference.shape[0]
    mean = difference.mean(axis=0)
    half = stats.t.ppf((1 + CONFIDENCE) / 2, n - 1) * difference.std(axis=0, ddof=1) / math.sqrt(n)
    weeks, measures = np.meshgrid(np.arange(difference.shape[1]), np.array(measures), indexing="ij")
    return pd.DataFrame(
        {
            "week": weeks.ravel(),
            "measure": measures.ravel(),
            "difference": mean.ravel(),
            "low": (mean - half).ravel(),
            "high": (mean + half).ravel(),
        }
    )
