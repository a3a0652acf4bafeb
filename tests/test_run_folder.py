"""`culturesim run` writes a complete run folder, reproducibly, and never a half-written one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from datetime import datetime
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest

import culturesim.run.simulate
from culturesim.engine.scenario import load_scenario
from culturesim.run.simulate import run_to_folder
from tests.conftest import assert_clean_error, cli_command, invoke, write_tiny

TABLES = ("timeseries", "events", "episodes", "agents", "trusts")
FILES = (
    *(f"{t}.parquet" for t in TABLES),
    "summary.json",
    "provenance.json",
    "scenario.resolved.toml",
)
FIGURES = ("dashboard.png", "cascade_sizes.png", "team_heatmap.png")
SUMMARY_KEYS = {
    "scenario",
    "seed",
    "weeks",
    "staff_posts",
    "bullied_by_public",
    "bullied_by_colleagues",
    "bullied_by_managers",
    "bullied_by_staff",
    "compassion_climate",
    "mean_strain",
    "leaver_rate",
    "vacancy_rate",
    "ceo_median_tenure_years",
    "care_quality",
    "harm_per_1000_staff_year",
    "cascades",
    "cascade_max_size",
    "cascade_max_depth",
    "conversions",
    "reproduction_number",
}


def leftovers(parent: Path) -> list[str]:
    """Temporary or replaced folders left beside a run folder."""
    return sorted(p.name for p in parent.iterdir() if ".partial" in p.name or ".old" in p.name)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three runs through the command (in-process):

    first   the tiny scenario, figures off, with the summary printed;
    rerun   the first run's scenario.resolved.toml, same seed;
    other   the tiny scenario with figures on, --seed 7 --steps 15, to the default folder
            runs/NAME-seedN.
    """
    folder = tmp_path_factory.mktemp("runs")
    tiny = write_tiny(folder, "tiny")
    quick = write_tiny(folder, "quick")
    pictured = write_tiny(folder, "pictured", figures=True)
    first = invoke("run", tiny, "--out", folder / "first", cwd=folder)
    rerun = invoke(
        "run", folder / "first" / "scenario.resolved.toml", "--out", "rerun", "-q", cwd=folder
    )
    other = invoke("run", pictured, "--seed", "7", "--steps", "15", "-q", cwd=folder)
    for result in (first, rerun, other):
        assert result.returncode == 0, result.stderr
    return {
        "folder": folder,
        "quick": quick,
        "first": folder / "first",
        "first_result": first,
        "rerun": folder / "rerun",
        "other": folder / "runs" / "pictured-seed7",
        "other_result": other,
    }


def table(run_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(run_dir / f"{name}.parquet")


def test_run_folder_has_every_file(runs: dict) -> None:
    first, other = runs["first"], runs["other"]
    for name in FILES:
        assert (first / name).is_file(), name
        assert (other / name).is_file(), name
    assert not (first / "figures").exists()  # figures = false in the scenario
    for name in FIGURES:
        assert (other / "figures" / name).read_bytes()[:4] == b"\x89PNG", name
    assert leftovers(runs["folder"]) == []
    assert leftovers(runs["folder"] / "runs") == []


def test_run_prints_the_summary_and_the_folder(runs: dict) -> None:
    result = runs["first_result"]
    assert "Traceback" not in result.stderr
    assert "bullied in last 12 months" in result.stdout
    assert "reproduction number R" in result.stdout
    assert result.stdout.rstrip().endswith(f"run folder: {runs['first']}")
    assert runs["other_result"].stdout.strip() == "run folder: runs/pictured-seed7"


def test_timeseries_has_one_row_per_week(runs: dict) -> None:
    ts = table(runs["first"], "timeseries")
    assert ts.week.tolist() == list(range(20))
    for column in (
        "staff",
        "vacancy_rate",
        "bullying_acts",
        "bullied_by_managers",
        "compassion_climate",
        "mean_strain",
        "care_quality",
        "conversions",
        "reproduction_number",
    ):
        assert column in ts.columns, column
    assert ts.staff.between(1, 300).all()


def test_events_record_who_bullied_whom_and_when(runs: dict) -> None:
    events = table(runs["first"], "events")
    agents = table(runs["first"], "agents").set_index("post")
    assert {"week", "perpetrator", "victim", "relation"} <= set(events.columns)
    assert events.week.between(0, 19).all()
    assert events.victim.isin(agents.index).all()
    manager = agents["manager"]
    # The relation is stored with its labels: a manager bullies a report, a colleague, a report
    # bullies their manager, a member of the public (no perpetrator post). Posts and reporting
    # lines never change.
    assert list(events.relation.cat.categories) == ["manager", "colleague", "report", "public"]
    relations = ("manager", "colleague", "report", "public")
    down, side, up, public = (events[events.relation == label] for label in relations)
    assert len(events) == len(down) + len(side) + len(up) + len(public)
    assert len(down) > 0 and len(side) > 0, "too few acts to check"
    assert (manager[down.victim].to_numpy() == down.perpetrator.to_numpy()).all()
    assert (manager[up.perpetrator].to_numpy() == up.victim.to_numpy()).all()
    assert (side.victim != side.perpetrator).all() and side.perpetrator.isin(agents.index).all()
    assert (public.perpetrator == -1).all()
    assert (events[events.relation != "public"].perpetrator >= 0).all()


def test_agents_has_one_row_per_post(runs: dict) -> None:
    agents = table(runs["first"], "agents")
    assert set(agents.week) == {19}
    assert agents.post.tolist() == list(range(len(agents)))
    assert 150 <= len(agents) <= 300
    for column in ("level", "team", "occupied", "strain", "compassion", "behaviour"):
        assert column in agents.columns, column


def test_summary_json(runs: dict) -> None:
    summary = json.loads((runs["first"] / "summary.json").read_text())
    assert SUMMARY_KEYS <= summary.keys(), SUMMARY_KEYS - summary.keys()
    assert summary["scenario"] == "tiny"
    assert summary["seed"] == 1
    assert summary["weeks"] == 20


def test_provenance_json(runs: dict) -> None:
    prov = json.loads((runs["first"] / "provenance.json").read_text())
    assert prov["culturesim_version"] == metadata.version("culturesim")
    assert prov["seed"] == 1 and prov["steps"] == 20 and prov["scenario"] == "tiny"
    assert "git_commit" in prov  # None outside a git checkout
    for package in ("numpy", "pandas", "pyarrow", "pydantic", "mesa"):
        assert prov["packages"][package] == metadata.version(package)
    assert prov["python"] and prov["platform"]
    started = datetime.fromisoformat(prov["started"])
    finished = datetime.fromisoformat(prov["finished"])
    assert started <= finished
    assert prov["wall_time_seconds"] == pytest.approx((finished - started).total_seconds())


def test_resolved_scenario_reruns_bit_identically(runs: dict) -> None:
    first, rerun = runs["first"], runs["rerun"]
    assert load_scenario(first / "scenario.resolved.toml") == load_scenario(
        rerun / "scenario.resolved.toml"
    )
    for name in TABLES:
        assert (first / f"{name}.parquet").read_bytes() == (
            rerun / f"{name}.parquet"
        ).read_bytes(), name
    assert (first / "summary.json").read_text() == (rerun / "summary.json").read_text()


def test_seed_and_steps_overrides_are_recorded_and_change_the_run(runs: dict) -> None:
    other, first = runs["other"], runs["first"]
    resolved = tomllib.loads((other / "scenario.resolved.toml").read_text())
    assert resolved["run"]["seed"] == 7
    assert resolved["run"]["steps"] == 15
    assert json.loads((other / "provenance.json").read_text())["seed"] == 7
    ts = table(other, "timeseries")
    assert len(ts) == 15
    # Same model parameters (only figures differ, which the run does not read), different seed:
    # a different run.
    same_weeks = table(first, "timeseries").iloc[:15]
    assert not ts.equals(same_weeks)
    assert not table(other, "events").equals(table(first, "events"))


def test_existing_folder_is_refused_unless_overwrite(runs: dict, tmp_path: Path) -> None:
    out = tmp_path / "existing"
    run_to_folder(load_scenario(runs["quick"]).with_overrides({"run.steps": 5}), out)
    refused = invoke("run", runs["quick"], "--out", out, "-q", cwd=tmp_path)
    assert_clean_error(refused, str(out), "not empty", "--overwrite")
    assert len(table(out, "timeseries")) == 5
    assert leftovers(tmp_path) == []

    replaced = invoke(
        "run", runs["quick"], "--out", out, "-q", "--overwrite", "--steps", "8", cwd=tmp_path
    )
    assert replaced.returncode == 0, replaced.stderr
    assert len(table(out, "timeseries")) == 8
    for name in FILES:
        assert (out / name).is_file(), name
    assert leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["existing"]  # no lock file left either


def test_overwrite_replaces_only_a_run_folder(runs: dict, tmp_path: Path) -> None:
    """A user's own folder (or a run folder they added files to) is never deleted."""
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("precious\n")
    refused = invoke("run", runs["quick"], "--out", thesis, "-q", "--overwrite", cwd=tmp_path)
    assert_clean_error(refused, str(thesis), "not a culturesim run folder", "left untouched")
    here = invoke("run", runs["quick"], "--out", ".", "-q", "--overwrite", cwd=thesis)
    assert_clean_error(here, "not a culturesim run folder")
    assert [p.name for p in thesis.iterdir()] == ["chapter1.tex"]

    out = tmp_path / "run"
    run_to_folder(load_scenario(runs["quick"]).with_overrides({"run.steps": 5}), out)
    (out / "notes.txt").write_text("what I saw\n")
    refused = invoke("run", runs["quick"], "--out", out, "-q", "--overwrite", cwd=tmp_path)
    assert_clean_error(refused, str(out), "holds files culturesim does not write (notes.txt)")
    assert (out / "notes.txt").is_file() and len(table(out, "timeseries")) == 5

    sweep_folder = tmp_path / "sweep"
    sweep_folder.mkdir()
    (sweep_folder / "manifest.json").write_text('{"written_by": "culturesim", "folder": "sweep"}')
    refused = invoke("run", runs["quick"], "--out", sweep_folder, "-q", "--overwrite")
    assert_clean_error(refused, "not a culturesim run folder")
    assert [p.name for p in sweep_folder.iterdir()] == ["manifest.json"]
    assert leftovers(tmp_path) == []


def test_empty_existing_folder_is_used(runs: dict, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    run_to_folder(load_scenario(runs["quick"]).with_overrides({"run.steps": 5}), out)
    assert (out / "summary.json").is_file()
    assert leftovers(tmp_path) == []


class Crash(RuntimeError):
    pass


def crash_after_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail while writing summary.json, after every table is already on disk."""

    def fail(path: Path, content: dict) -> None:
        assert (path.parent / "timeseries.parquet").is_file()
        raise Crash("disk full")

    monkeypatch.setattr(culturesim.run.simulate, "write_json", fail)


def test_crash_part_way_leaves_nothing(
    runs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_after_tables(monkeypatch)
    out = tmp_path / "crashed"
    with pytest.raises(Crash):
        run_to_folder(load_scenario(runs["quick"]), out)
    assert list(tmp_path.iterdir()) == []


def test_crash_while_overwriting_keeps_the_old_folder(
    runs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "kept"
    run_to_folder(load_scenario(runs["quick"]).with_overrides({"run.steps": 5}), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    crash_after_tables(monkeypatch)
    with pytest.raises(Crash):
        run_to_folder(load_scenario(runs["quick"]), out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(tmp_path) == []


@pytest.fixture
def long_run(tmp_path: Path):
    """Start a run too long to finish (5,200 weeks of 5,000 posts) and wait until it is under
    way."""
    scenario = write_tiny(tmp_path, "long", steps=5200)
    scenario.write_text(
        scenario.read_text().replace("staff_per_trust = 200", "staff_per_trust = 5000")
    )
    out = tmp_path / "long-run"
    process = subprocess.Popen(
        [*cli_command(), "run", str(scenario), "--out", str(out), "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a shell's background job (`pytest &`) starts with Ctrl-C ignored,
        # and the child would inherit that and run to the end
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".long-run.partial*")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        time.sleep(0.3)  # part-way through the weeks
        assert process.poll() is None, "the run finished too soon to interrupt"
        yield process, out
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)


def test_killed_run_leaves_no_finished_looking_folder(long_run) -> None:
    process, out = long_run
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert not out.exists()
    # Only the hidden temporary folder and the (released) lock file can remain: never a folder
    # under the requested name. The next run into the same place removes both.
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == [
        ".long-run.lock",
        f".long-run.partial-{process.pid}",
    ]
    # Leftovers whose process id is in use again (here this test's own) go too: the lock,
    # not the id, says that nobody is writing them.
    (out.parent / f".long-run.partial-{os.getpid()}").mkdir()
    (out.parent / f".long-run.old-{os.getpid()}").mkdir()
    scenario = out.parent / "long.toml"
    again = invoke("run", scenario, "--out", out, "--steps", "3", "-q")
    assert again.returncode == 0, again.stderr
    assert (out / "provenance.json").is_file()
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".long-run")) == []


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_runs(long_run) -> None:
    process, out = long_run
    scenario = out.parent / "long.toml"
    for extra in ((), ("--overwrite",)):
        second = invoke("run", scenario, "--out", out, "--steps", "5", "-q", *extra)
        assert_clean_error(second, str(out), "another culturesim run or sweep is writing")
    assert process.poll() is None  # the first run goes on, untouched


def test_interrupted_run_cleans_up(long_run) -> None:
    process, out = long_run
    os.kill(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted: ")
    assert "Traceback" not in stderr
    assert not out.exists()
    assert leftovers(out.parent) == []


def test_snapshots_give_several_weeks(runs: dict, tmp_path: Path) -> None:
    scenario = load_scenario(runs["quick"]).with_overrides({"run.snapshot_every": 5})
    out, result = run_to_folder(scenario, tmp_path / "snapshots")
    agents = table(out, "agents")
    weeks = sorted(set(agents.week))
    assert weeks == [4, 9, 14, 19]
    counts = agents.groupby("week").post.count()
    assert (counts == counts.iloc[0]).all()
    assert counts.iloc[0] == (agents.week == 19).sum()
    assert len(agents) == 4 * counts.iloc[0]
    # The final snapshot is the state the summary describes.
    assert agents[agents.week == 19].post.tolist() == list(range(counts.iloc[0]))


def test_an_installed_copy_names_the_commit_it_was_built_from(tmp_path: Path) -> None:
    """Outside a checkout git cannot say which code runs: the wheel's stamp does."""
    import culturesim

    installed = tmp_path / "site-packages" / "culturesim"
    shutil.copytree(
        Path(culturesim.__file__).parent, installed, ignore=shutil.ignore_patterns("__pycache__")
    )
    probe = "import culturesim.files as f; print(f.git_commit())"
    env = {**os.environ, "PYTHONPATH": str(installed.parent)}

    def commit() -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert commit() == "None"  # no stamp, not a checkout: unknown, not a wrong guess
    (installed / "BUILD_COMMIT").write_text("0123abcd\n")
    assert commit() == "0123abcd"


def test_leftovers_of_another_destination_are_kept(tmp_path: Path) -> None:
    """`run[1]` is a glob pattern for `run1`: only this destination's leftovers may go."""
    tiny = write_tiny(tmp_path, steps=3)
    other = tmp_path / ".run1.partial-99999"
    other.mkdir()
    done = invoke("run", tiny, "--out", tmp_path / "run[1]", "-q")
    assert done.returncode == 0, done.stderr
    assert other.is_dir()


def test_a_folder_killed_while_swapping_in_is_put_back(tmp_path: Path) -> None:
    """Killed between swap_in's renames: the previous folder waits as `.NAME.old-PID`."""
    tiny = write_tiny(tmp_path, steps=3)
    out = tmp_path / "run"
    assert invoke("run", tiny, "--out", out, "-q").returncode == 0
    previous = (out / "summary.json").read_text()
    out.rename(tmp_path / ".run.old-12345")
    again = invoke("run", tiny, "--out", out, "-q")
    assert_clean_error(again, str(out), "use --overwrite")  # it is back: not replaced unasked
    assert (out / "summary.json").read_text() == previous
    assert not (tmp_path / ".run.old-12345").exists()
