"""`culturesim analyse`: per-point means with 95% intervals, phase diagrams, Sobol and Morris."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from culturesim.batch.analysis import analyse, mean_interval
from culturesim.batch.sweep import load_results, sweep

TINY = """
{top}base = "baseline"
seed = 4
replicates = {replicates}

[scenario]
organisation.staff_per_trust = 200
run.steps = 30

{parameters}

[design]
{design}

[outputs]
summary = ["bullied_by_staff", "reproduction_number", "mean_strain", "harm_per_1000_staff_year"]
"""
PRESSURE = """[[parameters]]
path = "drivers.regulator_pressure.value"
range = [0.0, 3.0]
{extra}"""
HARM = """[[parameters]]
path = "quality.harm_rate"
range = [0.0, 0.05]
"""
FUNDING = """[[parameters]]
path = "drivers.funding.value"
range = [0.5, 1.5]
{extra}"""


def run(tmp_path, parameters, design, replicates=1, top=""):
    path = tmp_path / "experiment.toml"
    text = TINY.format(replicates=replicates, parameters=parameters, design=design, top=top)
    path.write_text(text)
    sweep(path, tmp_path / "out", workers=2, progress=False)
    return tmp_path / "out"


def test_mean_interval_is_the_t_interval():
    values = np.array([0.1, 0.4, 0.25, 0.3])
    mean, low, high = mean_interval(values)
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert mean == pytest.approx(0.2625)
    assert (low, high) == pytest.approx((0.2625 - half, 0.2625 + half))
    assert np.isnan(mean_interval(np.array([0.5]))[1])
    assert mean_interval(np.array([0.5, np.nan, 0.7]))[0] == pytest.approx(0.6)


def test_intervals_stay_where_a_measure_can_be():
    """Three replicates of a share near 0 give a t interval reaching below 0: cut at 0."""
    from culturesim.batch.intervals import difference_range, possible_values

    shares = np.array([0.001, 0.002, 0.15])
    assert mean_interval(shares)[1] < 0
    mean, low, high = mean_interval(shares, within=possible_values("bullied_by_colleagues"))
    assert low == 0.0 and high == mean_interval(shares)[2] and mean == pytest.approx(0.051)
    assert possible_values("care_quality") == (0.0, 1.0)
    assert possible_values("ceo_exits") == (0.0, np.inf)
    assert difference_range("vacancy_rate") == (-1.0, 1.0)
    assert possible_values("leaver_rate") == (0.0, np.inf)  # leavers a year / staff: above 1 too
    with pytest.raises(ValueError, match="outside"):
        mean_interval(np.array([5.1, 5.6, 5.3]), within=(0.0, 1.0))
    assert mean_interval(shares, within=(0.0, 0.1))[2] == 0.1


def test_grid_of_two_gives_point_table_and_phase_diagram(tmp_path):
    out = run(
        tmp_path,
        PRESSURE.format(extra="levels = 3") + "\n" + FUNDING.format(extra="levels = 2"),
        'kind = "grid"',
        replicates=3,
    )
    report = analyse(out)
    table = pd.read_csv(out / "analysis" / "points.csv")
    runs = load_results(out)

    assert len(table) == 6 and (table["runs_ok"] == 3).all()
    point = runs[runs["point"] == 4]["bullied_by_staff"].to_numpy()
    mean, low, high = mean_interval(point)
    row = table[table["point"] == 4].iloc[0]
    assert row["bullied_by_staff_mean"] == pytest.approx(mean, rel=1e-5)
    assert (row["bullied_by_staff_ci_low"], row["bullied_by_staff_ci_high"]) == pytest.approx(
        (low, high), rel=1e-5
    )
    names = {path.name for path in report.files}
    assert names == {"points.csv", "phase-diagram.png", "lines.png"}
    assert all(path.stat().st_size > 10_000 for path in report.files if path.suffix == ".png")


def test_one_parameter_gives_line_plots(tmp_path):
    out = run(tmp_path, PRESSURE.format(extra="levels = 3"), 'kind = "grid"', replicates=2)
    report = analyse(out, tmp_path / "elsewhere")
    assert {path.name for path in report.files} == {"points.csv", "lines.png"}
    assert (tmp_path / "elsewhere" / "lines.png").is_file()


def test_sobol_design_gives_first_order_and_total_indices(tmp_path):
    out = run(
        tmp_path,
        PRESSURE.format(extra="") + "\n" + FUNDING.format(extra=""),
        'kind = "sobol"\nsamples = 8',
    )
    analyse(out)
    indices = pd.read_csv(out / "analysis" / "sobol.csv")
    assert set(indices["parameter"]) == {
        "drivers.regulator_pressure.value",
        "drivers.funding.value",
    }
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(indices.columns)
    assert indices[["S1", "ST"]].notna().all().all()
    assert (out / "analysis" / "sobol.png").is_file()


def test_morris_ranks_an_influential_parameter_above_an_inert_one(tmp_path):
    """Regulator pressure drives bullying; the harm rate only scales how often poor care harms
    patients (its own random stream), so it cannot change bullying. With common random numbers
    every run shares its draws, so each elementary effect is the parameter's alone."""
    out = run(
        tmp_path,
        PRESSURE.format(extra="") + "\n" + HARM,
        'kind = "morris"\ntrajectories = 4',
        top="common_random_numbers = true\n",
    )
    analyse(out)
    effects = pd.read_csv(out / "analysis" / "morris.csv")
    assert {"mu", "mu_star", "mu_star_conf", "sigma"} <= set(effects.columns)
    assert len(effects) == 2 * 4  # two parameters x four measures
    mu_star = effects.set_index(["measure", "parameter"])["mu_star"]
    pressure, harm = "drivers.regulator_pressure.value", "quality.harm_rate"
    for measure in ("bullied_by_staff", "mean_strain"):
        assert mu_star[measure, pressure] > 0
        assert mu_star[measure, harm] < 0.1 * mu_star[measure, pressure], measure
    # ... though it was varied: it moves harm, which it scales.
    assert mu_star["harm_per_1000_staff_year", harm] > 0
    assert (out / "analysis" / "morris.png").is_file()


def test_a_run_too_short_for_r_says_r_is_undefined_and_why(tmp_path):
    """5 weeks is shorter than the conversion window: no episode has had time to convert
    anyone, so R has no value, and the phase diagram says so rather than where R stands."""
    experiment = TINY.replace("run.steps = 30", "run.steps = 5").format(
        replicates=1,
        parameters=PRESSURE.format(extra="levels = 2") + "\n" + FUNDING.format(extra="levels = 2"),
        design='kind = "grid"',
        top="",
    )
    (tmp_path / "experiment.toml").write_text(experiment)
    sweep(tmp_path / "experiment.toml", tmp_path / "out", workers=1, progress=False)
    assert load_results(tmp_path / "out")["reproduction_number"].isna().all()
    text = analyse(tmp_path / "out").text()
    assert "R is undefined at every point" in text and "conversion window" in text
    assert "R stays" not in text
