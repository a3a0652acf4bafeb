"""Experiment files: clear one-line errors, the four designs, and seeds from the experiment seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from culturesim.batch.experiment import EXPERIMENT_DIR, ExperimentError, load_experiment

GOOD = """
base = "baseline"
seed = 5
replicates = 3

[scenario]
organisation.staff_per_trust = 200

[[parameters]]
path = "drivers.regulator_pressure.value"
range = [0.0, 3.0]
levels = 4

[[parameters]]
path = "regulator.inspection_weeks"
range = [4, 26]
levels = 3

[design]
kind = "grid"
"""


def write(tmp_path: Path, text: str, name: str = "experiment.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    return message.removeprefix(f"{path}: ")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("drivers.regulator_pressure.value", "drivers.regulator_presure.value"),
            "parameters.0.path: unknown parameter path 'drivers.regulator_presure.value'; "
            "did you mean",
        ),
        (
            ("range = [0.0, 3.0]", "range = [2.0, 2.0]"),
            "parameters.0.range = [2.0, 2.0]: empty range; must be [low, high] with low < high",
        ),
        (
            ("range = [0.0, 3.0]", "range = [3.0, 0.0]"),
            "parameters.0.range = [3.0, 0.0]: empty range",
        ),
        (
            ('kind = "grid"', 'kind = "factorial"'),
            "design.kind = 'factorial': must be one of grid, lhs, sobol, morris",
        ),
        (
            ("range = [0.0, 3.0]", "range = [0.0, 4.0]"),
            "parameters.0.range: drivers.regulator_pressure.value = 4.0: must be from 0.0 to 3.0",
        ),
        (
            ("range = [4, 26]", "range = [4.5, 26]"),
            "parameters.1.range = [4.5, 26.0]: regulator.inspection_weeks is a whole number",
        ),
        (
            ("levels = 3", "levels = 3\nstep = 2"),
            "unknown key 'parameters.1.step'; allowed: path, range, levels, values, scale",
        ),
        (
            ('kind = "grid"', 'kind = "sobol"\nsamples = 100'),
            "design.samples = 100: a sobol design needs a power of 2",
        ),
        (('kind = "grid"', 'kind = "lhs"'), "design: a lhs design needs samples = N"),
        (
            ("replicates = 3", "replicates = 0"),
            "replicates = 0: must be from 1 to 100000",
        ),
        (("replicates = 3", "replicates = true"), "replicates = true: must be a number"),
        (
            ('kind = "grid"', 'kind = "lhs"\nsamples = true'),
            "design.samples = true: must be a number, not true/false",
        ),
        (
            ('base = "baseline"', 'base = "no-such-scenario"'),
            "base = 'no-such-scenario': no such scenario file or name",
        ),
        (
            ("organisation.staff_per_trust = 200", "organisation.staff_per_trust = 5"),
            "organisation.staff_per_trust = 5: must be",
        ),
        (
            ('path = "regulator.inspection_weeks"', 'path = "organisation.spans_of_control"'),
            "parameters.1.path = 'organisation.spans_of_control': not a single number",
        ),
    ],
)
def test_bad_experiment_files_get_one_line_errors_naming_the_field(tmp_path, change, expected):
    old, new = change
    assert old in GOOD
    assert expected in error_for(tmp_path, GOOD.replace(old, new))


def test_toml_syntax_errors_name_the_file(tmp_path):
    assert "TOML syntax error" in error_for(tmp_path, GOOD + "\nseed = = 3\n")


def test_grid_is_full_factorial_over_levels_and_values(tmp_path):
    experiment = load_experiment(write(tmp_path, GOOD))
    design = experiment.design
    assert experiment.n_points == 12 and experiment.n_runs == 36
    assert sorted(set(design["drivers.regulator_pressure.value"])) == [0.0, 1.0, 2.0, 3.0]
    assert sorted(set(design["regulator.inspection_weeks"])) == [4, 15, 26]
    assert design["regulator.inspection_weeks"].dtype == np.int64
    pairs = set(
        zip(
            design["drivers.regulator_pressure.value"],
            design["regulator.inspection_weeks"],
            strict=True,
        )
    )
    assert len(pairs) == 12


@pytest.mark.parametrize(
    ("design", "points"),
    [
        ('kind = "lhs"\nsamples = 20', 20),
        ('kind = "sobol"\nsamples = 16', 16 * (2 + 2)),
        ('kind = "sobol"\nsamples = 16\nsecond_order = true', 16 * (2 * 2 + 2)),
        ('kind = "morris"\ntrajectories = 5', 5 * (2 + 1)),
    ],
)
def test_sampler_designs_stay_in_range_and_are_reproducible(tmp_path, design, points):
    text = GOOD.replace("levels = 4\n", "").replace("levels = 3\n", "")
    text = text.replace('kind = "grid"', design)
    experiment = load_experiment(write(tmp_path, text))
    again = load_experiment(write(tmp_path, text, "copy.toml"))
    assert experiment.n_points == points
    pressure = experiment.design["drivers.regulator_pressure.value"]
    weeks = experiment.design["regulator.inspection_weeks"]
    assert pressure.between(0.0, 3.0).all() and weeks.between(4, 26).all()
    assert weeks.dtype == np.int64
    assert experiment.design.equals(again.design)
    other_seed = load_experiment(write(tmp_path, text.replace("seed = 5", "seed = 6"), "s.toml"))
    assert not experiment.design.equals(other_seed.design)


def test_lhs_puts_one_point_in_each_stratum(tmp_path):
    text = GOOD.replace("levels = 4\n", "").replace("levels = 3\n", "")
    experiment = load_experiment(
        write(tmp_path, text.replace('kind = "grid"', 'kind = "lhs"\nsamples = 10'))
    )
    unit = experiment.design["u.drivers.regulator_pressure.value"].to_numpy()
    assert sorted(np.floor(unit * 10).astype(int)) == list(range(10))


def test_categorical_values_are_sampled_among_the_values(tmp_path):
    text = GOOD.replace("levels = 4\n", "").replace(
        "range = [4, 26]\nlevels = 3", "values = [4, 13, 26]"
    )
    experiment = load_experiment(
        write(tmp_path, text.replace('kind = "grid"', 'kind = "lhs"\nsamples = 30'))
    )
    assert set(experiment.design["regulator.inspection_weeks"]) == {4, 13, 26}


def test_seeds_come_from_the_experiment_seed_by_spawning(tmp_path):
    experiment = load_experiment(write(tmp_path, GOOD))
    children = np.random.SeedSequence(5).spawn(2)[1].spawn(experiment.n_runs)
    expected = [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]
    assert [experiment.run_seed(i) for i in range(experiment.n_runs)] == expected
    assert len(set(expected)) == experiment.n_runs

    common = load_experiment(write(tmp_path, "common_random_numbers = true\n" + GOOD, "c.toml"))
    seeds = [common.run_seed(i) for i in range(common.n_runs)]
    assert seeds[:3] == seeds[3:6] and len(set(seeds)) == 3


def test_hash_changes_with_the_experiment_or_its_base_but_not_the_executor(tmp_path):
    first = load_experiment(write(tmp_path, GOOD))
    assert (
        load_experiment(write(tmp_path, GOOD + "\n[executor]\nworkers = 7\n", "b.toml")).hash
        == first.hash
    )
    assert (
        load_experiment(write(tmp_path, GOOD.replace("= 200", "= 300"), "c.toml")).hash
        != first.hash
    )


@pytest.mark.parametrize("name", ["pressure-funding", "leadership-programme", "sensitivity"])
def test_bundled_experiments_are_valid(name):
    experiment = load_experiment(name)
    assert experiment.name == name and experiment.n_runs > 0
    assert (EXPERIMENT_DIR / f"{name}.toml").is_file()


def test_validate_accepts_experiment_and_scenario_files(tmp_path):
    from click.testing import CliRunner

    from culturesim.cli import main

    good = write(tmp_path, GOOD)
    bad = write(tmp_path, GOOD.replace('kind = "grid"', 'kind = "factorial"'), "bad.toml")
    runner = CliRunner()
    done = runner.invoke(main, ["validate", str(good), "pressure-funding", "baseline"])
    assert done.exit_code == 0, done.output
    assert "12 points x 3 replicates = 36 runs" in done.stdout
    assert "ok: baseline" in done.stdout
    failed = runner.invoke(main, ["validate", str(bad)])
    assert failed.exit_code == 2
    assert failed.stderr.strip() == (
        f"error: {bad}: design.kind = 'factorial': must be one of grid, lhs, sobol, morris"
    )
    swept = runner.invoke(main, ["sweep", str(bad), "--out", str(tmp_path / "out")])
    assert swept.exit_code == 2
    assert swept.stderr.strip().startswith(f"error: {bad}: design.kind")
    assert not (tmp_path / "out").exists()


OUTPUTS = """
[outputs]
summary = ["reproduction_number", "mean_strain", "bullied_by_staff"]
timeseries = ["bullied_by_staff", "mean_strain"]
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('"mean_strain", "bullied_by_staff"]', '"mean_strain", "bulied_by_staff"]'),
            "outputs.summary.2 = 'bulied_by_staff': not a summary measure culturesim writes; "
            "did you mean 'bullied_by_staff'?",
        ),
        (
            ('["bullied_by_staff", "mean_strain"]', '["bullied_by_staff", "mean_strian"]'),
            "outputs.timeseries.1 = 'mean_strian': not a time series culturesim writes; "
            "did you mean 'mean_strain'?",
        ),
        (  # a summary key that is not a number (the scenario's name) is not a measure
            ('["reproduction_number",', '["scenario",'),
            "outputs.summary.0 = 'scenario': not a summary measure culturesim writes; one of: ",
        ),
        (
            ('["bullied_by_staff", "mean_strain"]', '["bullied_by_staff", "bullied_by_staff"]'),
            "outputs.timeseries.1 = 'bullied_by_staff': listed twice",
        ),
    ],
)
def test_unknown_output_names_are_refused_by_validate(tmp_path, change, expected):
    from click.testing import CliRunner

    from culturesim.cli import main

    old, new = change
    assert old in OUTPUTS
    text = GOOD + OUTPUTS.replace(old, new)
    message = error_for(tmp_path, text)
    assert message.startswith(expected), message
    validated = CliRunner().invoke(main, ["validate", str(tmp_path / "experiment.toml")])
    assert validated.exit_code == 2
    assert validated.stderr.strip() == f"error: {tmp_path / 'experiment.toml'}: {message}"


def test_every_measure_and_series_the_model_writes_may_be_kept(tmp_path):
    from culturesim.engine.model import TIMESERIES_COLUMNS
    from culturesim.run.outputs import SUMMARY_MEASURES

    series = [name for name in TIMESERIES_COLUMNS if name != "week"]
    text = GOOD + f"\n[outputs]\nsummary = {list(SUMMARY_MEASURES)}\ntimeseries = {series}\n"
    experiment = load_experiment(write(tmp_path, text))
    assert experiment.spec.outputs.summary == list(SUMMARY_MEASURES)


def test_describe_counts_in_words(tmp_path):
    text = GOOD.replace("replicates = 3", "replicates = 1").replace(
        '[[parameters]]\npath = "regulator.inspection_weeks"\nrange = [4, 26]\nlevels = 3\n', ""
    )
    assert (
        load_experiment(write(tmp_path, text))
        .describe()
        .endswith("grid design over 1 parameter, 4 points x 1 replicate = 4 runs")
    )
