"""The default parameters keep the bundled baseline inside the brief's ranges.

The defaults marked "calibrated" in culturesim/scenario.py come from experiments/calibrate.py
(table in experiments/calibration/calibration.md). This test reruns the baseline, unchanged
apart from switching off event recording, on REPLICATES fresh seeds and checks each target the
way the calibration measured it (culturesim.run.outputs.summarise):

- the 95% interval of the replicate mean (t interval) overlaps the target range (the Staff
  Survey's negative acts by source, persistent bullying, leavers, vacancies): a stated
  tolerance for the seed-to-seed noise of a single trust of 2,000 posts;
- the perpetrator share is measured as the self-labelled construct of its source (persistent
  perpetrators, docs/ODD.md section 8), like the other ranges;
- chief-executive tenure is pooled over the replicates (ln 2 x years in post / exits), and its
  exact 95% Poisson interval must overlap 2-4 years (one trust sees only 0-3 exits a run);
- the order public > colleagues > managers holds for the replicate means, and in at least 8 of
  the 10 replicates (a single trust whose board bullies can put colleagues above the public;
  see experiments/calibration/calibration.md).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2
from scipy.stats import t as student

from culturesim import load_scenario, simulate

REPLICATES = 10
SEEDS = range(501, 501 + REPLICATES)
RANGES = {
    "bullied_by_public": (0.25, 0.28),
    "bullied_by_colleagues": (0.17, 0.19),
    "bullied_by_managers": (0.095, 0.13),
    "leaver_rate": (0.10, 0.12),
    "vacancy_rate": (0.08, 0.10),
    "persistent_bullied": (0.04, 0.10),
    # Matthiesen & Einarsen 2007: 5.4% self-labelled perpetrators (+2.1% provocative victims)
    "persistent_perpetrators": (0.05, 0.08),
}
CEO_TENURE = (2.0, 4.0)

pytestmark = pytest.mark.slow  # ten full-size runs of the baseline


@pytest.fixture(scope="module")
def summaries() -> list[dict]:
    scenario = load_scenario("baseline").with_overrides(
        {"run.record_events": False, "run.figures": False}
    )
    return [simulate(scenario, seed=seed).summary for seed in SEEDS]


@pytest.mark.parametrize("key", list(RANGES))
def test_replicate_mean_is_in_the_target_range(summaries: list[dict], key: str) -> None:
    lo, hi = RANGES[key]
    values = np.array([s[key] for s in summaries])
    half = student.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    mean = values.mean()
    assert mean + half >= lo and mean - half <= hi, (
        f"{key}: mean {mean:.4f} (95% interval {mean - half:.4f}-{mean + half:.4f}) is outside "
        f"{lo}-{hi}; per seed {np.round(values, 3).tolist()}"
    )


def test_single_acts_reach_more_staff_than_persistent_perpetration(summaries: list[dict]) -> None:
    """The two constructs differ: anyone with one act in a year outnumbers persistent bullies."""
    for summary in summaries:
        assert summary["perpetrators_last_year"] > summary["persistent_perpetrators"], summary


def test_chief_executive_tenure_pooled_over_replicates(summaries: list[dict]) -> None:
    exits = sum(s["ceo_exits"] for s in summaries)
    years = sum(s["ceo_years_in_post"] for s in summaries)
    # exact (Garwood) 95% interval of the exit rate, hence of the median tenure ln 2 / rate
    rate_lo = chi2.ppf(0.025, 2 * exits) / 2 / years if exits else 0.0
    rate_hi = chi2.ppf(0.975, 2 * exits + 2) / 2 / years
    tenure_lo = math.log(2) / rate_hi
    tenure_hi = math.log(2) / rate_lo if rate_lo else math.inf
    lo, hi = CEO_TENURE
    assert tenure_hi >= lo and tenure_lo <= hi, (
        f"chief-executive tenure: {exits} exits in {years:.1f} years, 95% interval "
        f"{tenure_lo:.2f}-{tenure_hi:.2f} years, outside {lo}-{hi}"
    )


def test_public_above_colleagues_above_managers_in_the_replicate_means(
    summaries: list[dict],
) -> None:
    public, colleagues, managers = (
        np.mean([s[key] for s in summaries])
        for key in ("bullied_by_public", "bullied_by_colleagues", "bullied_by_managers")
    )
    assert public > colleagues > managers, (public, colleagues, managers)


def test_public_above_colleagues_above_managers_in_most_replicates(summaries: list[dict]) -> None:
    """Single trusts vary: a trust with a bullying board can put colleagues above the public.

    Tolerance: the order may fail in at most 2 of the 10 replicates (19 of 20 held in the
    calibration's validation).
    """
    broken = [
        seed
        for seed, s in zip(SEEDS, summaries, strict=True)
        if not s["bullied_by_public"] > s["bullied_by_colleagues"] > s["bullied_by_managers"]
    ]
    assert len(broken) <= 2, f"order public > colleagues > managers broken for seeds {broken}"
