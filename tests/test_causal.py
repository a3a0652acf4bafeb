"""Causal cascades: conversions measured against a twin run without the victimisation channel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import culturesim
from culturesim.engine.scenario import load_scenario
from culturesim.run.causal import CAUSAL_MEASURES
from tests.conftest import invoke, run_cli, write_tiny

# 600 posts, 104 weeks: about 19 conversions a run with the channel on, 10 of them in the twin.
# Victimisation acts only through persistent bullying (8 of 26 weeks from one source), which a
# trust of 300 posts over 60 weeks reaches too rarely to show the caused conversions.
SMALL = {"organisation.staff_per_trust": 600, "run.steps": 104}


def interval(measured, name: str) -> tuple[float, float, float]:
    row = measured.table.set_index("measure").loc[name]
    return row["mean"], row["low"], row["high"]


def test_without_the_channel_nothing_is_caused() -> None:
    """Victimisation weight 0: the twin is the run itself, so every excess is exactly 0."""
    scenario = load_scenario("baseline").with_overrides(
        {**SMALL, "behaviour.victimisation_weight": 0.0}
    )
    measured = culturesim.causal_cascades(scenario, replicates=4, seed=3)
    per_replicate = measured.replicates
    assert (per_replicate.conversions > 0).any()  # coincidental conversions are still observed
    assert (per_replicate.excess_conversions == 0).all()
    assert (per_replicate.excess_perpetrator_episodes == 0).all()
    assert (per_replicate.causal_reproduction_number == 0).all()
    assert interval(measured, "causal_reproduction_number") == (0, 0, 0)


@pytest.mark.slow
def test_with_the_channel_conversions_are_caused_but_not_all() -> None:
    """8 replicates (95% interval of the mean excess about 6-12 conversions against a mean of
    about 19 observed): the intervals of excess conversions and causal R lie above 0, and the
    causal R is below the observed R because the twin still records coincidental conversions."""
    scenario = load_scenario("baseline").with_overrides(SMALL)
    measured = culturesim.causal_cascades(scenario, replicates=8, seed=1)
    assert interval(measured, "excess_conversions")[1] > 0
    assert interval(measured, "causal_reproduction_number")[1] > 0
    assert interval(measured, "twin_conversions")[1] > 0
    observed_r = interval(measured, "reproduction_number")[0]
    assert 0 < interval(measured, "causal_reproduction_number")[0] < observed_r
    text = measured.text()
    assert "observed episode trees: temporal, not causal" in text
    assert "causal R (excess per episode)" in text


@pytest.mark.slow
def test_run_causal_adds_the_twin_to_the_summary(tmp_path: Path) -> None:
    """`run --causal` is replicate 0 of the replicated measurement (same seed, same twin)."""
    tiny = write_tiny(tmp_path, steps=40, seed=5)
    out = tmp_path / "run"
    result = run_cli("run", tiny, "--out", out, "--causal")
    assert result.returncode == 0, result.stderr
    assert "excess conversions (caused by being bullied)" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert set(CAUSAL_MEASURES) <= set(summary)

    replicated = culturesim.causal_cascades(tiny, replicates=2).replicates.iloc[0]
    assert replicated.seed == 5
    for name in ("excess_conversions", "twin_conversions", "causal_reproduction_number"):
        assert summary[name] == replicated[name], name

    cascades = run_cli("cascades", out, "--causal", "--replicates", "2", "--workers", "1")
    assert cascades.returncode == 0, cascades.stderr
    assert f"cascades in {out}" in cascades.stdout
    assert "observed episode trees: temporal, not causal" in cascades.stdout
    assert "causal cascades of tiny: 2 replicates (seeds 5..6" in cascades.stdout


def test_cascades_of_a_scenario_need_causal(tmp_path: Path) -> None:
    result = invoke("cascades", "baseline", cwd=tmp_path)
    assert result.returncode == 2
    assert "add --causal" in result.stderr
