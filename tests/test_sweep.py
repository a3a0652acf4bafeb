"""The sweep engine: results on disk, failures recorded, kill-and-resume, refusals.

Runs use the real model on a tiny trust (200 posts, 30 weeks) unless a test needs a run that
fails, which only a stand-in run function can promise.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from culturesim.batch.experiment import load_experiment
from culturesim.batch.sweep import ResultStore, SweepError, SweepReport, load_results, sweep
from culturesim.errors import UserError
from culturesim.files import FolderLock
from tests.conftest import assert_clean_error, cli_command

REPO = Path(__file__).resolve().parent.parent
TINY = """
base = "baseline"
seed = {seed}
replicates = {replicates}

[scenario]
organisation.staff_per_trust = 200
run.steps = 30

[[parameters]]
path = "drivers.regulator_pressure.value"
range = [0.5, 2.5]
levels = {levels}

[[parameters]]
path = "organisation.peer_ties"
values = [2, 6]

[design]
kind = "grid"

[outputs]
summary = ["bullied_by_staff", "reproduction_number", "mean_strain", "cascades"]
timeseries = ["bullied_by_staff", "mean_strain"]
every = 10

[executor]
shard_runs = {shard_runs}
"""


def write_experiment(
    folder: Path,
    name: str = "tiny",
    seed: int = 11,
    replicates: int = 2,
    levels: int = 3,
    shard_runs: int = 500,
) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        TINY.format(seed=seed, replicates=replicates, levels=levels, shard_runs=shard_runs)
    )
    return path


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """A results table without the wall time, the one column that may differ between sweeps."""
    return frame.drop(columns=["wall_time_s"], errors="ignore")


def failing_on_13_ties(scenario, seed):
    """A stand-in run: a pure function of (scenario, seed) that raises for one design point."""
    if scenario.organisation.peer_ties == 13:
        raise ValueError("this design point always fails")
    rng = np.random.default_rng(seed)
    weeks = np.arange(scenario.run.steps)
    series = pd.DataFrame(
        {
            "week": weeks,
            "bullied_by_staff": rng.random(len(weeks)),
            "mean_strain": rng.random(len(weeks)),
        }
    )
    summary = {
        "bullied_by_staff": float(series.bullied_by_staff.iloc[-1]),
        "reproduction_number": scenario.drivers.regulator_pressure.value,
        "mean_strain": float(rng.random()),
        "cascades": int(rng.integers(10)),
        "scenario": scenario.name,
        "leaver_rate_by_year": [0.1, 0.2],
    }
    return SimpleNamespace(summary=summary, timeseries=series)


def test_results_table_has_one_row_per_run_with_seeds_parameters_and_measures(tmp_path):
    experiment = load_experiment(write_experiment(tmp_path))
    report = sweep(experiment, tmp_path / "out", workers=2, progress=False)
    runs = load_results(tmp_path / "out")

    assert report.complete and report.ran == experiment.n_runs == 12 and report.failed == 0
    assert runs["run_id"].tolist() == list(range(12))
    assert runs["point"].tolist() == [i // 2 for i in range(12)]
    assert runs["replicate"].tolist() == [0, 1] * 6
    assert runs["seed"].tolist() == [experiment.run_seed(i) for i in range(12)]
    assert runs["seed"].nunique() == 12  # replicates are independent
    assert set(runs["drivers.regulator_pressure.value"]) == {0.5, 1.5, 2.5}
    assert runs["organisation.peer_ties"].dtype == np.int64
    assert (runs["status"] == "ok").all() and runs["error"].isna().all()
    assert list(runs.columns) == [
        "run_id",
        "point",
        "replicate",
        "seed",
        "drivers.regulator_pressure.value",
        "organisation.peer_ties",
        "bullied_by_staff",
        "reproduction_number",
        "mean_strain",
        "cascades",
        "status",
        "error",
        "wall_time_s",
    ]
    series = load_results(tmp_path / "out", "timeseries")
    assert series.groupby("run_id")["week"].apply(list).tolist() == [[0, 10, 20]] * 12

    # Every figure is the model's own for that scenario and seed, run in this process.
    from culturesim.run.simulate import simulate

    row = runs.iloc[7]
    scenario = experiment.base.with_overrides(
        {
            "drivers.regulator_pressure.value": row["drivers.regulator_pressure.value"],
            "organisation.peer_ties": int(row["organisation.peer_ties"]),
        }
    )
    direct = simulate(scenario, seed=int(row["seed"])).summary
    for measure in ("bullied_by_staff", "reproduction_number", "mean_strain", "cascades"):
        assert row[measure] == pytest.approx(direct[measure], rel=0, abs=0)

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["hash"] == experiment.hash and manifest["status"] == "complete"
    assert manifest["design"]["runs"] == 12 and manifest["provenance"]["packages"]["numpy"]
    assert list((tmp_path / "out" / "runs").glob("*.parquet"))
    assert not list((tmp_path / "out" / "journal").glob("*"))


def test_one_worker_and_several_give_the_same_table(tmp_path):
    path = write_experiment(tmp_path, levels=2, shard_runs=3)
    sweep(path, tmp_path / "one", workers=1, progress=False)
    sweep(path, tmp_path / "two", workers=2, progress=False)
    pd.testing.assert_frame_equal(
        comparable(load_results(tmp_path / "one")), comparable(load_results(tmp_path / "two"))
    )
    pd.testing.assert_frame_equal(
        load_results(tmp_path / "one", "timeseries"), load_results(tmp_path / "two", "timeseries")
    )


def test_several_runs_per_task_give_the_same_table(tmp_path):
    path = write_experiment(tmp_path, levels=2, shard_runs=3)
    sweep(path, tmp_path / "one", workers=1, progress=False, runs_per_task=1)
    sweep(path, tmp_path / "batched", workers=2, progress=False, runs_per_task=5, in_flight=5)
    pd.testing.assert_frame_equal(
        comparable(load_results(tmp_path / "one")), comparable(load_results(tmp_path / "batched"))
    )
    pd.testing.assert_frame_equal(
        load_results(tmp_path / "one", "timeseries"),
        load_results(tmp_path / "batched", "timeseries"),
    )


def test_replicates_side_by_side_give_the_table_of_runs_one_by_one(tmp_path):
    """By default a local worker runs a design point's replicates side by side in one model
    (culturesim.engine.replicates); every measure and series is the same as run alone."""
    path = write_experiment(tmp_path, replicates=4, levels=2)
    sweep(path, tmp_path / "alone", workers=2, progress=False, runs_per_task=1)
    sweep(path, tmp_path / "side", workers=2, progress=False)
    alone, side = load_results(tmp_path / "alone"), load_results(tmp_path / "side")
    pd.testing.assert_frame_equal(comparable(alone), comparable(side))
    pd.testing.assert_frame_equal(
        load_results(tmp_path / "alone", "timeseries"),
        load_results(tmp_path / "side", "timeseries"),
    )
    # each run of a model shared by a point's replicates records its share of the model's time
    # (16 runs on 2 workers: tasks of 2 replicates, keeping 4 tasks a worker)
    assert (side.groupby(["point", "wall_time_s"]).size() == 2).all()
    assert (alone.groupby(["point", "wall_time_s"]).size() == 1).all()


def test_a_task_of_replicates_ends_with_its_design_point(tmp_path):
    """Tasks never straddle two points, whose runs could not share a model: 3 replicates in
    tasks of 2 go as 2 + 1 per point, each task's runs side by side."""
    path = write_experiment(tmp_path, replicates=3, levels=2)
    sweep(path, tmp_path / "out", workers=2, progress=False, runs_per_task=2)
    runs = load_results(tmp_path / "out")
    shared = runs.groupby("wall_time_s")
    assert shared["point"].nunique().max() == 1
    assert sorted(shared.size().value_counts().to_dict().items()) == [(1, 4), (2, 4)]


@pytest.mark.parametrize("runs_per_task", [1, 4])
def test_a_failing_design_point_is_recorded_and_the_rest_complete(tmp_path, runs_per_task):
    path = write_experiment(tmp_path)
    path.write_text(path.read_text().replace("values = [2, 6]", "values = [2, 13, 6]"))
    report = sweep(
        path,
        tmp_path / "out",
        workers=2,
        progress=False,
        run=failing_on_13_ties,
        runs_per_task=runs_per_task,
    )
    runs = load_results(tmp_path / "out")

    failed = runs[runs["status"] == "failed"]
    assert len(runs) == 18 and report.failed == report.failed_total == 6
    assert set(failed["organisation.peer_ties"]) == {13}
    assert failed["error"].str.startswith("ValueError: this design point always fails").all()
    assert failed["bullied_by_staff"].isna().all()
    ok = runs[runs["status"] == "ok"]
    assert len(ok) == 12 and ok["bullied_by_staff"].notna().all()
    series = load_results(tmp_path / "out", "timeseries")
    assert set(series["run_id"]) == set(ok["run_id"])


def _sweep_in_child(experiment: Path, out: Path) -> subprocess.Popen:
    code = (
        "import sys; from culturesim.batch.sweep import sweep; "
        "sweep(sys.argv[1], sys.argv[2], workers=2, progress=False)"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(experiment), str(out)], cwd=REPO, start_new_session=True
    )


@pytest.mark.slow
def test_a_sweep_killed_part_way_then_resumed_equals_an_uninterrupted_one(tmp_path):
    path = write_experiment(tmp_path, replicates=6, levels=4, shard_runs=5)  # 48 runs
    total = load_experiment(path).n_runs
    killed = tmp_path / "killed"
    child = _sweep_in_child(path, killed)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # wait for some shards and an open journal
            if (killed / "manifest.json").is_file() and len(load_results(killed)) >= 12:
                break
            time.sleep(0.02)
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the child, its pool and its forkserver
        child.wait()
    saved = load_results(killed)
    assert 12 <= len(saved) < total, "the kill did not land part-way"

    report = sweep(path, killed, workers=2, progress=False, resume=True)
    assert report.done_before + report.recovered >= 12
    assert report.ran == total - report.done_before < total

    sweep(path, tmp_path / "whole", workers=2, progress=False)
    resumed, whole = load_results(killed), load_results(tmp_path / "whole")
    assert resumed["run_id"].tolist() == list(range(total))  # none missing, none twice
    pd.testing.assert_frame_equal(comparable(resumed), comparable(whole))
    pd.testing.assert_frame_equal(
        load_results(killed, "timeseries"), load_results(tmp_path / "whole", "timeseries")
    )
    assert json.loads((killed / "manifest.json").read_text())["status"] == "complete"


def test_half_written_files_are_never_read_and_journals_are_recovered(tmp_path):
    path = write_experiment(tmp_path, levels=2, shard_runs=3)
    out = tmp_path / "out"
    sweep(path, out, workers=1, progress=False, runs_per_task=1)
    whole = load_results(out)
    store = ResultStore(out)
    shards = store.committed_shards()
    assert len(shards) == 3  # 8 runs, one a task, in shards of 3, 3 and 2

    # As if killed: the last shard never committed (its runs only in its journal, the last
    # line cut short), a time-series shard and a runs shard caught half-written.
    last = shards[-1]
    journal = store.journal_dir / last.name.replace(".parquet", ".jsonl")
    records = whole[whole["run_id"].isin([6, 7])]
    lines = [
        json.dumps(
            {
                "run_id": int(r.run_id),
                "point": int(r.point),
                "replicate": int(r.replicate),
                "seed": int(r.seed),
                "status": "ok",
                "error": None,
                "wall_time_s": 0.0,
                "values": {
                    "drivers.regulator_pressure.value": r["drivers.regulator_pressure.value"],
                    "organisation.peer_ties": int(r["organisation.peer_ties"]),
                },
                "measures": {
                    m: r[m]
                    for m in ("bullied_by_staff", "reproduction_number", "mean_strain", "cascades")
                },
            }
        )
        for _, r in records.iterrows()
    ]
    journal.write_text(lines[0] + "\n" + lines[1][:40])
    last.rename(store.runs_dir / f".{last.name}.tmp")
    (store.timeseries_dir / ".part-000004.parquet.tmp").write_bytes(b"PAR1 half a shard")

    seen = load_results(out)
    assert seen["run_id"].tolist() == [0, 1, 2, 3, 4, 5, 6]  # run 7's line was cut short

    report = sweep(path, out, workers=1, progress=False, resume=True)
    assert report.recovered == 1 and report.ran == 1
    assert not list(out.rglob("*.tmp")) and not list(store.journal_dir.glob("*"))
    pd.testing.assert_frame_equal(
        comparable(load_results(out)).drop(columns="error"), comparable(whole).drop(columns="error")
    )


def test_resume_refuses_a_changed_experiment_and_finishes_nothing_twice(tmp_path):
    path = write_experiment(tmp_path, levels=2)
    sweep(path, tmp_path / "out", workers=1, progress=False)
    again = sweep(path, tmp_path / "out", workers=1, progress=False, resume=True)
    assert again.ran == 0 and again.done_before == 8

    path.write_text(path.read_text().replace("range = [0.5, 2.5]", "range = [0.5, 2.0]"))
    with pytest.raises(SweepError, match="experiment changed since this sweep started"):
        sweep(path, tmp_path / "out", workers=1, progress=False, resume=True)
    assert len(load_results(tmp_path / "out")) == 8


def test_refuses_to_overwrite_a_folder_and_to_resume_nothing(tmp_path):
    path = write_experiment(tmp_path, levels=2)
    sweep(path, tmp_path / "out", workers=1, progress=False)
    with pytest.raises(SweepError, match="already holds a sweep; use --resume"):
        sweep(path, tmp_path / "out", workers=1, progress=False)
    with pytest.raises(SweepError, match="nothing to resume"):
        sweep(path, tmp_path / "new", workers=1, progress=False, resume=True)
    assert not (tmp_path / "new").exists()
    assert not (tmp_path / "out" / ".lock").exists()  # the lock goes with the sweep


def test_a_folder_is_locked_while_a_sweep_writes_it_and_the_lock_file_removed_after(tmp_path):
    path = write_experiment(tmp_path, levels=2)
    out = tmp_path / "out"
    first = FolderLock(out).acquire()
    assert (tmp_path / ".out.lock").is_file()
    with pytest.raises(UserError, match="another culturesim run or sweep is writing"):
        sweep(path, out, workers=1, progress=False)
    with pytest.raises(UserError, match="another culturesim run or sweep is writing"):
        FolderLock(out).acquire()
    first.release()
    assert list(tmp_path.iterdir()) == [path]  # nothing made while refused, lock file gone
    second = FolderLock(out).acquire()  # free again, on a new lock file
    with pytest.raises(UserError, match="another culturesim run or sweep is writing"):
        first.acquire()
    second.release()
    assert list(tmp_path.iterdir()) == [path]


def test_overwrite_replaces_only_a_sweep_folder_culturesim_wrote(tmp_path):
    path = write_experiment(tmp_path, levels=2, replicates=1)
    out = tmp_path / "out"
    sweep(path, out, workers=1, progress=False)
    before = load_results(out)
    (out / "analysis").mkdir()  # `culturesim analyse` writes here by default
    report = sweep(path, out, workers=1, progress=False, overwrite=True)
    assert report.ran == 4 and report.done_before == 0
    pd.testing.assert_frame_equal(comparable(load_results(out)), comparable(before))
    assert not (out / "analysis").exists()

    (out / "notes.txt").write_text("my notes\n")
    with pytest.raises(UserError, match="holds files culturesim does not write [(]notes.txt[)]"):
        sweep(path, out, workers=1, progress=False, overwrite=True)
    assert (out / "notes.txt").read_text() == "my notes\n" and (out / "manifest.json").is_file()

    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("precious\n")
    (thesis / "manifest.json").write_text('{"name": "my web app"}')
    with pytest.raises(UserError, match="not a culturesim sweep folder"):
        sweep(path, thesis, workers=1, progress=False, overwrite=True)
    assert sorted(p.name for p in thesis.iterdir()) == ["chapter1.tex", "manifest.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_new_sweep_folder_appears_whole_with_its_manifest(tmp_path):
    path = write_experiment(tmp_path, levels=2, replicates=1)
    out = tmp_path / "out"
    with ThreadPoolExecutor(max_workers=1) as pool:  # watched from here while it writes
        running = pool.submit(sweep, path, out, workers=1, progress=False)
        seen = set()
        while not running.done():
            if out.exists():  # the moment it has a name, it has a manifest and a design
                seen.add(tuple(sorted(p.name for p in out.iterdir() if p.is_file())))
            time.sleep(0.001)
        assert running.result().complete
    assert seen and all({"design.parquet", "manifest.json"} <= set(names) for names in seen)


def _sweep_with_small_files(path: Path, out: Path, max_bytes: int) -> subprocess.CompletedProcess:
    """`culturesim sweep` where no file may grow past `max_bytes`: a full disk, for files."""
    import resource

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return subprocess.run(
        [*cli_command(), "sweep", str(path), "--out", str(out), "--workers", "1", "-q"],
        capture_output=True,
        text=True,
        cwd=path.parent,
        preexec_fn=limit,
        timeout=300,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="the file-size limit stands in for a full disk")
def test_a_full_disk_at_sweep_start_names_the_file_and_leaves_nothing(tmp_path):
    path = write_experiment(tmp_path, levels=2, replicates=1)
    out = tmp_path / "out"
    failed = _sweep_with_small_files(path, out, 1500)
    line = assert_clean_error(failed, f"{out}{os.sep}", "cannot write", "File too large")
    assert ".partial" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no folder, no lock

    report = sweep(path, out, workers=1, progress=False)  # nothing in the way of a new sweep
    assert report.complete and report.ran == 4


def test_a_run_function_workers_cannot_import_is_refused_before_any_run(tmp_path):
    path = write_experiment(tmp_path, levels=2)
    with pytest.raises(SweepError, match="run = .*<lambda>: worker processes cannot import it"):
        sweep(path, tmp_path / "out", workers=1, progress=False, run=lambda scenario, seed: None)
    assert not (tmp_path / "out").exists()

    code = (
        "import sys\n"
        "from culturesim.batch.sweep import sweep\n"
        "def my_run(scenario, seed):\n"
        "    raise AssertionError('never called')\n"
        "sweep(sys.argv[1], sys.argv[2], workers=1, progress=False, run=my_run)\n"
    )
    notebook = subprocess.run(
        [sys.executable, "-c", code, str(path), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert notebook.returncode == 1
    assert notebook.stderr.strip().splitlines()[-1] == (
        "culturesim.errors.SweepError: run = my_run: defined in __main__ (a notebook, "
        "`python -c` or an interactive session), which worker processes cannot import; put it "
        "in a module (a .py file) and import it from there"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="process tree read through psutil on Linux")
def test_a_killed_sweep_leaves_no_worker_fork_server_or_tracker_running(tmp_path):
    import psutil

    path = write_experiment(tmp_path, replicates=6, levels=4)  # 48 runs: still running at kill
    child = _sweep_in_child(path, tmp_path / "out")
    parent = psutil.Process(child.pid)
    try:
        deadline = time.monotonic() + 120
        helpers: list[psutil.Process] = []
        while time.monotonic() < deadline:  # the resource tracker, fork server and 2 workers
            helpers = parent.children(recursive=True)
            if len(helpers) >= 4:
                break
            time.sleep(0.05)
        assert len(helpers) >= 4, helpers
        os.kill(child.pid, signal.SIGKILL)  # the sweep only, as the kernel's OOM killer does
        child.wait()
        gone, alive = psutil.wait_procs(helpers, timeout=30)
        assert alive == [], [(p.pid, p.cmdline()) for p in alive]
    finally:
        with contextlib.suppress(ProcessLookupError):  # nothing of the group left: as it should
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def test_the_summary_line_says_how_many_runs_succeeded(tmp_path):
    report = SweepReport(tmp_path, 4, 0, 4, 4, 4, 65.0, "local pool of 1 process")
    assert report.line() == (
        f"{tmp_path}: 4/4 runs finished: 0 ok, 4 failed (4 this session) "
        "on local pool of 1 process in 0:01:05"
    )


def test_cli_sweep_and_analyse(tmp_path):
    from click.testing import CliRunner

    from culturesim.cli import main

    path = write_experiment(tmp_path, levels=2)
    out = tmp_path / "out"
    runner = CliRunner()
    done = runner.invoke(main, ["sweep", str(path), "--out", str(out), "--workers", "2", "-q"])
    assert done.exit_code == 0, done.output
    assert f"{out}: 8/8 runs finished: 8 ok, 0 failed (8 this session) on local pool of 2 " in (
        done.stdout
    )
    again = runner.invoke(main, ["sweep", str(path), "--out", str(out)])
    assert again.exit_code == 2
    assert again.stderr.strip().splitlines() == [
        f"error: {out}: already holds a sweep; use --resume to finish it, --overwrite to "
        "replace it, or choose another --out"
    ]
    analysed = runner.invoke(main, ["analyse", str(out)])
    assert analysed.exit_code == 0, analysed.output
    assert (out / "analysis" / "points.csv").is_file()
    assert (out / "analysis" / "phase-diagram.png").is_file()
