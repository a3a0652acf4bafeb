"""`--set PATH=VALUE` on run, show, compare and viz: validated like a scenario file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from culturesim.cli import main
from culturesim.engine.overrides import apply_settings, parse_setting, parse_value
from culturesim.engine.scenario import ScenarioError, load_scenario
from tests.conftest import assert_clean_error, run_cli, write_tiny


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.9", 0.9),
        ("12", 12),
        ("true", True),
        ("[7, 5, 6, 12]", [7, 5, 6, 12]),
        ('"quoted"', "quoted"),
        ("my-run", "my-run"),  # not TOML: taken as the text itself
        ('{kind = "stance_change", week = 10}', {"kind": "stance_change", "week": 10}),
    ],
)
def test_values_are_read_as_toml(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_arm_prefixes_only_where_arms_exist() -> None:
    assert parse_setting("B:regulator.stance=0.9", ("A", "B")).arm == "B"
    assert parse_setting("regulator.stance=0.9", ("A", "B")).arm is None
    with pytest.raises(ScenarioError, match="only `compare` has arms"):
        parse_setting("B:regulator.stance=0.9")
    with pytest.raises(ScenarioError, match="unknown arm prefix 'C:'"):
        parse_setting("C:regulator.stance=0.9", ("A", "B"))


def test_settings_for_one_arm_leave_the_other_alone() -> None:
    settings = [
        parse_setting(text, ("A", "B"))
        for text in ("run.steps=30", "B:regulator.stance=0.9", "A:regulator.stance=0.1")
    ]
    baseline = load_scenario("baseline")
    a = apply_settings(baseline, settings, "A")
    b = apply_settings(baseline, settings, "B")
    assert (a.run.steps, b.run.steps) == (30, 30)
    assert (a.regulator.stance, b.regulator.stance) == (0.1, 0.9)


def test_show_applies_every_setting_in_order(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "show",
            "baseline",
            "--set",
            "organisation.spans_of_control=[7, 5, 6, 12]",
            "--set",
            "run.record_events=false",
            "--set",
            "regulator.stance=0.2",
            "--set",
            "regulator.stance=0.9",
        ],
    )
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.stdout)
    assert shown["organisation"]["spans_of_control"] == [7, 5, 6, 12]
    assert shown["run"]["record_events"] is False
    assert shown["regulator"]["stance"] == 0.9


def test_run_writes_the_changed_scenario_into_its_folder(tmp_path: Path) -> None:
    tiny = write_tiny(tmp_path, steps=5)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["run", "-q", str(tiny), "--out", str(out), "--set", "regulator.stance=0.8"]
    )
    assert result.exit_code == 0, result.output
    resolved = tomllib.loads((out / "scenario.resolved.toml").read_text())
    assert resolved["regulator"]["stance"] == 0.8


def test_a_bad_setting_is_one_line_from_the_real_command(tmp_path: Path) -> None:
    tiny = write_tiny(tmp_path)
    out = tmp_path / "run"
    result = run_cli("run", tiny, "--out", out, "--set", "regulator.stanse=0.9")
    assert_clean_error(
        result, "--set", "unknown parameter path 'regulator.stanse'", "did you mean "
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("run", "{tiny}", "--set", "regulator.stance=1.5"), ("regulator.stance = 1.5", "0 to 1")),
        (
            ("run", "{tiny}", "--set", "run.steps=1O"),
            ("run.steps = '1O'", "must be a number, not text"),
        ),
        (("run", "{tiny}", "--set", "strain.time_constant_weeks=true"), ("not true/false",)),
        (("run", "{tiny}", "--set", "regulator.stance"), ("expected PATH=VALUE",)),
        (("run", "{tiny}", "--set", "B:regulator.stance=0.5"), ("only `compare` has arms",)),
        (("show", "{tiny}", "--set", "strain.time_constant=3"), ("did you mean",)),
        (("show", "{tiny}", "--set", "interventions.3.week=5"), ("no item 3",)),
        (("viz", "{tiny}", "--set", "regulator.stance=2"), ("regulator.stance = 2",)),
        (
            ("compare", "{tiny}", "{tiny}", "--set", "C:regulator.stance=0.5"),
            ("unknown arm prefix 'C:'",),
        ),
        (("compare", "{tiny}", "{tiny}", "--set", "B:run.stepz=3"), ("--set B:", "run.steps")),
    ],
)
def test_bad_settings_are_one_clear_line(args: tuple, needles: tuple, tmp_path: Path) -> None:
    tiny = write_tiny(tmp_path)
    result = CliRunner().invoke(main, [a.format(tiny=tiny) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --set"), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]
