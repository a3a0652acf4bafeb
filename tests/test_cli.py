"""The command line's good paths: scenarios, show, validate, extends, cascades, --help."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from culturesim.cli import main
from culturesim.engine.scenario import (
    SCENARIO_DIR,
    Scenario,
    bundled_scenarios,
    iter_parameters,
    load_scenario,
)
from culturesim.run.simulate import run_to_folder
from tests.conftest import invoke, write_tiny

BUNDLED = sorted(SCENARIO_DIR.glob("*.toml"))


def flatten(table: dict, prefix: str = "") -> dict[str, object]:
    """{'a.b.c': value} for every leaf of a nested table (arrays are leaves)."""
    flat: dict[str, object] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The commands of this module, in-process, and `python -m culturesim --help` as a process."""
    folder = tmp_path_factory.mktemp("cli")
    variant = write_tiny(folder, "variant")
    run_dir = folder / "run"
    run_to_folder(load_scenario(variant), run_dir)
    calls = {
        "scenarios": ("scenarios",),
        "show_baseline": ("show", "baseline"),
        "show_variant": ("show", variant),
        "cascades": ("cascades", run_dir),
    }
    results = [invoke(*args, cwd=folder) for args in calls.values()]
    help_result = subprocess.run(
        [sys.executable, "-m", "culturesim", "--help"],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
    )
    return {
        "folder": folder,
        "variant": variant,
        "run_dir": run_dir,
        "help": help_result,
        **dict(zip(calls, results, strict=True)),
    }


def ok(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_bundled_scenarios_load_under_their_own_names_with_their_questions() -> None:
    assert len(BUNDLED) >= 2 and SCENARIO_DIR / "baseline.toml" in BUNDLED
    listed = bundled_scenarios()
    assert [name for name, _ in listed] == [path.stem for path in BUNDLED]
    for (name, question), path in zip(listed, BUNDLED, strict=True):
        scenario = load_scenario(name)  # by name, resolved to the bundled file
        assert scenario.name == name, f"{path.name} is named {scenario.name!r}"
        assert question == tomllib.loads(path.read_text(encoding="utf-8"))["question"]
        assert question.strip() and "\n" not in question


def test_scenarios_lists_every_bundled_scenario_with_its_question(outputs: dict) -> None:
    lines = ok(outputs["scenarios"]).splitlines()
    for path in BUNDLED:
        question = tomllib.loads(path.read_text(encoding="utf-8")).get("question", "")
        assert question, f"{path.name} has no one-line question"
        assert any(
            line.split()[:1] == [path.stem] and line.rstrip().endswith(question) for line in lines
        ), f"{path.stem} / {question!r} not listed"


def test_show_baseline_prints_every_value_with_defaults(outputs: dict) -> None:
    shown = tomllib.loads(ok(outputs["show_baseline"]))
    flat = flatten(shown)
    for path, _info in iter_parameters():
        assert path in flat, f"{path} missing from `culturesim show baseline`"
    defaults = Scenario()
    assert flat["strain.time_constant_weeks"] == defaults.strain.time_constant_weeks
    assert flat["behaviour.norm_weight"] == defaults.behaviour.norm_weight
    assert flat["drivers.funding.value"] == defaults.drivers.funding.value
    assert flat["organisation.spans_of_control"] == defaults.organisation.spans_of_control
    assert shown == load_scenario("baseline").model_dump(mode="json")


def test_shown_scenario_round_trips(outputs: dict) -> None:
    shown_file = outputs["folder"] / "shown.toml"
    shown_file.write_text(ok(outputs["show_baseline"]), encoding="utf-8")
    result = invoke("validate", shown_file, *BUNDLED)
    assert ok(result).splitlines() == [f"ok: {p}" for p in [shown_file, *BUNDLED]]
    assert result.stderr == ""
    assert load_scenario(shown_file) == load_scenario("baseline")


def test_extends_variant_differs_only_where_stated(outputs: dict) -> None:
    variant = flatten(tomllib.loads(ok(outputs["show_variant"])))
    parent = flatten(load_scenario("baseline").model_dump(mode="json"))
    assert variant.keys() == parent.keys()
    differ = {k for k in parent if parent[k] != variant[k]}
    # name and question are the variant's own (a variant does not inherit its parent's).
    assert differ == {
        "name",
        "question",
        "run.steps",
        "run.figures",
        "organisation.staff_per_trust",
    }
    assert variant["name"] == "variant"
    assert variant["organisation.staff_per_trust"] == 200
    assert variant["run.steps"] == 20


def test_extends_merges_tables_and_replaces_arrays(tmp_path: Path) -> None:
    (tmp_path / "parent.toml").write_text(
        'extends = "baseline.toml"\nname = "parent"\n'
        "[drivers.funding]\nvalue = 0.9\nchanges = [{week = 10, value = 0.8}]\n"
        "[organisation]\nspans_of_control = [6, 5, 6, 12]\n",
        encoding="utf-8",
    )
    (tmp_path / "child.toml").write_text(
        'extends = "parent.toml"\n'
        "[drivers.funding]\nchanges = [{week = 20, value = 1.1}]\n"
        "[strain]\nworkload_weight = 4.0\n",
        encoding="utf-8",
    )
    child = load_scenario(tmp_path / "child.toml")
    assert child.name == "child"  # not the parent's
    assert child.drivers.funding.value == 0.9  # inherited through two levels
    assert [(c.week, c.value) for c in child.drivers.funding.changes] == [(20, 1.1)]
    assert child.organisation.spans_of_control == [6, 5, 6, 12]
    assert child.strain.workload_weight == 4.0
    assert child.strain.time_constant_weeks == Scenario().strain.time_constant_weeks


def test_show_json_matches_toml(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["show", "baseline", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == load_scenario("baseline").model_dump(mode="json")


def test_python_dash_m_help_lists_the_commands(outputs: dict) -> None:
    text = ok(outputs["help"])
    for command in ("run", "validate", "show", "scenarios", "cascades"):
        assert f"  {command}" in text


def test_version_option_prints_the_installed_version() -> None:
    result = CliRunner().invoke(main, ["--version"], prog_name="culturesim")
    assert result.exit_code == 0
    assert result.output.splitlines() == [f"culturesim, version {metadata.version('culturesim')}"]


def test_cascades_prints_statistics_and_draws_ccdf(outputs: dict) -> None:
    text = ok(outputs["cascades"])
    run_dir = outputs["run_dir"]
    assert f"cascades in {run_dir}" in text
    assert "reproduction number R" in text
    assert "size   cascades   share >= size" in text
    figure = run_dir / "figures" / "cascade_sizes.png"
    assert f"size distribution: {figure}" in text
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cascades_plot_option(outputs: dict, tmp_path: Path) -> None:
    plot = tmp_path / "elsewhere" / "ccdf.png"
    result = CliRunner().invoke(main, ["cascades", str(outputs["run_dir"]), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_a_change_scheduled_after_the_run_ends_is_warned_about(tmp_path):
    short = tmp_path / "short.toml"
    short.write_text('extends = "funding-squeeze.toml"\nname = "short"\n[run]\nsteps = 40\n')
    done = invoke("validate", short)
    assert done.returncode == 0
    assert "warning:" in done.stderr and "interventions.0.week = 52" in done.stderr
    full = invoke("validate", "funding-squeeze")
    assert full.returncode == 0 and "warning" not in full.stderr
