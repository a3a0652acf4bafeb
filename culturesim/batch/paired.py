"""Paired runs with common random numbers, and the intervals of their differences.

Replicate r of a pair runs both arms with seed S + r. Each mechanism draws from its own random
stream spawned from that seed (ODD 4, Stochasticity), so the two arms share their draws until
their states differ, and much of the seed noise cancels in the paired difference. Pairs go in
groups, each in one process: arm A's replicates side by side in one model, then arm B's
(culturesim.engine.replicates; the same results as each run alone, in less time); groups run in
a process pool with `workers` > 1. With posterior draws each pair runs alone (its parameters
are its own).

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
from culturesim.batch.worker import side_by_side_size
from culturesim.engine.scenario import Scenario, ScenarioError, load_scenario
from culturesim.engine.threads import share_cores
from culturesim.run.simulate import RunResult, simulate, simulate_replicates, summary_only

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
    return _reported(measure, simulate(a, seed=seed), simulate(b, seed=seed))


def run_pair_group(
    a: Scenario, b: Scenario, seeds: Sequence[int], measure: Measure, draw: Any = None
) -> list[tuple[dict, dict, np.ndarray]]:
    """`run_pair` for each seed, each arm's replicates side by side in one model (alone with
    a posterior `draw`, whose parameters are its own pair's)."""
    if draw is not None or len(seeds) == 1:
        return [run_pair(a, b, seed, measure, draw) for seed in seeds]
    arm_a, arm_b = simulate_replicates(a, seeds), simulate_replicates(b, seeds)
    return [_reported(measure, ra, rb) for ra, rb in zip(arm_a, arm_b, strict=True)]


def _reported(measure: Measure, a: RunResult, b: RunResult) -> tuple[dict, dict, np.ndarray]:
    """What a pair reports: each arm's measures and their weekly table."""
    weekly = np.stack([r.timeseries[list(WEEKLY_MEASURES)].to_numpy(float) for r in (a, b)])
    return measure(a), measure(b), weekly


def pair_groups(
    a: Scenario, seeds: Sequence[int], workers: int, draws: Sequence[Any] | None
) -> list[tuple[list[int], Any]]:
    """The seeds in groups whose pairs run side by side, each with its posterior draw: as many
    as share a model (culturesim.batch.worker.side_by_side_size), spread over the workers; one
    a group with posterior draws."""
    if draws is not None:
        return [([seed], draw) for seed, draw in zip(seeds, draws, strict=True)]
    size = min(side_by_side_size(a, len(seeds)), math.ceil(len(seeds) / max(workers, 1)))
    return [(list(seeds[start : start + size]), None) for start in range(0, len(seeds), size)]


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
    groups = pair_groups(lean_a, seeds, workers, draws)
    pairs: list[tuple[dict, dict, np.ndarray]] = []
    if workers > 1 and len(groups) > 1:
        with process_pool(min(workers, len(groups))) as pool:
            futures = [
                pool.submit(run_pair_group, lean_a, lean_b, group, measure, draw)
                for group, draw in groups
            ]
            for (group, _), future in zip(groups, futures, strict=True):
                pairs += future.result()
                if progress:
                    progress(len(group))
    else:
        for group, draw in groups:
            pairs += run_pair_group(lean_a, lean_b, group, measure, draw)
            if progress:
                progress(len(group))
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
