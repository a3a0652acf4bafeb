"""Mesa's own batch runner drives CultureModel as Mesa users expect (issue 9, point 5)."""

import mesa
import numpy as np
import pandas as pd
import pytest

from culturesim import CultureModel, ScenarioError, load_scenario
from culturesim.engine.measures import TIMESERIES_COLUMNS

STEPS = 6
SMALL = {"run.steps": STEPS, "run.burn_in_weeks": 4, "organisation.staff_per_trust": 200}


def batch(parameters: dict, **options) -> pd.DataFrame:
    options = {"iterations": 3, "max_steps": 1000, "display_progress": False} | options
    return pd.DataFrame(mesa.batch_run(CultureModel, parameters=parameters, **options))


@pytest.fixture(scope="module")
def issue_call() -> pd.DataFrame:
    """The issue's call, with small runs: one row per run, at its end."""
    return batch({"scenario": "baseline", "drivers.funding.value": [0.8, 1.0], **SMALL})


def test_the_issues_call_gives_each_run_its_last_week_with_every_weekly_measure(issue_call):
    assert len(issue_call) == 2 * 3
    assert sorted(issue_call.iteration.tolist()) == [0, 0, 1, 1, 2, 2]
    assert set(TIMESERIES_COLUMNS) <= set(issue_call.columns)
    assert (issue_call.Step == STEPS - 1).all()
    assert (issue_call.week == STEPS - 1).all()  # Mesa's Step is the recorded week
    # the dotted-path keyword reached the model: the weekly funding driver is the value set
    assert issue_call.funding.tolist() == issue_call["drivers.funding.value"].tolist()


def test_iterations_draw_distinct_seeds_and_differ(issue_call):
    assert issue_call.seed.nunique() == len(issue_call)
    for _, runs in issue_call.groupby("drivers.funding.value"):
        assert runs.bullying_acts.nunique() > 1 or runs.mean_strain.nunique() > 1


def test_a_run_is_reproduced_from_its_recorded_seed(issue_call):
    row = issue_call.iloc[-1]
    settings = SMALL | {"drivers.funding.value": row["drivers.funding.value"]}
    model = CultureModel("baseline", seed=int(row.seed), **settings)
    model.run_model()
    last = model.timeseries().iloc[-1]
    columns = list(TIMESERIES_COLUMNS)
    np.testing.assert_array_equal(last[columns].astype(float), row[columns].astype(float))


def test_a_given_seed_makes_iterations_identical_and_matches_a_scenario_run():
    rows = batch({"scenario": "baseline", "seed": 7, **SMALL})
    measures = rows[list(TIMESERIES_COLUMNS)].astype(float)
    assert (measures.nunique(dropna=False) == 1).all()
    model = CultureModel(load_scenario("baseline").with_overrides(SMALL), seed=7)
    for _ in range(STEPS):
        model.step()
    np.testing.assert_array_equal(model.timeseries().iloc[-1].astype(float), measures.iloc[0])


def test_a_run_seed_setting_is_a_given_seed_too():
    rows = batch({"scenario": "baseline", "run.seed": 11, **SMALL}, iterations=2)
    assert rows.seed.tolist() == [11, 11]


def test_collecting_every_week_gives_one_row_per_run_and_week():
    rows = batch({"scenario": "baseline", **SMALL}, iterations=2, data_collection_period=1)
    assert len(rows) == 2 * STEPS
    for _, run in rows.groupby("RunId"):
        assert run.Step.tolist() == run.week.tolist() == list(range(STEPS))
        assert run.seed.nunique() == 1


def test_max_steps_cuts_a_run_short_as_mesa_counts_steps():
    rows = batch({"scenario": "baseline", **SMALL}, iterations=1, max_steps=2)
    assert rows.Step.tolist() == [2]  # Mesa steps while steps <= max_steps: three weeks


def test_running_stops_after_the_scenarios_last_week():
    model = CultureModel("baseline", seed=1, **SMALL)
    model.run_model()
    assert model.steps == STEPS and model.week == STEPS and not model.running
    assert len(model.datacollector.get_model_vars_dataframe()) == STEPS


def test_the_collector_reads_the_recorder():
    model = CultureModel("baseline", seed=3, **SMALL)
    model.step()
    model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame.drop(columns="seed").equals(model.timeseries())
    assert (frame.seed == 3).all()
    assert model.datacollector.model_vars["mean_strain"][1] == model.records[1]["mean_strain"]


def test_a_scenario_object_keeps_its_own_seed():
    scenario = load_scenario("baseline").with_overrides(SMALL | {"run.seed": 5})
    assert CultureModel(scenario).seed == 5
    assert CultureModel(scenario, **{"drivers.funding.value": 0.9}).seed == 5
    assert CultureModel(scenario, seed=6).seed == 6


@pytest.mark.parametrize(
    ("setting", "needles"),
    [
        ({"drivers.fundng.value": 0.9}, ("unknown parameter path", "did you mean")),
        ({"drivers.funding.value": 9.0}, ("drivers.funding.value", "must be from")),
    ],
)
def test_a_bad_keyword_is_a_one_line_scenario_error(setting, needles):
    with pytest.raises(ScenarioError) as caught:
        batch({"scenario": "baseline", **SMALL, **setting}, iterations=1)
    message = str(caught.value)
    assert "\n" not in message and "CultureModel('baseline')" in message
    assert all(needle in message for needle in needles)
