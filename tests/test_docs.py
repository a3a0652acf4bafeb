"""The documents that describe the model must say what the code does."""

from __future__ import annotations

import pytest

from culturesim import load_scenario, simulate
from culturesim.engine import odd
from culturesim.engine.model import TIMESERIES_COLUMNS
from culturesim.engine.scenario import iter_parameters
from culturesim.run.outputs import SUMMARY_MEASURES


def test_odd_parameter_table_is_generated_from_the_current_schema():
    document = odd.ODD_PATH.read_text()
    assert odd.render(document) == document, "run `python -m culturesim.engine.odd`"


def test_every_model_parameter_has_a_source_and_a_row_in_the_odd():
    table = odd.parameter_table()
    for path, info in iter_parameters():
        if path.startswith(odd.SKIP_SECTIONS) or path.startswith("drivers."):
            continue
        assert (info.json_schema_extra or {}).get("source"), f"{path} has no source"
        assert f"| `{path}` |" in table, path


@pytest.fixture(scope="module")
def tiny_run():
    scenario = load_scenario("baseline").with_overrides(
        {"organisation.staff_per_trust": 200, "run.steps": 20, "run.figures": False}
    )
    return simulate(scenario)


def test_published_measure_names_are_what_a_run_produces(tiny_run):
    assert tuple(tiny_run.timeseries.columns) == TIMESERIES_COLUMNS
    numeric = {k for k, v in tiny_run.summary.items() if isinstance(v, (int, float)) or v is None}
    assert set(SUMMARY_MEASURES) == numeric - {"seed"}
