"""The EMA Workbench connector: parameters built from the scenario schema, values landing at
their dotted paths, seeds handled, and the PRIM example running end to end on small runs."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ema_workbench")  # the `ema` extra; the README's test command installs it

from ema_workbench import perform_experiments  # noqa: E402

from culturesim import ScenarioError, load_scenario, simulate  # noqa: E402
from culturesim.ema import ema_model  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "prim_endemic_bullying.py"


@pytest.fixture(scope="module")
def small_trust():
    return load_scenario("baseline").with_overrides(
        {"run.steps": 20, "organisation.staff_per_trust": 120}
    )


def test_parameters_take_their_names_types_and_ranges_from_the_schema(small_trust) -> None:
    model = ema_model(
        small_trust,
        uncertainties=["drivers.funding.value", ("drivers.regulator_pressure.value", 0.5, 2.0)],
        levers=["regulator.stance", "organisation.peer_ties"],
        outcomes=["bullied_by_staff"],
    )
    funding = model.uncertainties["drivers_funding_value"]
    assert (funding.lower_bound, funding.upper_bound) == (0.3, 2.0)
    assert funding.variable_name == ["drivers.funding.value"]
    pressure = model.uncertainties["drivers_regulator_pressure_value"]
    assert (pressure.lower_bound, pressure.upper_bound) == (0.5, 2.0)
    stance = model.levers["regulator_stance"]
    assert (stance.lower_bound, stance.upper_bound) == (0, 1)
    ties = model.levers["organisation_peer_ties"]
    assert type(ties).__name__ == "IntegerParameter" and (ties.lower_bound, ties.upper_bound) == (
        0,
        30,
    )


@pytest.mark.parametrize(
    ("uncertainties", "outcomes", "message"),
    [
        (["regulator.stanse"], None, "did you mean 'regulator.stance'"),
        ([("regulator.stance", 0.5, 1.5)], None, "outside what the schema allows"),
        (["organisation.spans_of_control"], None, "not a number"),
        (["regulator.stance"], ["bullied_by_staf"], "did you mean 'bullied_by_staff'"),
    ],
)
def test_bad_names_and_ranges_are_refused_in_one_line(
    small_trust, uncertainties, outcomes, message
) -> None:
    with pytest.raises(ScenarioError, match=message) as error:
        ema_model(small_trust, uncertainties, outcomes=outcomes)
    assert "\n" not in str(error.value)


def test_each_experiment_is_the_run_of_its_values_and_seed(small_trust) -> None:
    model = ema_model(
        small_trust,
        uncertainties=["drivers.funding.value", "regulator.stance"],
        outcomes=["bullied_by_staff", "care_quality", "ceo_median_tenure_years"],
        timeseries=["mean_strain"],
        seed=5,
    )
    np.random.seed(3)
    experiments, outcomes = perform_experiments(model, scenarios=3)
    assert outcomes["mean_strain_weekly"].shape == (3, 20)
    for row, experiment in experiments.iterrows():
        direct = simulate(
            small_trust.with_overrides(
                {
                    "drivers.funding.value": float(experiment.drivers_funding_value),
                    "regulator.stance": float(experiment.regulator_stance),
                }
            ),
            seed=5,
        )
        assert outcomes["bullied_by_staff"][row] == direct.summary["bullied_by_staff"]
        assert outcomes["care_quality"][row] == direct.summary["care_quality"]
        np.testing.assert_array_equal(
            outcomes["mean_strain_weekly"][row], direct.timeseries.mean_strain.to_numpy()
        )
    # Distinct values give distinct runs (the values really reach the model).
    assert len(set(outcomes["bullied_by_staff"])) == 3


def test_replications_average_over_successive_seeds(small_trust) -> None:
    model = ema_model(
        small_trust, ["regulator.stance"], outcomes=["mean_strain"], replications=2, seed=8
    )
    np.random.seed(1)
    experiments, outcomes = perform_experiments(model, scenarios=1)
    stance = float(experiments.regulator_stance[0])
    runs = [
        simulate(small_trust.with_overrides({"regulator.stance": stance}), seed=seed)
        for seed in (8, 9)
    ]
    expected = np.mean([run.summary["mean_strain"] for run in runs])
    assert outcomes["mean_strain"][0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
def test_the_prim_example_finds_a_box_where_bullying_is_endemic() -> None:
    discover = runpy.run_path(str(EXAMPLE))["discover"]
    table, outcomes, box = discover(experiments=24, weeks=60, staff=200, workers=1, seed=1)
    endemic = outcomes["bullied_by_staff"] >= 0.4
    assert 0 < endemic.sum() < len(table), "the small design must hold both kinds of run"
    stats, limits = box.inspect(style="data")[0]
    assert stats["density"] > endemic.mean(), "the box holds endemic runs more densely"
    assert set(limits.index) <= {
        "drivers_regulator_pressure_value",
        "drivers_funding_value",
        "regulator_stance",
    }
