"""Tipping defined by the dynamics: two starts (ordinary and after a temporary shock).

A trust below the tipping region returns to its low state after the shock; inside a bistable
region it stays endemic after the shock is removed (hysteresis). Under the calibrated defaults
the model shows no bistability at the baseline's drivers (docs/ODD.md 7.15), in line with
Escartín et al. (2013). Two states appear where conformity to local norms dominates the
individual propensity to bully: a strong pull of local norms (`behaviour.norm_weight` = 14,
default 3) with a low baseline propensity (`behaviour.bullying_baseline_logit` = -11, default
-7.47), no regulator pressure. That trust is the bistable case here; its tests state their
tolerances (16 paired seeds for the two starts, 6 for the ramp).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from culturesim import load_scenario, simulate
from culturesim.batch.analysis import analyse
from culturesim.batch.hysteresis import ENDEMIC, SHOCK_PATH, STATE, bistability, ramp
from culturesim.batch.sweep import sweep

SHOCK_WEEKS = 52
AFTER_WEEKS = 260
SEEDS = (1, 2, 3, 4)
BISTABLE = {
    "behaviour.norm_weight": 14.0,
    "behaviour.bullying_baseline_logit": -11.0,
    "drivers.regulator_pressure.value": 0.0,
}


def both_starts(overrides: dict, seeds: tuple[int, ...] = SEEDS) -> pd.DataFrame:
    """One row per run: each seed from the ordinary start and after the shock (1,000 posts)."""
    base = load_scenario("baseline")
    rows = []
    for seed in seeds:
        for weeks in (0, SHOCK_WEEKS):
            scenario = base.with_overrides(
                {
                    "organisation.staff_per_trust": 1000,
                    "run.steps": SHOCK_WEEKS + AFTER_WEEKS,
                    "run.record_events": False,
                    "run.figures": False,
                    SHOCK_PATH: weeks,
                    **overrides,
                }
            )
            result = simulate(scenario, seed=seed)
            series = result.timeseries
            share = series.perpetrators / series.staff
            rows.append(
                {
                    SHOCK_PATH: weeks,
                    "replicate": seed,
                    "status": "ok",
                    STATE: result.summary[STATE],
                    "at_shock_end": float(share.iloc[SHOCK_WEEKS - 13 : SHOCK_WEEKS].mean()),
                    "pressure": series.regulator_pressure.iloc[0],
                }
            )
    return pd.DataFrame(rows)


def test_shock_holds_the_drivers_then_releases_them():
    scenario = load_scenario("baseline").with_overrides(
        {"organisation.staff_per_trust": 100, "run.steps": 8, "shock.weeks": 5}
    )
    series = simulate(scenario, seed=1).timeseries
    assert series.regulator_pressure.tolist() == [3.0] * 5 + [0.5] * 3
    assert series.funding.tolist() == pytest.approx([0.7] * 5 + [1.0] * 3)


@pytest.mark.slow
def test_below_the_tipping_region_a_trust_returns_to_its_low_state():
    runs = both_starts({})
    shocked = runs[runs[SHOCK_PATH] > 0]
    ordinary = runs[runs[SHOCK_PATH] == 0]
    assert (shocked.at_shock_end > ENDEMIC).all(), "the shock did not make the trust endemic"
    assert (shocked[STATE] < ENDEMIC).sum() >= 3, shocked[STATE].tolist()
    assert abs(shocked[STATE].mean() - ordinary[STATE].mean()) < 0.01
    table = bistability(runs, ["pressure", SHOCK_PATH])
    assert not table.bistable.any()


@pytest.mark.slow
def test_inside_the_bistable_region_the_endemic_state_outlasts_the_shock():
    """Sixteen seeds of the norm-driven trust, each from both starts (paired by seed)."""
    runs = both_starts(BISTABLE, seeds=tuple(range(1, 17)))
    shocked = runs[runs[SHOCK_PATH] > 0].set_index("replicate")
    ordinary = runs[runs[SHOCK_PATH] == 0].set_index("replicate")
    endemic = shocked[STATE] > ENDEMIC
    # A threshold, the mark of two stable states: where the year's shock left the trust decides
    # where it is four years later. Above 6% of staff bullying weekly it went on rising to an
    # endemic state after the shock was removed; below 5% it fell back (0.1-4.9% here).
    pushed, short = shocked.at_shock_end > 0.06, shocked.at_shock_end < 0.05
    assert pushed.sum() >= 4 and short.sum() >= 4, shocked.at_shock_end.round(3).tolist()
    assert endemic[pushed].all() and not endemic[short].any(), shocked.round(3).to_string()
    assert (shocked[STATE] > shocked.at_shock_end)[endemic].all()
    # Hysteresis, paired by seed: the shocked twin ends endemic while the ordinary one stays low
    # in at least 6 seeds, and never the other way round (exact McNemar, p <= 0.5^6 = 0.016).
    low = ordinary[STATE] <= ENDEMIC
    assert (endemic & low).sum() >= 6 and not (~endemic & ~low).any()
    assert low.sum() >= 13, ordinary[STATE].round(3).tolist()


def test_bistability_pairs_starts_by_point_and_states_intervals():
    runs = pd.DataFrame(
        {
            "x": [0, 0, 0, 0, 1, 1, 1, 1],
            SHOCK_PATH: [0, 52, 0, 52, 0, 52, 0, 52],
            "replicate": [0, 0, 1, 1, 0, 0, 1, 1],
            "status": ["ok"] * 8,
            STATE: [0.01, 0.2, 0.02, 0.15, 0.01, 0.01, 0.2, 0.3],
        }
    )
    table = bistability(runs, ["x", SHOCK_PATH]).set_index("x")
    assert table.bistable.tolist() == [True, False]
    assert table.loc[0, "low_start_endemic"] == 0 and table.loc[0, "shocked_start_endemic"] == 1
    assert table.loc[1, "low_start_endemic"] == 0.5
    assert 0 < table.loc[0, "shocked_start_endemic_ci_low"] < 1
    assert np.isclose(table.loc[0, "shocked_start_mean"], 0.175)


def ramped(overrides: dict):
    """Regulator pressure ramped 0 -> 3 -> 0 over five years, 3 seeds, trusts of 500 posts."""
    scenario = load_scenario("baseline").with_overrides(
        {"organisation.staff_per_trust": 500, **overrides}
    )
    _, points = ramp(scenario, "regulator_pressure", 0.0, 3.0, 260, 104, seeds=(1, 2, 3))
    return points


@pytest.mark.slow
def test_a_ramp_up_and_down_leaves_a_baseline_trust_low():
    """Hysteresis absent at the defaults: after the ramp down no run is endemic."""
    points = ramped({})
    assert points.endemic_at_end.tolist() == [False] * 3, points


@pytest.mark.slow
def test_a_ramp_down_and_back_leaves_a_bistable_trust_endemic():
    """Hysteresis: funding ramped 1.0 -> 0.7 -> 1.0 (holds of two years, ramps of five), paired by
    seed with the same trust held at 1.0 for as long. The low state of the bistable trust is only
    metastable at 500 posts (2 of 6 held trusts tip by chance in 16 years); the ramp tips most of
    the rest, and no trust that tipped comes back when the money does."""
    scenario = load_scenario("baseline").with_overrides(
        {"organisation.staff_per_trust": 500, **BISTABLE}
    )
    seeds = (1, 2, 3, 4, 5, 6)
    _, held = ramp(scenario, "funding", 1.0, 1.0, 260, 104, seeds=seeds)  # a "ramp" to itself
    _, ramped = ramp(scenario, "funding", 1.0, 0.7, 260, 104, seeds=seeds)
    assert (ramped.endemic_at_end >= held.endemic_at_end).all(), (held, ramped)
    assert ramped.endemic_at_end.sum() >= held.endemic_at_end.sum() + 3, (held, ramped)


@pytest.mark.slow
def test_sweep_with_two_starts_is_analysed_as_a_tipping_diagram(tmp_path):
    experiment = tmp_path / "tipping.toml"
    experiment.write_text(
        """
base = "baseline"
seed = 5
replicates = 2
common_random_numbers = true

[scenario]
organisation.staff_per_trust = 300
run.steps = 156
behaviour.norm_weight = 6.0

[[parameters]]
path = "drivers.regulator_pressure.value"
values = [0.0, 3.0]

[[parameters]]
path = "drivers.funding.value"
values = [0.7, 1.0]

[[parameters]]
path = "shock.weeks"
values = [0, 52]

[design]
kind = "grid"

[outputs]
summary = ["bullied_by_staff", "perpetrator_share"]
"""
    )
    sweep(experiment, tmp_path / "out", workers=2, progress=False)
    report = analyse(tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "analysis" / "tipping.csv")
    assert len(table) == 4 and set(table.bistable) <= {True, False}
    for start in ("low_start", "shocked_start"):
        assert (table[f"{start}_runs"] == 2).all()
        assert (table[f"{start}_endemic_ci_low"] <= table[f"{start}_endemic"]).all()
    # top pressure and a deep cut: endemic from either start, so not bistable
    harsh = table[(table["drivers.regulator_pressure.value"] == 3.0)]
    assert (harsh.shocked_start_endemic == 1).all() and not harsh.bistable.any()
    assert (tmp_path / "out" / "analysis" / "phase-diagram.png").stat().st_size > 0
    assert any(note.startswith("tipping:") for note in report.notes)
