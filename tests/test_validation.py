"""Patterns, the validation report's generator, and (slow) the fit meeting its fitting set."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from culturesim.batch.patterns import (
    MEASURES,
    load_patterns,
    measure_run,
    pattern_value,
    run_and_measure,
    strain_icc_by_team,
)
from culturesim.batch.posterior import apply_draw, load_posterior

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "validation.md"


def test_every_pattern_is_declared_with_a_source_and_a_measure():
    patterns = load_patterns()
    names = [p.name for p in patterns.patterns]
    assert len(names) == len(set(names))
    assert {p.level for p in patterns.patterns} == {"individual", "team", "trust", "system"}
    assert patterns.fitting() and patterns.held_out()
    for pattern in patterns.patterns:
        assert pattern.source and pattern.measured and pattern.measure in MEASURES
        assert pattern.target[0] < pattern.target[1]


def test_missing_outputs_are_not_measured_rather_than_errors():
    bare = SimpleNamespace(summary={})  # no agents, no trusts table, no summary measures
    assert all(value is None for value in measure_run(bare, MEASURES).values())
    pattern = next(p for p in load_patterns().patterns if p.name == "persistent_bullying")
    assert pattern_value(pattern, {"national": [{"persistent_bullying": None}]})["met"] is None


def test_strain_clustering_measure_sees_teams():
    rng = np.random.default_rng(0)
    teams = np.repeat(np.arange(40), 10)
    agents = pd.DataFrame(
        {
            "week": 0,
            "trust": 0,
            "team": teams,
            "occupied": True,
            "strain": rng.normal(0, 1, 40)[teams] + rng.normal(0, 1, 400),
        }
    )
    icc = strain_icc_by_team(SimpleNamespace(summary={}, agents=agents))
    assert 0.3 < icc < 0.7  # true ICC 0.5
    agents["strain"] = rng.normal(0, 1, 400)
    assert abs(strain_icc_by_team(SimpleNamespace(summary={}, agents=agents))) < 0.1


def test_rating_shares_count_rated_trust_years():
    trusts = pd.DataFrame(
        {"rating": ["good", "requires improvement", "inadequate", "good", None, "good"]}
    )
    outputs = SimpleNamespace(summary={}, trusts=trusts)
    assert MEASURES["trusts_rated_inadequate"](outputs) == pytest.approx(1 / 5)
    worse = MEASURES["trusts_rated_requires_improvement_or_worse"](outputs)
    assert worse == pytest.approx(2 / 5)  # a year without a rating is not counted
    unrated = SimpleNamespace(summary={}, trusts=trusts.assign(rating=None))
    assert MEASURES["trusts_rated_inadequate"](unrated) is None


def test_pooled_tenure_pools_runs():
    pattern = next(p for p in load_patterns().patterns if p.statistic == "pooled_tenure")
    runs = {pattern.setting: [{pattern.measure: {"exits": 1, "years": 4}}] * 3}
    assert pattern_value(pattern, runs)["value"] == pytest.approx(math.log(2) * 4)


def _structure(text: str) -> dict:
    """What the committed report and a regenerated one must share."""
    table = [line for line in text.splitlines() if line.startswith("| ")]
    return {
        "headings": re.findall(r"^#+ .*$", text, flags=re.M),
        "table_header": table[0] if table else None,
        "patterns": re.findall(r"\(`([a-z0-9_]+)`\) \|", text),
    }


@pytest.mark.slow
def test_report_generator_runs_reduced_and_matches_the_committed_structure(tmp_path):
    result = subprocess.run(
        [sys.executable, "experiments/validate.py", "--quick", "--draws", "2",
         "--workers", "2", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    generated = (tmp_path / "validation.md").read_text()
    assert (tmp_path / "validation" / "patterns.png").is_file()
    assert _structure(generated) == _structure(REPORT.read_text())
    assert [p.name for p in load_patterns().patterns] == _structure(generated)["patterns"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind",
    ["defaults", "posterior"],
)
def test_defaults_and_posterior_predictive_means_meet_the_fitting_set(kind):
    """Tolerance: for each fitting pattern the model measures, the 95% bootstrap interval of
    the mean over 8 runs (at the defaults, or each with its own posterior draw) must overlap
    the target range."""
    patterns = load_patterns()
    fitting = patterns.fitting()
    setting = patterns.settings[fitting[0].setting]
    names = tuple(p.measure for p in fitting)
    base = setting.resolve()
    draws = load_posterior().draw(8, seed=900)
    if kind == "defaults":
        measured = [run_and_measure(base, d.seed, names) for d in draws]
    else:
        measured = [run_and_measure(apply_draw(base, d)[0], d.seed, names) for d in draws]
    failures = []
    for pattern in fitting:
        result = pattern_value(pattern, {setting.name: measured})
        if result["value"] is None:
            continue  # not measured by this model: the report says so
        low, high = result["interval"]
        if low is None or high < pattern.target[0] or low > pattern.target[1]:
            failures.append(f"{pattern.name}: {result['value']:.3g} [{low}, {high}]")
    assert not failures, failures


def test_report_shows_which_side_of_a_bound_a_value_lies():
    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        import validate
    finally:
        sys.path.remove(str(ROOT / "experiments"))
    patterns = {p.name: p for p in load_patterns().patterns}
    vacancies, tenure = patterns["vacancy_rate"], patterns["ceo_median_tenure"]
    assert validate._fmt(vacancies, 0.07983) == "7.98%"  # not 8.0%, which reads as met
    assert validate._fmt(vacancies, 0.085) == "8.5%"
    assert validate._span(vacancies, vacancies.target) == "8.0%-10.0%"
    assert validate._fmt(tenure, 1.996) == "1.996"
