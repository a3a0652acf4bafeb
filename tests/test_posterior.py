"""The calibration posterior: shipped, drawn reproducibly, carried into every claim's provenance.

`culturesim run --posterior N`, `culturesim compare --posterior N` and experiment files with
`posterior_draws = N` draw parameter sets from the shipped posterior; bad values and unusable
posterior files are one clear line and exit status 2.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from culturesim.batch.experiment import load_experiment
from culturesim.batch.posterior import (
    POSTERIOR_FILE,
    Draw,
    PosteriorError,
    apply_draw,
    load_posterior,
    write_posterior,
)
from culturesim.batch.sweep import sweep
from culturesim.engine.scenario import Scenario, load_scenario
from tests.conftest import assert_clean_error, invoke, run_cli, write_tiny


def test_shipped_posterior_loads_with_its_provenance():
    posterior = load_posterior()
    assert posterior.parameters, "no fitted parameters"
    assert len(posterior.particles) >= 10
    assert posterior.particles["weight"].sum() == pytest.approx(1.0)
    for key in ("method", "generations", "epsilon_schedule", "runs", "date", "git_commit"):
        assert key in posterior.provenance, key
    assert "ABC-SMC" in posterior.provenance["method"]
    assert len(posterior.provenance["epsilon_schedule"]) == posterior.provenance["generations"]
    # every fitted value lies inside its prior's box
    for path, (low, high) in posterior.provenance["priors"].items():
        values = posterior.particles[path]
        assert values.between(low, high).all(), path
    # the file is inside the package, where an installed wheel has it
    assert POSTERIOR_FILE.is_file() and "culturesim" in str(POSTERIOR_FILE)


def test_draws_are_reproducible_for_a_seed_and_follow_the_weights():
    posterior = load_posterior()
    first, again = posterior.draw(50, seed=3), posterior.draw(50, seed=3)
    assert first == again
    assert [d.seed for d in first] == list(range(3, 53))
    assert [d.particle for d in posterior.draw(50, seed=4)] != [d.particle for d in first]
    # a posterior whose weight sits on one particle always draws it
    particles = posterior.particles.copy()
    particles["weight"] = 0.0
    particles.loc[2, "weight"] = 1.0
    skewed = type(posterior)(particles, {}, "test", "")
    assert {d.particle for d in skewed.draw(20, seed=1)} == {2}


def test_a_draw_leaves_what_a_scenario_sets_itself():
    default = Scenario().behaviour.bullying_baseline_logit
    draw = Draw(0, 0, 1, {"behaviour.bullying_baseline_logit": default - 0.5,
                          "regulator.stance": 0.9})  # fmt: skip
    plain, applied = apply_draw(Scenario(), draw)
    assert plain.behaviour.bullying_baseline_logit == default - 0.5
    assert set(applied) == {"behaviour.bullying_baseline_logit", "regulator.stance"}
    own = Scenario().with_overrides({"regulator.stance": 0.1})
    kept, applied = apply_draw(own, draw)
    assert kept.regulator.stance == 0.1 and "regulator.stance" not in applied


def test_unusable_posterior_files_are_one_line_errors(tmp_path):
    with pytest.raises(PosteriorError, match="no posterior file"):
        load_posterior(tmp_path / "missing.parquet")
    (tmp_path / "corrupt.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(PosteriorError, match="not a readable Parquet posterior"):
        load_posterior(tmp_path / "corrupt.parquet")
    bad = pd.DataFrame({"behaviour.no_such_weight": [1.0], "weight": [1.0]})
    bad.to_parquet(tmp_path / "unknown.parquet")
    with pytest.raises(PosteriorError, match="not a scenario parameter path"):
        load_posterior(tmp_path / "unknown.parquet")
    with pytest.raises(PosteriorError):
        load_posterior().draw(0, seed=1)


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("posterior-cli")
    tiny = write_tiny(folder, steps=4)
    (folder / "corrupt.parquet").write_bytes(b"garbage")
    calls = {
        "compare": ("compare", tiny, tiny, "--posterior", "2", "--workers", "1",
                    "--set", "B:regulator.stance=0.9", "--out", folder / "cmp", "-q"),
        "zero": ("run", tiny, "--posterior", "0", "--out", folder / "zero"),
        "compare_zero": ("compare", tiny, tiny, "--posterior", "0"),
        "missing": ("run", tiny, "--posterior", "2", "--posterior-file", folder / "none.parquet"),
        "corrupt": ("compare", tiny, tiny, "--posterior", "2", "--posterior-file",
                    folder / "corrupt.parquet"),
        "file_alone": ("run", tiny, "--posterior-file", folder / "corrupt.parquet"),
        "compare_file_alone": ("compare", tiny, tiny, "--posterior-file",
                               folder / "corrupt.parquet"),
    }  # fmt: skip
    results = [invoke(*args, cwd=folder) for args in calls.values()]
    return folder, dict(zip(calls, results, strict=True))


@pytest.mark.slow
def test_run_with_posterior_carries_each_parameter_set_in_provenance(tmp_path):
    tiny = write_tiny(tmp_path, steps=8)
    out = tmp_path / "run"
    result = run_cli("run", tiny, "--posterior", "3", "--workers", "1", "--out", out, "-q")
    assert result.returncode == 0, result.stderr
    provenance = json.loads((out / "provenance.json").read_text())
    posterior = load_posterior()
    assert provenance["posterior"]["sha256"] == posterior.sha256
    assert "parameter uncertainty" in provenance["interval"]
    expected = posterior.draw(3, seed=1)  # the tiny scenario's seed
    assert [d["particle"] for d in provenance["draws"]] == [d.particle for d in expected]
    for recorded, draw in zip(provenance["draws"], expected, strict=True):
        assert recorded["seed"] == draw.seed
        assert recorded["set"] == draw.values
    table = pd.read_csv(out / "summary.csv")
    row = table.set_index("measure").loc["bullied_by_staff"]
    assert row.predictive_low <= row["mean"] <= row.predictive_high
    draws = pd.read_csv(out / "draws.csv", keep_default_na=False)
    assert len(draws) == 3
    assert (draws["kept_from_scenario"] == "").all()  # the tiny scenario sets none of them


def test_compare_with_posterior_says_which_interval_it_shows(cli_results):
    folder, results = cli_results
    assert results["compare"].returncode == 0, results["compare"].stderr
    provenance = json.loads((folder / "cmp" / "provenance.json").read_text())
    assert "parameter uncertainty" in provenance["interval"]
    assert len(provenance["draws"]) == 2 and provenance["posterior"]["parameters"]
    assert "parameter uncertainty" in results["compare"].stdout


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        ("zero", "--posterior 0"),
        ("compare_zero", "--posterior 0"),
        ("missing", "no posterior file"),
        ("corrupt", "not a readable Parquet posterior"),
        ("file_alone", "--posterior-file: applies only with --posterior N"),
        ("compare_file_alone", "--posterior-file: applies only with --posterior N"),
    ],
)
def test_bad_posterior_input_is_one_line_and_exit_2(cli_results, call, needle):
    folder, results = cli_results
    assert_clean_error(results[call], needle)
    assert not (folder / "zero").exists()


def test_experiment_with_posterior_draws_cycles_draws_over_replicates(tmp_path):
    tiny = write_tiny(tmp_path, steps=4)
    text = f"""
base = "{tiny.name}"
seed = 5
replicates = 4
posterior_draws = 2
[[parameters]]
path = "regulator.stance"
values = [0.2, 0.8]
[design]
kind = "grid"
[outputs]
summary = ["bullied_by_staff"]
"""
    (tmp_path / "exp.toml").write_text(text)
    experiment = load_experiment(tmp_path / "exp.toml")
    draws = experiment.posterior_draws
    assert len(draws) == 2
    report = sweep(experiment, tmp_path / "out", workers=1, progress=False)
    assert report.failed_total == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [d["particle"] for d in manifest["posterior"]["draws"]] == [d.particle for d in draws]
    assert "regulator.stance" not in manifest["posterior"]["draws"][0]["set"]  # the design's

    (tmp_path / "bad.toml").write_text(text.replace("replicates = 4", "replicates = 3"))
    with pytest.raises(Exception, match="multiple of posterior_draws"):
        load_experiment(tmp_path / "bad.toml")


def test_a_posterior_written_is_read_back(tmp_path):
    particles = pd.DataFrame({"behaviour.norm_weight": [2.0, 3.0], "weight": [0.25, 0.75]})
    path = write_posterior(particles, {"method": "test"}, tmp_path / "p.parquet")
    posterior = load_posterior(path)
    assert posterior.provenance == {"method": "test"}
    assert np.allclose(posterior.particles["weight"], [0.25, 0.75])
    scenario = apply_draw(load_scenario("baseline"), posterior.draw(1, seed=0)[0])[0]
    assert scenario.behaviour.norm_weight in (2.0, 3.0)
