"""Trusts differ: trust-level random effects give a spread of outcomes and modest correlations.

Across the trusts of a multi-trust run, staff experience should explain only part of the
variance in quality and harm (R^2 about 0.1-0.3: Wake & Green 2019; Jonker et al. 2021), and
trusts should differ in bullying by managers about as much as NHS trusts do (roughly 7-20%:
NHS Staff Survey benchmark reports). Stated tolerances: over 2 seeds x 40 trusts of 300 posts
in their second year, |Spearman rho| of compassion climate with harm and with care quality
below 0.7; bullying by managers spread (10th to 90th percentile) of at least 5 points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from culturesim import load_scenario, simulate
from culturesim.engine.model import CultureModel
from culturesim.engine.trusts import TRUST_COLUMNS
from culturesim.run.simulate import run_to_folder

TRUSTS = 40
EFFECTS = ("case_mix", "leadership", "hiring", "leaving", "care")


def many_trusts(seed: int, **overrides) -> pd.DataFrame:
    scenario = load_scenario("baseline").with_overrides(
        {
            "organisation.trusts": TRUSTS,
            "organisation.staff_per_trust": 300,
            "run.steps": 104,
            "run.record_events": False,
            "run.figures": False,
            **overrides,
        }
    )
    trusts = simulate(scenario, seed=seed).trusts
    return trusts[trusts.year == 1]


@pytest.fixture(scope="module")
def second_years() -> pd.DataFrame:
    return pd.concat([many_trusts(seed).assign(seed=seed) for seed in (1, 2)])


@pytest.mark.slow
@pytest.mark.parametrize("outcome", ["harm_per_1000_staff_year", "care_quality"])
def test_compassion_climate_explains_only_part_of_trust_outcomes(second_years, outcome):
    rho = [
        spearmanr(year.compassion_climate, year[outcome])[0]
        for _, year in second_years.groupby("seed")
    ]
    assert max(abs(r) for r in rho) < 0.7, f"Spearman rho of climate with {outcome}: {rho}"
    assert all(abs(r) > 0.1 for r in rho), f"no association left at all: {rho}"


@pytest.mark.slow
def test_trusts_differ_in_bullying_by_managers_and_leaving(second_years):
    for _, year in second_years.groupby("seed"):
        managers = year.bullied_by_managers.quantile([0.1, 0.9]).to_numpy()
        leavers = year.leaver_rate.quantile([0.1, 0.9]).to_numpy()
        assert managers[1] - managers[0] >= 0.05, managers
        assert 0.02 < managers[0] and managers[1] < 0.4, managers
        assert leavers[1] - leavers[0] >= 0.04 and 0.03 < leavers[0] and leavers[1] < 0.35


def test_effects_are_drawn_per_trust_from_their_own_stream():
    scenario = load_scenario("baseline").with_overrides(
        {"organisation.trusts": 200, "organisation.staff_per_trust": 50}
    )
    org = CultureModel(scenario, seed=3, burn_in=False).org
    spreads = scenario.trust_effects
    assert np.log(org.trust_case_mix).std() == pytest.approx(spreads.case_mix_spread, rel=0.2)
    assert org.trust_leadership.std() == pytest.approx(spreads.leadership_spread, rel=0.2)
    assert org.trust_hiring.mean() == pytest.approx(1, abs=0.05)
    assert org.trust_leaving.std() == pytest.approx(spreads.leaving_spread, rel=0.2)
    assert np.log(org.trust_care).std() == pytest.approx(spreads.care_spread, rel=0.2)
    # a trust's leaders carry its leadership shift; frontline posts do not
    shift = org.compassion_shift()
    assert np.array_equal(shift[org.level == 4], np.zeros((org.level == 4).sum()))
    leaders = org.level < 4
    assert np.allclose(shift[leaders], org.trust_leadership[org.trust[leaders]])
    # turning one spread off leaves the other effects' draws as they were
    off = scenario.with_overrides({"trust_effects.leadership_spread": 0.0})
    other = CultureModel(off, seed=3, burn_in=False).org
    assert np.array_equal(other.trust_case_mix, org.trust_case_mix)
    assert not other.trust_leadership.any()


def test_trusts_table_has_the_documented_columns(tmp_path):
    scenario = load_scenario("baseline").with_overrides(
        {
            "organisation.trusts": 3,
            "organisation.staff_per_trust": 120,
            "run.steps": 60,
            "run.figures": False,
        }
    )
    folder, result = run_to_folder(scenario, tmp_path / "run", seed=2)
    trusts = pd.read_parquet(folder / "trusts.parquet")
    assert list(trusts.columns) == list(TRUST_COLUMNS)
    assert len(trusts) == 3 * 2  # a full year and a partial one (8 weeks)
    assert trusts.weeks.tolist() == [52] * 3 + [8] * 3
    # per-trust counts add up to the run's weekly totals
    series = result.timeseries
    first = series.week < 52
    year0 = trusts[trusts.year == 0]
    assert year0.leavers.sum() == series.leavers[first].sum()
    assert year0.harm_events.sum() == series.harm_events[first].sum()
    assert year0.ceo_exits.sum() == series.ceo_exits[first].sum()
    assert year0.bullying_acts.sum() == series.bullying_acts[first].sum()
    assert year0.rating.isin(["good", "requires improvement", "inadequate"]).all()
    assert trusts[trusts.year == 1].rating.isna().all()  # no rating in its 8 weeks
    assert trusts[list(EFFECTS)].notna().all().all()
    assert trusts.bullied_by_staff.between(0, 1).all()
