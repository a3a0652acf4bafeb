"""Plausible at the extremes (issue 14): temporary staffing, recruitment and special measures keep
a trust inside the envelope of values real trusts have shown (docs/ODD.md 8.1).

The rule tests are exact. The whole-simulation tests are statistical; each states its tolerance:
- envelope: on a 3 x 3 grid over the pressure-funding ranges, trusts of 1,000 posts run for 156
  weeks after the burn-in (the size and length of the committed check, experiments/envelope.py),
  every point's mean over GRID_SEEDS (12 seeds) of each enforced measure lies inside the
  envelope's bounds, with no extra tolerance. Twelve seeds because bullying by managers varies
  between seeds of the same trust far more than between grid points (sd about 4 points: which
  managers bully is a matter of chance); with 2 seeds the mean fell below the best trust's 4% at
  the generous corner by luck of the seeds (docs/ODD.md 8.1);
- monotonicity: at fixed pressure, bullying by staff at a lower funding level minus at a higher
  one, paired by seed, is not below -(MONOTONE_TOLERANCE + 3 SE);
- special measures: entered at the second inadequate rating under either stance, and, paired
  by seed against runs where they never fire, they lower mean strain in every seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from culturesim import load_scenario, simulate
from culturesim.batch.envelope import (
    BOUNDS,
    ENFORCED,
    ENVELOPE,
    MONOTONE_TOLERANCE,
    funding_rises,
    outside,
)
from culturesim.batch.experiment import load_experiment
from culturesim.engine import rules
from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import Recruitment, SpecialMeasures, TemporaryStaffing

SMALL = {
    "organisation.staff_per_trust": 600,
    "run.steps": 104,
    "run.figures": False,
    "run.record_events": False,
}
SEEDS = (11, 12)
GRID = {**SMALL, "organisation.staff_per_trust": 1000, "run.steps": 156}
GRID_SEEDS = tuple(range(1, 13))
PRESSURE, FUNDING = "drivers.regulator_pressure.value", "drivers.funding.value"


# --- the rules -------------------------------------------------------------------------------


def test_temporary_staff_cover_a_share_of_vacancies_up_to_a_ceiling():
    t = TemporaryStaffing(cover=0.8, max_share=0.1)
    share = rules.temporary_cover(np.array([0.0, 0.05, 0.1, 0.5]), t)
    assert share == pytest.approx([0.0, 0.04, 0.08, 0.1])


def test_covered_staffing_fills_part_of_the_gap_and_never_overfills():
    t = TemporaryStaffing(effectiveness=0.75)
    staffed = np.array([0.0, 0.5, 0.9, 1.0])
    covered = rules.covered_staffing(staffed, np.full(4, 0.8), t)
    assert covered == pytest.approx(staffed + 0.6 * (1 - staffed))
    assert np.all((covered >= staffed) & (covered <= 1))


def test_temporary_staff_cost_their_premium_on_the_pay_share():
    t = TemporaryStaffing(premium=0.5, pay_share=0.6)
    assert rules.temporary_staffing_cost(np.array([0.1]), t) == pytest.approx([0.03])


def test_recruitment_effort_rises_with_vacancies_up_to_the_labour_market_limit():
    r, sm = Recruitment(usual_vacancy=0.09, effort_gain=10, max_effort=2), SpecialMeasures()
    vacancy = np.array([0.0, 0.09, 0.14, 0.5])
    effort = rules.recruitment_effort(vacancy, np.zeros(4, dtype=bool), r, sm)
    assert effort == pytest.approx([1.0, 1.0, 1.5, 2.0])
    boosted = rules.recruitment_effort(vacancy, np.ones(4, dtype=bool), r, sm)
    assert np.all(boosted >= effort) and np.all(boosted <= 2.0)


def test_hiring_is_proportional_to_effort():
    u = load_scenario("baseline").turnover
    base = rules.hiring_probability(np.array([0.02]), np.ones(1), np.zeros(1), u)
    double = rules.hiring_probability(np.array([0.02]), np.ones(1), np.zeros(1), u, 2.0)
    assert double == pytest.approx(2 * base)


def test_special_measures_after_a_run_of_inadequate_ratings_and_exit_after_min_weeks():
    sm = SpecialMeasures(entry_ratings=2, min_weeks=52)
    inadequate = np.array([True, True, False, False])
    run = np.array([0, 1, 5, 0])
    in_measures = np.array([False, False, True, True])
    weeks = np.array([0, 0, 60, 20])
    run, entering, exiting = rules.special_measures_review(inadequate, run, in_measures, weeks, sm)
    assert run.tolist() == [1, 2, 0, 0]
    assert entering.tolist() == [False, True, False, False]
    assert exiting.tolist() == [False, False, True, False]


def test_no_new_blame_in_special_measures():
    r = load_scenario("baseline").regulator
    quality, extra = np.array([0.3, 0.3]), np.array([0.6, 0.6])
    pressure, _, _ = rules.regulator_feedback(
        quality, extra, np.zeros(2), 0.0, r, np.array([False, True]), 0.5
    )
    assert pressure[0] > extra[0]
    assert pressure[1] == pytest.approx(0.3)


# --- whole simulations -----------------------------------------------------------------------


def _grid(levels: int = 3) -> tuple[list[float], list[float]]:
    """The pressure-funding experiment's ranges, `levels` evenly spaced points each."""
    experiment = load_experiment("pressure-funding")
    ranges = {p.path: p.range for p in experiment.spec.parameters}
    return (
        list(np.linspace(*ranges[PRESSURE], levels)),
        list(np.linspace(*ranges[FUNDING], levels)),
    )


@pytest.fixture(scope="module")
def grid_runs() -> pd.DataFrame:
    base = load_scenario("baseline").with_overrides(GRID)
    pressures, fundings = _grid()
    rows = []
    for pressure in pressures:
        for funding in fundings:
            scenario = base.with_overrides({PRESSURE: float(pressure), FUNDING: float(funding)})
            for seed in GRID_SEEDS:
                summary = simulate(scenario, seed=seed).summary
                rows.append(
                    {PRESSURE: pressure, FUNDING: funding, "seed": seed}
                    | {m: summary[m] for m in ENFORCED}
                )
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_no_point_of_the_pressure_funding_ranges_leaves_the_envelope(grid_runs):
    points = grid_runs.groupby([PRESSURE, FUNDING], as_index=False)[list(ENFORCED)].mean()
    out = outside(points)
    assert out.empty, out.to_string()
    assert set(ENFORCED) >= {
        "vacancy_rate",
        "leaver_rate",
        "bullied_by_public",
        "bullied_by_colleagues",
        "bullied_by_managers",
    }


@pytest.mark.slow
def test_the_envelope_check_flags_the_collapse_beyond_the_narrowed_ranges():
    """The same check, at the former ranges' harsh corner (pressure 3, funding 0.6), reports the
    collapse the ranges were narrowed to avoid (docs/ODD.md 8.1): it is a check that can fail."""
    scenario = load_scenario("baseline").with_overrides({**GRID, PRESSURE: 3.0, FUNDING: 0.6})
    runs = pd.DataFrame([simulate(scenario, seed=seed).summary for seed in GRID_SEEDS[:4]])
    out = outside(runs[list(ENFORCED)].mean().to_frame().T)
    assert not out.empty
    assert {"bullied_by_colleagues", "leaver_rate", "vacancy_rate"} <= set(out.measure), out


@pytest.mark.slow
def test_less_funding_never_means_less_bullying_at_the_same_pressure(grid_runs):
    steps = funding_rises(grid_runs, "bullied_by_staff", FUNDING, [PRESSURE])
    allowed = -(MONOTONE_TOLERANCE + 3 * steps.se.fillna(0))
    assert (steps.change >= allowed).all(), steps.to_string()


def _special_measures_run(stance: float, seed: int, enabled: bool) -> pd.DataFrame:
    """A trust the regulator rates inadequate at every rating (quality bar set above reach)."""
    scenario = load_scenario("baseline").with_overrides(
        {
            **SMALL,
            "run.burn_in_weeks": 0,
            "regulator.stance": stance,
            "regulator.inadequate_quality": 0.99,
            "special_measures.entry_ratings": 2 if enabled else 20,
        }
    )
    model = CultureModel(scenario, seed=seed)
    for _ in range(scenario.run.steps):
        model.step()
    return model.timeseries()


@pytest.mark.slow
@pytest.mark.parametrize("stance", [0.0, 1.0])
def test_special_measures_fire_after_two_inadequate_ratings_under_either_stance(stance):
    inspection = load_scenario("baseline").regulator.inspection_weeks
    series = _special_measures_run(stance, SEEDS[0], enabled=True)
    entered = series.week[series.special_measures_entries > 0].tolist()
    assert entered == [2 * inspection - 1]
    assert (series.special_measures[series.week >= entered[0]] == 1).all()
    assert (series.special_measures[series.week < entered[0]] == 0).all()


@pytest.mark.slow
def test_special_measures_change_the_trajectory():
    """Paired by seed: extra money, recruitment and relief lower strain and vacancies."""
    after = slice(40, None)
    differences = []
    for seed in (21, 22, 23, 24):
        on = _special_measures_run(0.0, seed, enabled=True).iloc[after]
        off = _special_measures_run(0.0, seed, enabled=False).iloc[after]
        differences.append(
            (on.mean_strain.mean() - off.mean_strain.mean(),
             on.vacancy_rate.mean() - off.vacancy_rate.mean())
        )  # fmt: skip
    strain, vacancy = np.array(differences).T
    assert (strain < 0).all(), strain
    assert vacancy.mean() < 0, vacancy


def test_the_envelope_covers_the_calibrated_baseline_targets():
    """The calibration targets (ODD section 1) lie inside the envelope: a typical trust is
    plausible."""
    targets = {
        "bullied_by_public": (0.25, 0.28),
        "bullied_by_colleagues": (0.17, 0.19),
        "bullied_by_managers": (0.095, 0.13),
        "leaver_rate": (0.10, 0.12),
        "vacancy_rate": (0.08, 0.10),
    }
    for measure, (low, high) in targets.items():
        assert BOUNDS[measure].low < low and high < BOUNDS[measure].high, measure


def test_the_odd_lists_every_bound_of_the_envelope():
    """docs/ODD.md 8.1 shows the envelope as declared (one source of truth)."""
    odd = (Path(__file__).resolve().parents[1] / "docs" / "ODD.md").read_text()
    for b in ENVELOPE:
        estimate = "yes" if b.estimate else "no"
        row = f"| `{b.measure}` | {b.low:g}–{b.high:g} | {b.source} | {estimate} |"
        assert row in odd, f"docs/ODD.md 8.1 is out of date for {b.measure}"
