"""`culturesim compare A B` and `culturesim.compare`: paired runs with common random numbers."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

import culturesim
from culturesim.batch.compare import OUTCOMES
from culturesim.batch.paired import mean_interval, ratio_interval
from culturesim.cli import main
from culturesim.engine.scenario import ScenarioError, load_scenario
from tests.conftest import assert_clean_error, run_cli, write_tiny

SMALL = {"organisation.staff_per_trust": 200, "run.steps": 30}


def test_the_interval_is_scipys_paired_t_interval() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(1.0, 0.2, 12)
    b = a + rng.normal(-0.1, 0.05, 12)
    mean, low, high = mean_interval(b - a)
    expected = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert mean == pytest.approx(np.mean(b - a))
    assert (low, high) == pytest.approx((expected.low, expected.high))


def test_ratio_of_proportional_arms_is_exact() -> None:
    a = np.array([1.0, 2.0, 3.0, 5.0])
    assert ratio_interval(a, 0.8 * a) == pytest.approx((0.8, 0.8, 0.8))
    assert np.isnan(ratio_interval(np.zeros(4), a)[0])  # undefined against a zero mean


def test_ratio_of_counts_stays_at_zero_or_above() -> None:
    """Noisy counts give a delta-method interval reaching below 0; a ratio of counts cannot."""
    from culturesim.batch.intervals import ratio_range

    a, b = np.array([1.0, 3.0, 0.5]), np.array([0.0, 2.0, 3.0])
    assert ratio_interval(a, b)[1] < 0
    ratio, low, high = ratio_interval(a, b, within=ratio_range("ceo_exits"))
    assert low == 0.0 and (ratio, high) == pytest.approx(ratio_interval(a, b)[::2])


def test_a_scenario_against_itself_differs_by_exactly_nothing() -> None:
    small = load_scenario("baseline").with_overrides(SMALL)
    comparison = culturesim.compare(small, small, replicates=3, seed=11)
    table = comparison.table.set_index("measure")
    assert list(table.index) == list(OUTCOMES)
    defined = table.dropna(subset=["difference"])
    assert (defined.difference == 0).all()
    assert ((defined.difference_low <= 0) & (defined.difference_high >= 0)).all()
    assert (table.dropna(subset=["ratio"]).ratio == 1).all()
    assert comparison.runs.seeds == [11, 12, 13]
    assert (comparison.over_time.difference == 0).all()


@pytest.mark.slow
def test_compassionate_leadership_lowers_bullying_beyond_seed_noise(tmp_path: Path) -> None:
    """Full-size trusts, 8 pairs of three years: the programme's effect on bullying by staff
    (about -0.09 at five years, seed noise about 0.02) must give an interval below 0."""
    out = tmp_path / "programme"
    result = run_cli(
        "compare",
        "baseline",
        "compassionate-leadership",
        "--replicates",
        "8",
        "--workers",
        "1",
        "--set",
        "run.steps=156",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "comparison.csv").set_index("measure")
    bullying = table.loc["bullied_by_staff"]
    assert bullying.difference < 0 and bullying.difference_high < 0, bullying
    assert bullying.ratio_high < 1
    assert "bullied_by_staff" in result.stdout and "seed noise only" in result.stdout
    assert f"comparison folder: {out}" in result.stdout

    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "A.scenario.resolved.toml",
        "B.scenario.resolved.toml",
        "comparison.csv",
        "differences_over_time.csv",
        "differences_over_time.png",
        "provenance.json",
        "replicates.csv",
    ]
    runs = pd.read_csv(out / "replicates.csv")
    assert len(runs) == 16 and set(runs.arm) == {"A", "B"}
    assert list(runs[runs.arm == "B"].seed) == list(runs[runs.arm == "A"].seed) == list(range(1, 9))
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["scenario"] == {"A": "baseline", "B": "compassionate-leadership"}
    assert provenance["seeds"] == list(range(1, 9))
    b = tomllib.loads((out / "B.scenario.resolved.toml").read_text())
    assert b["run"]["steps"] == 156 and b["interventions"][0]["kind"] == "leadership_programme"
    assert not list(tmp_path.glob(".programme.partial-*"))


@pytest.mark.slow
def test_set_changes_only_the_named_arm(tmp_path: Path) -> None:
    tiny = write_tiny(tmp_path, steps=20)
    out = tmp_path / "stance"
    result = CliRunner().invoke(
        main,
        [
            "compare",
            str(tiny),
            str(tiny),
            "--replicates",
            "2",
            "--workers",
            "2",
            "--set",
            "B:regulator.stance=0.9",
            "--set",
            "run.steps=12",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    a = tomllib.loads((out / "A.scenario.resolved.toml").read_text())
    b = tomllib.loads((out / "B.scenario.resolved.toml").read_text())
    assert (a["run"]["steps"], b["run"]["steps"]) == (12, 12)
    assert a["regulator"]["stance"] == load_scenario(tiny).regulator.stance
    assert b["regulator"]["stance"] == 0.9

    in_process = culturesim.compare(  # the pool (2 workers) and one process agree exactly
        load_scenario(tiny).with_overrides({"run.steps": 12}),
        load_scenario(tiny).with_overrides({"run.steps": 12, "regulator.stance": 0.9}),
        replicates=2,
        workers=1,
    )
    pooled = pd.read_csv(out / "comparison.csv")
    assert np.allclose(pooled.difference, in_process.table.difference, equal_nan=True, rtol=1e-12)


def test_fewer_than_two_replicates_is_refused_from_python() -> None:
    with pytest.raises(ScenarioError, match="at least 2"):
        culturesim.compare("baseline", "baseline", replicates=1)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("{tiny}", "no-such-scenario"), ("no-such-scenario", "no such file")),
        (("{tiny}", "{tiny}", "--replicates", "1"), ("replicates = 1", "at least 2")),
        (("{tiny}", "{tiny}", "--replicates", "0"), ("replicates = 0",)),
        (("{tiny}", "{tiny}", "--set", "B:run.steps=10"), ("needs the same run.steps",)),
        (("{tiny}", "{tiny}", "--out", "{file}"), ("not a folder",)),
    ],
)
def test_bad_input_is_one_clear_line(args: tuple, needles: tuple, tmp_path: Path) -> None:
    tiny = write_tiny(tmp_path)
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder\n")
    argv = ["compare", *(a.format(tiny=tiny, file=a_file) for a in args)]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file.txt", "tiny.toml"]


def test_unknown_scenario_from_the_real_command(tmp_path: Path) -> None:
    result = run_cli("compare", "baseline", "basline", "--out", tmp_path / "c", cwd=tmp_path)
    assert_clean_error(result, "basline", "no such file")
    assert list(tmp_path.iterdir()) == []
