"""Defects found by fuzzing (issue 13), each reproduced: input that validates never crashes later,
limits are stated and enforced before any work, and every refusal is one line with exit 2."""

from __future__ import annotations

import json
import socket
import warnings
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from culturesim.batch.designs import count_points, make_design
from culturesim.batch.experiment import load_experiment
from culturesim.batch.experiment_schema import MAX_RUNS
from culturesim.cli import main
from culturesim.engine.scenario import (
    MAX_EXTENDS,
    MAX_NESTING,
    SCENARIO_DIR,
    ScenarioError,
    load_scenario,
)
from culturesim.errors import ExperimentError
from culturesim.run.memory import estimate_run_bytes
from tests.conftest import assert_clean_error, run_cli, write_tiny
from tests.conftest import invoke as in_process


def invoke(*args: str | Path) -> tuple[int, str, str]:
    """The command in-process: exit status, stdout, stderr."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def one_error_line(stderr: str, *needles: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def experiment(folder: Path, parameters: str, design: str = 'kind = "grid"', top: str = "") -> Path:
    """An experiment over a tiny base (200 posts, 20 weeks); returns its path."""
    base = write_tiny(folder, steps=5)
    path = folder / "exp.toml"
    path.write_text(
        f'{top}base = "{base.name}"\nreplicates = 1\n{parameters}\n[design]\n{design}\n',
        encoding="utf-8",
    )
    return path


# --- 1: values are stored as validated --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "values", "stored", "dtype"),
    [
        ("regulator.stance", "[0, 1]", [0.0, 1.0], "float64"),
        ("run.record_events", "[true, false]", [True, False], "bool"),
        ("organisation.peer_ties", "[1, 2.0]", [1, 2], "int64"),
    ],
)
def test_values_are_stored_in_the_fields_type(
    path: str, values: str, stored: list, dtype: str, tmp_path: Path
) -> None:
    file = experiment(tmp_path, f'[[parameters]]\npath = "{path}"\nvalues = {values}\n')
    design = load_experiment(file).design
    assert design[path].tolist() == stored
    assert str(design[path].dtype) == dtype


@pytest.mark.parametrize("values", ["[1, 0]", '["true", "false"]'])
def test_true_or_false_values_must_be_written_so(values: str, tmp_path: Path) -> None:
    """As a scenario file's own true/false fields: 1/0 or quoted text is refused in one line
    (they were once read as true and false, and "no" or "off" as false)."""
    file = experiment(tmp_path, f'[[parameters]]\npath = "run.record_events"\nvalues = {values}\n')
    with pytest.raises(ExperimentError, match=r"run\.record_events = .*must be true or false"):
        load_experiment(file)


def test_values_that_validate_sweep_and_load(tmp_path: Path) -> None:
    file = experiment(
        tmp_path,
        '[[parameters]]\npath = "regulator.stance"\nvalues = [0.25, 0.75]\n'
        '[[parameters]]\npath = "organisation.peer_ties"\nvalues = [1, 2.0]\n',
    )
    out = tmp_path / "results"
    code, stdout, stderr = invoke("sweep", file, "--out", out, "--workers", "1", "-q")
    assert code == 0, stderr
    assert "4 ok, 0 failed" in stdout
    design = pd.read_parquet(out / "design.parquet")
    assert design["regulator.stance"].tolist() == [0.25, 0.25, 0.75, 0.75]
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_values_equal_once_validated_are_refused(tmp_path: Path) -> None:
    file = experiment(
        tmp_path, '[[parameters]]\npath = "organisation.peer_ties"\nvalues = [2, 2.0]'
    )
    code, _, stderr = invoke("validate", file)
    assert code == 2
    one_error_line(stderr, "parameters.0.values.1", "same int value")


def test_quoted_numbers_are_refused_in_experiments_too(tmp_path: Path) -> None:
    file = experiment(
        tmp_path, '[[parameters]]\npath = "regulator.stance"\nvalues = ["0.25", "0.75"]'
    )
    code, _, stderr = invoke("validate", file)
    assert code == 2
    one_error_line(stderr, "parameters.0.values.0", "'0.25'", "must be a number, not text")
    ranged = experiment(
        tmp_path, '[[parameters]]\npath = "regulator.stance"\nrange = ["0.1", "0.9"]'
    )
    code, _, stderr = invoke("validate", ranged)
    assert code == 2
    one_error_line(stderr, "range", "must be numbers; '0.1' is text")


# --- 3: an experiment's name cannot leave results/ -------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped-sweep", "/tmp/escaped-sweep", "a/b", ""])
def test_experiment_name_is_a_plain_folder_name(name: str, tmp_path: Path) -> None:
    top = f"name = {json.dumps(name)}\n"
    file = experiment(
        tmp_path, '[[parameters]]\npath = "regulator.stance"\nvalues = [0.2]', top=top
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = in_process("sweep", file, "--workers", "1", "-q", cwd=workdir)
    assert_clean_error(result, "exp.toml", "name = ", "letters, digits")
    assert list(workdir.iterdir()) == []
    assert not (tmp_path / "escaped-sweep").exists()


def test_a_file_name_with_a_space_gives_a_safe_default_name(tmp_path: Path) -> None:
    spaced = tmp_path / "my scenario.toml"
    spaced.write_text('extends = "baseline.toml"\n', encoding="utf-8")
    assert load_scenario(spaced).name == "my-scenario"
    exp = tmp_path / "my sweep (v2).toml"
    exp.write_text(
        'base = "baseline"\n[[parameters]]\npath = "regulator.stance"\nvalues = [0.2]\n'
        '[design]\nkind = "grid"\n',
        encoding="utf-8",
    )
    assert load_experiment(exp).name == "my-sweep-v2"


# --- 4: runs are counted, never built, before the cap ----------------------------------------


@pytest.mark.parametrize(
    ("parameters", "design", "count"),
    [
        (
            '[[parameters]]\npath = "regulator.stance"\nrange = [0.0, 1.0]\nlevels = 10000\n'
            '[[parameters]]\npath = "drivers.funding.value"\nrange = [0.5, 1.5]\nlevels = 10000\n',
            'kind = "grid"',
            "100,000,000 runs",
        ),
        (
            '[[parameters]]\npath = "regulator.stance"\nrange = [0.0, 1.0]\n'
            '[[parameters]]\npath = "drivers.funding.value"\nrange = [0.5, 1.5]\n',
            'kind = "sobol"\nsamples = 8388608',
            "33,554,432 runs",
        ),
    ],
)
def test_huge_designs_are_refused_by_count(
    parameters: str, design: str, count: str, tmp_path: Path
) -> None:
    file = experiment(tmp_path, parameters, design)
    result = run_cli("validate", file)  # a real process: it must not build 10^8 rows
    assert_clean_error(result, "exp.toml", count, f"at most {MAX_RUNS:,}")


@pytest.mark.parametrize(
    "design",
    [
        'kind = "lhs"\nsamples = 7',
        'kind = "sobol"\nsamples = 8',
        'kind = "sobol"\nsamples = 8\nsecond_order = true',
        'kind = "morris"\ntrajectories = 3',
    ],
)
def test_counted_points_match_the_design_built(design: str, tmp_path: Path) -> None:
    parameters = "".join(
        f'[[parameters]]\npath = "{p}"\nrange = [0.5, 1.0]\n'
        for p in ("regulator.stance", "drivers.funding.value", "drivers.demand.value")
    )
    loaded = load_experiment(experiment(tmp_path, parameters, design))
    assert count_points(loaded.spec) == len(make_design(loaded))


def test_counted_grid_matches_the_design_built(tmp_path: Path) -> None:
    loaded = load_experiment(
        experiment(
            tmp_path,
            '[[parameters]]\npath = "regulator.stance"\nrange = [0.0, 1.0]\nlevels = 3\n'
            '[[parameters]]\npath = "run.figures"\nvalues = [true, false]\n',
        )
    )
    design = make_design(loaded)
    assert count_points(loaded.spec) == len(design) == 6
    assert design["run.figures"].tolist() == [True, False] * 3


# --- 5: deep nesting and long chains ---------------------------------------------------------


def deep_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(exist_ok=True)
    texts = {
        "arrays": "x = " + "[" * 500 + "]" * 500 + "\n",
        "inline_tables": "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
        "dotted_key": ".".join(["a"] * 600) + " = 1\n",
        "just_too_deep": ".".join(["a"] * (MAX_NESTING + 1)) + " = 1\n",
    }
    paths = {}
    for name, text in texts.items():
        paths[name] = folder / f"{name}.toml"
        paths[name].write_text(text, encoding="utf-8")
    previous = "baseline.toml"
    for index in range(1100):
        link = folder / f"chain{index}.toml"
        link.write_text(f'extends = "{previous}"\n', encoding="utf-8")
        previous = link.name
    paths["chain"] = folder / "chain1099.toml"
    nested_base = folder / "nested_base_exp.toml"
    nested_base.write_text(
        'base = "arrays.toml"\n[[parameters]]\npath = "regulator.stance"\nvalues = [0.2]\n'
        '[design]\nkind = "grid"\n',
        encoding="utf-8",
    )
    paths["experiment_base"] = nested_base
    return paths


def test_deep_nesting_is_one_line_with_the_limit(tmp_path: Path) -> None:
    paths = deep_files(tmp_path)
    result = run_cli("validate", *paths.values())
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(paths), result.stderr
    for (name, path), line in zip(paths.items(), lines, strict=True):
        assert line.startswith("error: "), line
        if name == "chain":
            assert f"longer than {MAX_EXTENDS} files" in line, line
        else:
            assert f"nested more than {MAX_NESTING} levels" in line, line
        if name != "experiment_base":
            assert path.name in line


def test_a_chain_at_the_limit_loads(tmp_path: Path) -> None:
    previous = "baseline.toml"
    for index in range(MAX_EXTENDS - 1):
        (tmp_path / f"c{index}.toml").write_text(f'extends = "{previous}"\n', encoding="utf-8")
        previous = f"c{index}.toml"
    assert load_scenario(tmp_path / previous).name == previous.removesuffix(".toml")


# --- 6: memory is estimated before anything is built -----------------------------------------


def test_a_run_too_big_for_the_machine_is_refused_at_once(tmp_path: Path) -> None:
    huge = tmp_path / "huge.toml"
    huge.write_text(
        'extends = "baseline.toml"\n[organisation]\ntrusts = 1000\nstaff_per_trust = 50000\n',
        encoding="utf-8",
    )
    needed = estimate_run_bytes(load_scenario(huge), streamed=True)  # `run` streams its events
    import psutil

    if needed < psutil.virtual_memory().available:
        pytest.skip("this machine has room for 50 million posts")
    result = in_process("run", huge, "--out", tmp_path / "run", cwd=tmp_path)
    line = assert_clean_error(result, "huge.toml", "50,000,000 posts", "GB available")
    assert f"{needed / 1e9:.1f} GB" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.toml"]


def test_memory_estimate_grows_with_the_organisation() -> None:
    baseline = load_scenario("baseline")
    bigger = baseline.with_overrides({"organisation.trusts": 10})
    tied = baseline.with_overrides({"organisation.peer_ties": 30})
    assert estimate_run_bytes(bigger) > estimate_run_bytes(baseline)
    assert estimate_run_bytes(tied) > estimate_run_bytes(baseline)
    # 2,000 posts need well under a gigabyte
    assert estimate_run_bytes(baseline) < 1e9


def test_a_sweep_too_big_for_the_machine_is_refused(tmp_path: Path) -> None:
    file = experiment(
        tmp_path,
        '[[parameters]]\npath = "organisation.trusts"\nvalues = [1, 1000]\n',
        'kind = "grid"\n[scenario.organisation]\nstaff_per_trust = 50000\n',
    )
    largest = load_scenario("baseline").with_overrides(
        {"organisation.trusts": 1000, "organisation.staff_per_trust": 50000}
    )
    import psutil

    if estimate_run_bytes(largest) < psutil.virtual_memory().available:
        pytest.skip("this machine has room for 50 million posts")
    code, _, stderr = invoke("sweep", file, "--out", tmp_path / "out", "--workers", "1")
    assert code == 2
    one_error_line(stderr, "exp.toml", "50,000,000 posts", "--ignore-memory-check")
    assert not (tmp_path / "out").exists()


# --- 9: strict JSON summaries ----------------------------------------------------------------


def test_summary_of_a_trust_with_no_staff_is_strict_json(tmp_path: Path) -> None:
    empty = write_tiny(
        tmp_path,
        "empty",
        steps=30,
        extra="[turnover]\nbaseline_logit = 0\nweekly_hiring_rate = 0\nexecutive_hiring_rate = 0\n",
    )
    empty.write_text(empty.read_text().replace("staff_per_trust = 200", "staff_per_trust = 20"))
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        result = in_process("run", empty, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert [str(w.message) for w in warned] == []
    assert result.stderr == ""
    text = (tmp_path / "run" / "summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert summary["harm_per_1000_staff_year"] is None
    assert "staff" in summary["undefined"]["harm_per_1000_staff_year"]
    assert summary["mean_strain"] is None and "mean_strain" in summary["undefined"]
    for name, value in summary.items():
        if value is None:
            assert name in summary["undefined"], name
    assert "n/a" in result.stdout  # the printed summary says so too


# --- 11: one line, always ----------------------------------------------------------------------


def test_a_key_with_a_newline_stays_on_one_line(tmp_path: Path) -> None:
    file = tmp_path / "newline.toml"
    file.write_text('extends = "baseline.toml"\n"bad\\nkey" = 1\n', encoding="utf-8")
    code, _, stderr = invoke("validate", file)
    assert code == 2
    one_error_line(stderr, "newline.toml", "unknown key 'bad\\nkey'")


def test_viz_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("viz", "--port", str(port), cwd=tmp_path)
    assert_clean_error(result, f"127.0.0.1:{port}", "in use", "--port")
    assert result.stdout == ""


def test_extends_an_unreadable_file_says_so(tmp_path: Path) -> None:
    file = tmp_path / "mem.toml"
    file.write_text('extends = "/proc/self/mem"\n', encoding="utf-8")
    code, _, stderr = invoke("validate", file)
    assert code == 2
    one_error_line(stderr, "/proc/self/mem", "cannot be read as a scenario file")


def test_extends_a_device_says_so(tmp_path: Path) -> None:
    file = tmp_path / "zero.toml"
    file.write_text('extends = "/dev/zero"\n', encoding="utf-8")
    code, _, stderr = invoke("validate", file)
    assert code == 2
    one_error_line(stderr, "zero.toml", "/dev/zero", "not a regular file")


def test_inherited_value_is_blamed_on_its_file(tmp_path: Path) -> None:
    (tmp_path / "parent.toml").write_text(
        'extends = "baseline.toml"\n[regulator]\nstance = 1.5\n', encoding="utf-8"
    )
    (tmp_path / "child.toml").write_text(
        'extends = "parent.toml"\n[run]\nsteps = 10\n', encoding="utf-8"
    )
    code, _, stderr = invoke("validate", tmp_path / "child.toml")
    assert code == 2
    line = one_error_line(stderr, "regulator.stance = 1.5", "child.toml")
    assert line.startswith(f"error: {tmp_path / 'parent.toml'} (via ")
    # the child's own mistake is still the child's
    (tmp_path / "child.toml").write_text(
        'extends = "parent.toml"\n[regulator]\nstance = 2.0\n', encoding="utf-8"
    )
    code, _, stderr = invoke("validate", tmp_path / "child.toml")
    assert one_error_line(stderr).startswith(f"error: {tmp_path / 'child.toml'}: regulator")


def test_experiment_base_value_is_blamed_on_the_base_file(tmp_path: Path) -> None:
    file = experiment(tmp_path, '[[parameters]]\npath = "regulator.stance"\nvalues = [0.2]')
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(tiny.read_text() + "[strain]\nworkload_weight = -1.0\n")
    code, _, stderr = invoke("validate", file)
    assert code == 2
    line = one_error_line(stderr, "strain.workload_weight = -1.0", "exp.toml")
    assert line.startswith(f"error: {tiny} (via ")


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    tiny = write_tiny(tmp_path)
    tiny.write_bytes(b"\xef\xbb\xbf" + tiny.read_bytes())
    assert load_scenario(tiny).name == "tiny"


def test_load_scenario_messages_never_hold_a_newline(tmp_path: Path) -> None:
    file = tmp_path / "s.toml"
    file.write_text('extends = "baseline.toml"\nname = "a\\u2028b"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as raised:
        load_scenario(file)
    assert len(str(raised.value).splitlines()) == 1


# --- 12: the page loads only the scenarios it offered ------------------------------------------


def test_the_page_refuses_a_scenario_it_did_not_offer(tmp_path: Path) -> None:
    pytest.importorskip("solara")
    from culturesim.viz.session import VizModel, offered_scenarios

    assert "baseline" in offered_scenarios()
    outside = write_tiny(tmp_path, "outside")
    for crafted in (str(outside), str(SCENARIO_DIR / "baseline.toml"), "../../etc/passwd"):
        with pytest.raises(ValueError, match="not one the page offered"):
            VizModel(crafted)


def test_numpy_true_and_false_are_true_and_false() -> None:
    """A design table's booleans arrive as numpy's (a sweep or the EMA connector): accepted."""
    import numpy as np

    scenario = load_scenario("baseline").with_overrides({"run.figures": np.False_})
    assert scenario.run.figures is False
