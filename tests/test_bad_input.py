"""Bad input gets one clear line, exit status 2, no traceback and nothing half-written.

Every kind of bad scenario file below goes through the real command line, as a process: all of
them through one `culturesim validate` (one error line per file, in order). A representative set
goes through `culturesim run` in-process (which must also leave no run folder and no partial
folder), and all of them through `load_scenario`. Bad options and arguments are checked through
the command in-process (click's test runner).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from culturesim.cli import main
from culturesim.engine.scenario import ScenarioError, load_scenario
from tests.conftest import (
    assert_clean_error,
    assert_usage_error,
    invoke,
    run_cli,
    write_tiny,
)

BASE = 'extends = "baseline.toml"\n'


@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes | None  # None: the file does not exist
    needles: tuple[str, ...]  # what the one-line message must contain, besides the file name
    extra_files: tuple[tuple[str, str], ...] = ()


CASES = [
    Case(
        "unknown_top_level_key",
        BASE + "[organisaton]\ntrusts = 2\n",
        ("unknown key 'organisaton'", "did you mean 'organisation'?"),
    ),
    Case(
        "unknown_nested_key",
        BASE + "[strain]\ntime_constant = 3\n",
        ("unknown key 'strain.time_constant'", "did you mean 'time_constant_weeks'?"),
    ),
    Case(
        "unknown_role_lists_allowed",
        BASE + "[population.nurse]\ncompassion_mean = 0.5\n",
        ("unknown key 'population.nurse'", "allowed: chief_executive, director"),
    ),
    Case(
        "string_for_int",
        BASE + '[run]\nsteps = "many"\n',
        ("run.steps = 'many'", "must be a number, not text"),
    ),
    Case(
        "quoted_number_for_int",
        BASE + '[run]\nsteps = "104"\n',
        ("run.steps = '104'", "must be a number, not text (write it without quotes)"),
    ),
    Case(
        "quoted_number_for_float",
        BASE + '[regulator]\nstance = "0.9"\n',
        ("regulator.stance = '0.9'", "must be a number, not text (write it without quotes)"),
    ),
    Case(
        "quoted_boolean",
        BASE + '[run]\nfigures = "no"\n',
        ("run.figures = 'no'", "must be true or false, not text (write true or false without"),
    ),
    Case(
        "number_for_boolean",
        BASE + "[run]\nrecord_events = 0\n",
        ("run.record_events = 0", "must be true or false, not a number"),
    ),
    Case(
        "quoted_number_in_a_list",
        BASE + '[organisation]\nspans_of_control = ["7", 5, 6, 12]\n',
        ("organisation.spans_of_control", "must be numbers; '7' is text"),
    ),
    Case(
        "float_for_int_steps",
        BASE + "[run]\nsteps = 20.5\n",
        ("run.steps = 20.5", "must be a whole number"),
    ),
    Case(
        "boolean_for_number",
        BASE + "[strain]\nworkload_weight = true\n",
        ("strain.workload_weight = true", "must be a number"),
    ),
    Case(
        "boolean_for_int",
        BASE + "[run]\nseed = false\n",
        ("run.seed = false", "must be a number"),
    ),
    Case(
        "negative_weight",
        BASE + "[strain]\nworkload_weight = -1.0\n",
        ("strain.workload_weight = -1.0", "must be from 0 to 20"),
    ),
    Case(
        "probability_above_one",
        BASE + "[regulator]\nstance = 1.5\n",
        ("regulator.stance = 1.5", "must be from 0 to 1"),
    ),
    Case(
        "nan_weight",
        BASE + "[strain]\nworkload_weight = nan\n",
        ("strain.workload_weight = nan", "must be from 0 to 20"),
    ),
    Case(
        "seed_too_large",
        BASE + "[run]\nseed = 99999999999999999999\n",
        ("run.seed = 99999999999999999999", "must be from 0 to 9223372036854775807"),
    ),
    Case(
        "negative_snapshot_every",
        BASE + "[run]\nsnapshot_every = -5\n",
        ("run.snapshot_every = -5", "must be from 0 to 5200"),
    ),
    Case(
        "driver_start_out_of_range",
        BASE + "[drivers.demand]\nvalue = 0.1\n",
        ("drivers.demand.value = 0.1", "must be from 0.3 to 3.0"),
    ),
    Case(
        "driver_change_out_of_range",
        BASE + "[drivers.funding]\nchanges = [{week = 10, value = 5.0}]\n",
        ("drivers.funding.changes.0.value = 5.0", "must be from 0.3 to 2.0"),
    ),
    Case(
        "driver_change_typo",
        BASE + "[drivers.funding]\nchanges = [{week = 10, valeu = 1.0}]\n",
        ("unknown key 'drivers.funding.changes.0.valeu'", "did you mean 'value'?"),
    ),
    Case(
        "driver_not_a_table",
        BASE + "[drivers]\nfunding = 1.2\n",
        ("drivers.funding = 1.2", "must be a table"),
    ),
    Case(
        "section_not_a_table",
        BASE + "run = 5\n",
        ("run = 5", "must be a table"),
    ),
    Case(
        "spans_of_control_wrong_length",
        BASE + "[organisation]\nspans_of_control = [7, 5, 6]\n",
        ("organisation.spans_of_control = [7, 5, 6]", "4 whole numbers from 1 to 100"),
    ),
    Case(
        "spans_of_control_zero",
        BASE + "[organisation]\nspans_of_control = [7, 5, 0, 12]\n",
        ("organisation.spans_of_control = [7, 5, 0, 12]", "4 whole numbers from 1 to 100"),
    ),
    Case(
        "spans_of_control_not_array",
        BASE + '[organisation]\nspans_of_control = "7,5,6,12"\n',
        ("organisation.spans_of_control = '7,5,6,12'", "must be an array"),
    ),
    Case(
        "toml_syntax_error",
        BASE + "[run]\nseed = = 3\n",
        ("TOML syntax error", "line 3", "column"),
    ),
    Case(
        "toml_duplicate_key",
        BASE + "[run]\nsteps = 10\nsteps = 20\n",
        ("TOML syntax error", "line 4", "column"),
    ),
    Case("missing_file", None, ("no such file",)),
    Case(
        "extends_missing_file",
        'extends = "no-such-parent.toml"\n',
        ("extends = 'no-such-parent.toml'", "no such scenario file"),
    ),
    Case("extends_not_a_string", "extends = 3\n", ("extends = 3", "must be a file name")),
    Case(
        "extends_cycle",
        'extends = "cycle_b.toml"\n',
        ("extends itself", "cycle_b.toml"),
        extra_files=(("cycle_b.toml", 'extends = "extends_cycle.toml"\n'),),
    ),
    Case("extends_itself", 'extends = "extends_itself.toml"\n', ("extends itself",)),
    Case(
        "intervention_unknown_kind",
        BASE + '[[interventions]]\nkind = "leadership_programm"\nweek = 3\n',
        (
            "interventions.0.kind = 'leadership_programm'",
            "must be one of leadership_programme, funding_change, stance_change",
        ),
    ),
    Case(
        "intervention_without_kind",
        BASE + "[[interventions]]\nweek = 3\n",
        ("interventions.0.kind", "must be one of leadership_programme"),
    ),
    Case(
        "intervention_kind_not_a_string",
        BASE + '[[interventions]]\nkind = ["funding_change"]\n',
        ("interventions.0.kind", "must be one of leadership_programme"),
    ),
    Case(
        "intervention_typo_field",
        BASE + '[[interventions]]\nkind = "leadership_programme"\nweak = 3\n',
        ("unknown key 'interventions.0.weak'", "did you mean 'week'?"),
    ),
    Case(
        "intervention_out_of_range",
        BASE + '[[interventions]]\nkind = "funding_change"\nfactor = 3.0\n',
        ("interventions.0.factor = 3.0", "must be from 0.3 to 2.0"),
    ),
    Case(
        "interventions_not_an_array",
        BASE + 'interventions = {kind = "funding_change"}\n',
        ("interventions = ", "must be an array"),
    ),
    Case(
        "interventions_a_number",
        BASE + "interventions = 5\n",
        ("interventions = 5", "must be an array"),
    ),
    Case("not_utf8", b'name = "caf\xe9"\n', ("not a UTF-8 text file",)),
    Case("empty_name", BASE + 'name = ""\n', ("name = ''", "letters, digits")),
    Case(
        "name_with_path",
        BASE + 'name = "../../elsewhere"\n',
        ("name = '../../elsewhere'", "letters, digits"),
    ),
    Case("name_not_a_string", BASE + "name = 5\n", ("name = 5", "string")),
]

# Each stage that can fail, through `culturesim run` as well.
RUN_CASES = [
    "unknown_top_level_key",
    "driver_change_out_of_range",
    "toml_syntax_error",
    "missing_file",
    "extends_cycle",
    "not_utf8",
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    paths = {}
    for case in CASES:
        path = folder / f"{case.id}.toml"
        if isinstance(case.text, bytes):
            path.write_bytes(case.text)
        elif case.text is not None:
            path.write_text(case.text, encoding="utf-8")
        for name, text in case.extra_files:
            (folder / name).write_text(text, encoding="utf-8")
        paths[case.id] = path
    return paths


@pytest.fixture(scope="module")
def validate_lines(bad_files: dict[str, Path]) -> dict[str, str]:
    """One `culturesim validate` over every bad file: exactly one error line each, in order."""
    result = run_cli("validate", *(bad_files[c.id] for c in CASES))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stdout == "", f"a bad file was accepted:\n{result.stdout}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(CASES), result.stderr
    return {case.id: line for case, line in zip(CASES, lines, strict=True)}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_validate_gives_one_clear_line(case: Case, validate_lines: dict[str, str]) -> None:
    line = validate_lines[case.id]
    assert line.startswith("error: "), line
    assert f"{case.id}.toml" in line, f"the file is not named: {line!r}"
    for needle in case.needles:
        assert needle in line, f"{needle!r} not in {line!r}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_load_scenario_raises_one_line(case: Case, bad_files: dict[str, Path]) -> None:
    with pytest.raises(ScenarioError) as raised:
        load_scenario(bad_files[case.id])
    message = str(raised.value)
    assert "\n" not in message
    assert f"{case.id}.toml" in message
    for needle in case.needles:
        assert needle in message


def test_validate_reports_each_file_and_fails_if_any_is_bad(
    bad_files: dict[str, Path], tmp_path: Path
) -> None:
    good = write_tiny(tmp_path)
    result = invoke("validate", good, bad_files["unknown_nested_key"])
    assert_clean_error(result, "unknown_nested_key.toml", "did you mean 'time_constant_weeks'?")
    assert result.stdout.strip() == f"ok: {good}"


@pytest.fixture(scope="module")
def run_results(bad_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("runs")
    calls = [
        (("run", bad_files[name], "--out", folder / name / "run", "-q"), folder)
        for name in RUN_CASES
    ]
    results = [invoke(*args, cwd=cwd) for args, cwd in calls]
    return {name: (result, folder / name) for name, result in zip(RUN_CASES, results, strict=True)}


@pytest.mark.parametrize("name", RUN_CASES)
def test_run_refuses_bad_file_and_writes_nothing(name: str, run_results: dict) -> None:
    case = next(c for c in CASES if c.id == name)
    result, parent = run_results[name]
    assert_clean_error(result, f"{name}.toml", *case.needles)
    assert not (parent / "run").exists()
    leftovers = list(parent.iterdir()) if parent.exists() else []
    assert leftovers == [], f"left behind: {leftovers}"
    assert not list(parent.parent.glob("**/*.partial*"))


# --- bad options and arguments ---------------------------------------------------------------


@pytest.fixture(scope="module")
def option_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The command with bad options, bad destinations and bad arguments."""
    folder = tmp_path_factory.mktemp("options")
    tiny = write_tiny(folder)
    a_file = folder / "a_file.txt"
    a_file.write_text("not a folder\n")
    calls = {
        "steps_zero": ("run", tiny, "--steps", "0", "--out", folder / "r1"),
        "seed_negative": ("run", tiny, "--seed", "-1", "--out", folder / "r2"),
        "unknown_option": ("run", tiny, "--sead", "3", "--out", folder / "r3"),
        "missing_argument": ("run",),
        "out_inside_a_file": ("run", tiny, "-q", "--out", a_file / "run"),
        "out_name_too_long": ("run", tiny, "-q", "--out", folder / ("x" * 250)),
    }
    results = [invoke(*args, cwd=folder) for args in calls.values()]
    return {"folder": folder, **dict(zip(calls, results, strict=True))}


def assert_nothing_written(folder: Path) -> None:
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["a_file.txt", "tiny.toml"], f"wrote output: {names}"
    assert (folder / "a_file.txt").read_text() == "not a folder\n"


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("steps_zero", ("--steps", "1<=x<=5200")),
        ("seed_negative", ("--seed", "0<=x")),
        ("unknown_option", ("--sead", "'--seed'")),
        ("missing_argument", ("Missing argument 'SCENARIO'",)),
    ],
)
def test_bad_option_is_a_usage_error(name: str, needles: tuple, option_results: dict) -> None:
    assert_usage_error(option_results[name], *needles)
    assert_nothing_written(option_results["folder"])


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("out_inside_a_file", ("a_file.txt", "is a file, not a folder")),
        ("out_name_too_long", ("File name too long",)),
    ],
)
def test_bad_destination_is_one_line(name: str, needles: tuple, option_results: dict) -> None:
    assert_clean_error(option_results[name], *needles)
    assert_nothing_written(option_results["folder"])


# The same command in-process (click's test runner): more cases for little time.


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("run", "{tiny}", "--steps", "ten"), ("--steps", "'ten' is not a valid integer")),
        (("run", "{tiny}", "--steps", "5201"), ("--steps", "1<=x<=5200")),
        (("run", "{tiny}", "--out"), ("'--out' requires an argument",)),
        (("frobnicate",), ("No such command 'frobnicate'",)),
        (("validate",), ("Missing argument",)),
        (("show", "{tiny}", "--format", "yaml"), ("--format", "'yaml' is not one of")),
        (("cascades",), ("Missing argument 'RUN_DIR'",)),
    ],
)
def test_more_bad_options_in_process(args: tuple, needles: tuple, tmp_path: Path) -> None:
    tiny = write_tiny(tmp_path)
    result = CliRunner().invoke(main, [a.format(tiny=tiny) for a in args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("run", "-q", "{tiny}", "--out", "{file}"), ("a_file.txt", "not a folder")),
        (("show", "{folder}/absent.toml"), ("absent.toml", "no such file")),
        (("cascades", "{folder}"), ("not a finished run folder",)),
        (("run", "-q", "absent-scenario"), ("absent-scenario", "no such file", "bundled: ")),
        (("run", "-q", "basline"), ("basline", "did you mean 'baseline'?")),
        (("sweep", "presure-funding"), ("presure-funding", "did you mean 'pressure-funding'?")),
        (("validate", "presure-funding"), ("did you mean 'pressure-funding'?",)),
    ],
)
def test_more_bad_arguments_in_process(args: tuple, needles: tuple, tmp_path: Path) -> None:
    tiny = write_tiny(tmp_path)
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder\n")
    argv = [a.format(tiny=tiny, file=a_file, folder=tmp_path) for a in args]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file.txt", "tiny.toml"]
