"""The registries are the one source of truth: what they declare is what the model does.

Small deterministic checks of the state registry (culturesim.engine.state.ATTRIBUTES), the
measure registry (culturesim.engine.measures.MEASURES) and the phases of a week
(culturesim.engine.phases.PHASES), against a short run, the docs and the code that lists them.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from culturesim import load_scenario, simulate
from culturesim.batch import analysis
from culturesim.engine import odd
from culturesim.engine.measures import (
    HEADLINE_MEASURES,
    MEASURES,
    SUMMARY,
    SUMMARY_MEASURES,
    TIMESERIES_COLUMNS,
    WEEKLY,
    WEEKLY_MEASURES,
)
from culturesim.engine.model import CultureModel
from culturesim.engine.phases import PHASES
from culturesim.engine.reference import ReferenceModel
from culturesim.engine.scenario import FundingChange, LeadershipProgramme, StanceChange
from culturesim.engine.state import (
    ATTRIBUTES,
    KEPT,
    TRAITS,
    People,
    draw_traits,
    hire,
    reset_person,
)
from culturesim.engine.week import time_phases
from culturesim.run import figures, outputs
from culturesim.viz import plots

SMALL = {"organisation.staff_per_trust": 200, "run.steps": 12, "run.figures": False}


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("baseline").with_overrides(SMALL)


@pytest.fixture(scope="module")
def run(scenario):
    return simulate(scenario, seed=4)


# --- measures --------------------------------------------------------------------------------


def test_measure_names_are_unique_within_their_kind():
    for kind in (WEEKLY, SUMMARY):
        names = [m.name for m in MEASURES if m.kind == kind]
        assert len(names) == len(set(names)), kind
    assert all(m.label and m.unit and m.how for m in MEASURES)


def test_every_weekly_measure_is_a_timeseries_column_in_order(run):
    assert tuple(run.timeseries.columns) == TIMESERIES_COLUMNS
    assert TIMESERIES_COLUMNS == tuple(m.name for m in WEEKLY_MEASURES)
    assert len(run.timeseries) == SMALL["run.steps"]


def test_every_summary_measure_is_in_the_summary(run):
    numeric = {k for k, v in run.summary.items() if isinstance(v, int | float) or v is None}
    assert set(SUMMARY_MEASURES) == numeric - {"seed"}
    assert SUMMARY_MEASURES == tuple(m.name for m in HEADLINE_MEASURES)


def test_every_measure_a_figure_plot_or_report_names_is_declared():
    weekly = set(TIMESERIES_COLUMNS)
    for _, columns in figures.DASHBOARD_PANELS:
        assert set(columns) <= weekly
    for _, columns in plots.PANELS:
        assert set(columns) <= weekly
    assert set(analysis.KEY_MEASURES) <= set(SUMMARY_MEASURES)
    assert set(outputs.HEADLINE_MEASURES) <= set(SUMMARY_MEASURES)


def test_leaders_trained_is_a_share_in_both_engines(scenario):
    """One definition: with a programme at week 0, a share between 0 and 1, never NaN."""
    programme = {"kind": "leadership_programme", "week": 0, "share_of_leaders": 1.0}
    trained = scenario.with_overrides({"interventions": [programme], "run.steps": 2})
    for engine in (CultureModel, ReferenceModel):
        model = engine(trained, seed=2, burn_in=False)
        model.step()
        share = model.timeseries().leaders_trained.iloc[0]
        assert 0.9 < share <= 1.0, engine.__name__


# --- state -----------------------------------------------------------------------------------


def test_people_has_exactly_the_declared_attributes_with_their_dtypes(scenario):
    model = CultureModel(scenario, seed=1, burn_in=False)
    fields = [f.name for f in dataclasses.fields(People)]
    assert fields == [a.name for a in ATTRIBUTES]
    for attribute in ATTRIBUTES:
        values = getattr(model.people, attribute.name)
        assert values.dtype == np.dtype(attribute.dtype), attribute.name
        assert len(values) == model.org.n_posts


def test_every_attribute_takes_its_declared_value_when_the_post_falls_vacant(scenario):
    model = CultureModel(scenario, seed=1)
    for _ in range(5):
        model.step()
    people = model.people
    posts = np.flatnonzero(people.occupied)[:10]
    before = {a.name: getattr(people, a.name)[posts].copy() for a in ATTRIBUTES}
    reset_person(people, posts, scenario)
    for attribute in ATTRIBUTES:
        now = getattr(people, attribute.name)[posts]
        if attribute.vacant == KEPT:
            np.testing.assert_array_equal(now, before[attribute.name], err_msg=attribute.name)
        else:
            expected = np.full(len(posts), attribute.vacant_value(scenario), attribute.dtype)
            np.testing.assert_array_equal(now, expected, err_msg=attribute.name)


def test_hiring_fills_the_post_with_new_people_and_fresh_traits(scenario):
    model = CultureModel(scenario, seed=1, burn_in=False)
    people = model.people
    posts = np.arange(5)
    reset_person(people, posts, scenario)
    traits = draw_traits(scenario, model.org.level[posts], np.random.default_rng(0))
    hire(people, posts, scenario, traits, np.arange(10_000, 10_005))
    assert people.occupied[posts].all()
    np.testing.assert_array_equal(people.person_id[posts], np.arange(10_000, 10_005))
    assert (people.tenure_weeks[posts] == 0).all()
    for name in TRAITS:
        values = getattr(people, name)[posts]
        assert ((values >= 0) & (values <= 1)).all()
        np.testing.assert_array_equal(values, traits[name])


def test_the_reference_agents_carry_and_reset_every_declared_attribute(scenario):
    model = ReferenceModel(scenario, seed=1, burn_in=False)
    person = model.people[5]
    for attribute in ATTRIBUTES:
        assert hasattr(person, attribute.name), attribute.name
    person.reset()
    for attribute in ATTRIBUTES:
        if attribute.vacant != KEPT:
            assert getattr(person, attribute.name) == attribute.vacant_value(scenario)
    np.testing.assert_array_equal(model.state().occupied[5:6], [False])


def test_the_odd_state_table_lists_every_attribute():
    section = odd.ODD_PATH.read_text().split("## 2.")[1].split("## 3.")[0]
    for attribute in ATTRIBUTES:
        assert f"`{attribute.name}`" in section, attribute.name


# --- phases ----------------------------------------------------------------------------------


def test_the_phases_run_in_the_order_the_odd_gives():
    section = odd.ODD_PATH.read_text().split("## 3.")[1].split("## 4.")[0]
    listed = re.findall(r"^\d+\. `(\w+)`:", section, flags=re.MULTILINE)
    assert tuple(listed) == PHASES.names
    assert CultureModel.phases.names == ReferenceModel.phases.names == PHASES.names


def test_the_phases_print_one_numbered_line_each():
    lines = repr(PHASES).splitlines()
    assert len(lines) == len(PHASES)
    assert lines[1].strip().startswith("2. workload (Eq. 2a, 2)")


def test_timing_the_phases_steps_the_model_like_step(scenario):
    timed = CultureModel(scenario, seed=3)
    stepped = CultureModel(scenario, seed=3)
    seconds = time_phases(timed, weeks=3)
    for _ in range(3):
        stepped.step()
    assert list(seconds.index) == list(PHASES.names)
    assert (seconds >= 0).all()
    assert timed.timeseries().equals(stepped.timeseries())


# --- interventions ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", [CultureModel, ReferenceModel])
def test_each_intervention_applies_itself_to_either_engine(scenario, engine):
    model = engine(scenario, seed=1, burn_in=False)
    StanceChange(kind="stance_change", week=0, stance=0.9).apply(model)
    assert model.stance == 0.9
    FundingChange(kind="funding_change", week=0, factor=0.8).apply(model)
    assert model.drivers_now["funding"] == pytest.approx(0.8)
    LeadershipProgramme(kind="leadership_programme", week=0, share_of_leaders=1.0).apply(model)
    state = model.state() if isinstance(model, ReferenceModel) else model.people
    leaders = model.org.is_leader & state.occupied
    assert state.trained[leaders].all() and not state.trained[~model.org.is_leader].any()


# --- constants in the schema -----------------------------------------------------------------


def test_the_former_constants_are_parameters_with_their_old_values():
    defaults = load_scenario("baseline")
    assert defaults.workload.staffing_floor == 0.2
    assert defaults.turnover.funding_cap == 1.5
    assert defaults.population.mean_start_tenure_weeks == 400
    assert defaults.run.burn_in_weeks == 52
    assert defaults.observation.survey_weeks == 52
    assert defaults.observation.leaver_window_weeks == 13
    table = odd.parameter_table()
    for path in (
        "workload.staffing_floor",
        "turnover.funding_cap",
        "population.mean_start_tenure_weeks",
        "run.burn_in_weeks",
        "observation.survey_weeks",
        "observation.leaver_window_weeks",
        "drivers.funding.value",
    ):
        assert f"| `{path}` |" in table, path


def test_the_burn_in_and_survey_window_are_read_from_the_scenario(scenario):
    short = scenario.with_overrides({"run.burn_in_weeks": 3, "observation.survey_weeks": 1})
    model = CultureModel(short, seed=1)
    assert model.episodes().start_week.min() >= -3
    model.step()
    # with a one-week look-back, prevalence is this week's share of staff bullied
    bullied = model.people.bullied_week == 0
    staff = model.people.occupied
    expected = np.count_nonzero(bullied & staff) / staff.sum()
    assert model.timeseries().bullied_by_staff.iloc[0] == pytest.approx(expected)
