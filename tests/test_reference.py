"""The vectorised engine (CultureModel) and the per-person oracle (ReferenceModel) agree.

Both engines share the organisation and initial people of a seed but draw every later random
number from their own generators, so they agree only in distribution. For each scenario we run
the same 20 seeds with each engine (52 burn-in weeks, then 104 weeks) and compare, measure by
measure, the end-of-run level: a measure's mean over the last END_WEEKS weeks of a run.

Tolerance: the engines disagree on a measure when
    |mean(reference - vectorised)| > 4 x SE + 2% x |mean(vectorised)|,
where the differences are paired by seed (same organisation and starting people) and
SE = sd(differences) / sqrt(n). The 2% floor keeps measures that hardly vary between seeds from
being flagged for rounding-level differences. With 19 degrees of freedom a difference beyond
4 SE arises by chance about 8 times in 10,000 per measure, about 2% over the 31 comparisons;
the seeds are fixed, so the test is deterministic. In this 300-post trust the check resolves
differences of about 10% of mean strain or of the 52-week prevalence of public aggression,
15% of that of bullying by colleagues and 40% of weekly bullying acts: it catches a rule that
is wrong, not a subtle bias (benchmarks use larger trusts).

The last test shows that the check has power: reference runs with the bullying logit raised
by 1.5 (about 4x the weekly chance of bullying) are flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from culturesim.engine.measures import SERIES_MEASURES
from culturesim.engine.model import CultureModel
from culturesim.engine.reference import ReferenceModel
from culturesim.engine.scenario import load_scenario

SEED0 = 500
END_WEEKS = 26
SE_MULTIPLE = 4.0
FLOOR = 0.02
MEASURES = list(SERIES_MEASURES)
"""Every weekly measure of the registry (culturesim.engine.measures), none left out."""
SMALL = {
    "organisation.staff_per_trust": 300,
    "run.steps": 104,
    "run.figures": False,
    "run.record_events": False,
}
PRESSURED = {
    # more pressure and demand, less money and a punitive regulator: every mechanism is busy
    "drivers.regulator_pressure.value": 1.5,
    "drivers.demand.value": 1.2,
    "regulator.stance": 0.2,
    "interventions": [
        {"kind": "leadership_programme", "week": 20, "share_of_leaders": 0.5, "strength": 0.5},
        {"kind": "funding_change", "week": 40, "factor": 0.9},
        {"kind": "stance_change", "week": 70, "stance": 0.6},
    ],
}


def end_of_run(engine: type, overrides: dict, replicates: int) -> pd.DataFrame:
    """One row per seed: each measure's mean over the last END_WEEKS weeks of the run."""
    scenario = load_scenario("baseline").with_overrides({**SMALL, **overrides})
    rows = []
    for seed in range(SEED0, SEED0 + replicates):
        model = engine(scenario, seed=seed)
        for _ in range(scenario.run.steps):
            model.step()
        rows.append(model.timeseries()[MEASURES].tail(END_WEEKS).mean())
    return pd.DataFrame(rows)


def disagreements(reference: pd.DataFrame, vectorised: pd.DataFrame) -> dict[str, str]:
    """Measures whose seed-paired mean difference exceeds the stated tolerance, explained.

    Row i of both tables is the same seed; the shorter table sets how many pairs are used.
    """
    n = min(len(reference), len(vectorised))
    found = {}
    for measure in MEASURES:
        a, b = reference[measure].to_numpy()[:n], vectorised[measure].to_numpy()[:n]
        if np.isnan(a).any() or np.isnan(b).any():
            if not (np.isnan(a) == np.isnan(b)).all():
                found[measure] = "undefined (NaN) in one engine and not in the other"
            continue
        difference = a - b
        se = difference.std(ddof=1) / np.sqrt(n)
        allowed = SE_MULTIPLE * se + FLOOR * abs(b.mean())
        if abs(difference.mean()) > allowed:
            found[measure] = (
                f"reference {a.mean():.4f} vs vectorised {b.mean():.4f}: paired difference "
                f"{difference.mean():+.4f} exceeds {allowed:.4f} ({SE_MULTIPLE:g} SE {se:.4f} "
                f"+ floor) over {n} seeds"
            )
    return found


@pytest.fixture(scope="module")
def baseline_vectorised() -> pd.DataFrame:
    return end_of_run(CultureModel, {}, replicates=20)


def test_timeseries_has_the_same_columns():
    scenario = load_scenario("baseline").with_overrides({**SMALL, "run.steps": 2})
    columns = []
    for engine in (CultureModel, ReferenceModel):
        model = engine(scenario, seed=1, burn_in=False)
        model.step()
        columns.append(list(model.timeseries().columns))
    assert columns[0] == columns[1]


def test_both_engines_walk_the_same_phases():
    assert ReferenceModel.phases.names == CultureModel.phases.names


@pytest.mark.slow
def test_engines_agree_on_the_baseline(baseline_vectorised):
    reference = end_of_run(ReferenceModel, {}, replicates=20)
    assert disagreements(reference, baseline_vectorised) == {}


@pytest.mark.slow
def test_engines_agree_under_pressure_with_interventions():
    vectorised = end_of_run(CultureModel, PRESSURED, replicates=20)
    reference = end_of_run(ReferenceModel, PRESSURED, replicates=20)
    assert vectorised.bullying_acts.mean() > 1, "the pressured scenario should see bullying"
    assert disagreements(reference, vectorised) == {}


@pytest.mark.slow
def test_the_comparison_detects_a_changed_rule(baseline_vectorised):
    logit = load_scenario("baseline").behaviour.bullying_baseline_logit
    changed = end_of_run(
        ReferenceModel, {"behaviour.bullying_baseline_logit": logit + 1.5}, replicates=8
    )
    flagged = disagreements(changed, baseline_vectorised)
    assert {"bullying_acts", "bullied_by_colleagues"} <= set(flagged), flagged
