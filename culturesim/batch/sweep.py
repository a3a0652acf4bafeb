"""Sweeps: an experiment's runs mapped over a process pool or a Dask cluster, streamed to disk.

One engine serves a laptop and a cluster: it is written against `concurrent.futures`, and takes
a local process pool or the executor of a Dask `Client` (`executors`). At most `in_flight` runs
are submitted at once, so memory stays flat however large the design. Runs happen in workers
(`worker`), `runs_per_task` at a time (`dispatch`: a cluster's tasks cost milliseconds, and a
point's replicates share a model); each finished task's runs are journaled at once and
committed to Parquet shards (`store`, which also describes the folder's layout and why a kill
loses nothing).

The results folder is created whole: built under a hidden temporary name and renamed into place
once its manifest is written. It is locked while a sweep writes it, and `overwrite` replaces
only a sweep folder culturesim wrote (`culturesim.files`).
"""

from __future__ import annotations

import shutil
import socket
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from culturesim.batch.dispatch import Batching, Dispatcher, SweepPlan
from culturesim.batch.executors import (
    ExecutorHandle,
    dask_executor,
    given_executor,
    local_executor,
)
from culturesim.batch.experiment import Experiment, load_experiment
from culturesim.batch.store import (
    SWEEP_FOLDER_ENTRIES,
    DesignSummary,
    Manifest,
    ResultStore,
    Session,
    VariedColumn,
    load_results,
)
from culturesim.batch.worker import (
    RunFunction,
    RunSpec,
    RunTask,
    check_importable,
    side_by_side_size,
)
from culturesim.errors import SweepError
from culturesim.files import (
    FolderLock,
    atomic_write_table,
    check_replaceable,
    provenance,
    swap_in,
    temporary_folder,
)
from culturesim.progress import progress_bar

__all__ = ["ResultStore", "SweepError", "SweepReport", "load_results", "sweep"]

# A sweep keeps summaries and time series only: no figures, snapshots or event log per run
# (they change no result; they only cost time).
RUN_SETTINGS = {"run.figures": False, "run.snapshot_every": 0, "run.record_events": False}


@dataclass
class SweepReport:
    """What a sweep session did."""

    out: Path
    total: int
    done_before: int
    ran: int
    failed: int
    failed_total: int
    elapsed_s: float
    where: str
    complete: bool = True
    recovered: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line: runs finished of the total, how many succeeded and failed, where, how long."""
        finished = self.done_before + self.ran
        return (
            f"{self.out}: {finished}/{self.total} runs finished: "
            f"{finished - self.failed_total} ok, {self.failed_total} failed "
            f"({self.ran} this session) on {self.where} in {_clock(self.elapsed_s)}"
        )


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def sweep(
    experiment: str | Path | Experiment,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    run: RunFunction | None = None,
    in_flight: int | None = None,
    executor: Executor | None = None,
    runs_per_task: int | None = None,
) -> SweepReport:
    """Run (or, with `resume`, finish) an experiment's sweep into a results folder.

    `workers` local processes (default: the machine's cores), or the Dask cluster at `scheduler`
    (or the experiment's `[executor]` table), or any `concurrent.futures` `executor` given.
    `run(scenario, seed)` replaces the simulation (it must be importable by the workers).
    `overwrite` replaces a finished or interrupted sweep folder (nothing else).
    `runs_per_task` runs go to a worker as one task (default: see `batch_size`); it never
    changes a result.
    Raises ExperimentError/SweepError for bad input; a failing run is recorded, not raised.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    spec = experiment.spec
    out = Path(out) if out is not None else Path("results") / experiment.name
    scheduler = scheduler or (spec.executor.scheduler if workers is None else None)
    if run is not None and executor is None and not scheduler:
        check_importable(run)  # Dask ships functions by value; a local pool imports them

    if executor is not None:
        handle = given_executor(executor, in_flight)
    elif scheduler:
        handle = dask_executor(scheduler)
    else:
        handle = local_executor(workers or spec.executor.workers)
    try:
        with FolderLock(out):
            if resume:
                store, manifest = _reopen_store(experiment, out)
            else:
                store, manifest = _create_store(experiment, out, overwrite)
            batching = Batching(
                runs_per_task or spec.executor.runs_per_task, in_flight or spec.executor.in_flight
            )
            return _run_session(experiment, store, manifest, handle, run, batching, progress)
    finally:
        handle.close()


# --- the results folder ----------------------------------------------------------------------


def _reopen_store(experiment: Experiment, out: Path) -> tuple[ResultStore, Manifest]:
    store = ResultStore(out)
    if not store.manifest_path.is_file():
        raise SweepError(f"{out}: nothing to resume (no manifest.json); run without --resume")
    manifest = store.manifest()
    if manifest.hash != experiment.hash:
        raise SweepError(
            f"{out}: the experiment changed since this sweep started (hash "
            f"{manifest.hash[:12]} then, {experiment.hash[:12]} now); "
            f"restore it or sweep into a new --out"
        )
    return store, manifest


def _create_store(
    experiment: Experiment, out: Path, overwrite: bool
) -> tuple[ResultStore, Manifest]:
    """A new results folder, built under a temporary name and renamed into place whole."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not out.is_dir():
            raise SweepError(f"{out}: exists and is not a folder; choose another --out")
        if not overwrite:
            if (out / "manifest.json").is_file():
                raise SweepError(
                    f"{out}: already holds a sweep; use --resume to finish it, --overwrite to "
                    f"replace it, or choose another --out"
                )
            raise SweepError(f"{out}: exists and is not empty; choose another --out")
        check_replaceable(out, "manifest.json", "sweep", SWEEP_FOLDER_ENTRIES)
    temporary = temporary_folder(out)
    try:
        building = ResultStore(temporary)
        building.create_folders()
        design = pa.Table.from_pandas(experiment.design, preserve_index=False)
        atomic_write_table(temporary / "design.parquet", design)
        manifest = _manifest_for(experiment)
        building.write_manifest(manifest)
        swap_in(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return ResultStore(out), manifest


def _manifest_for(experiment: Experiment) -> Manifest:
    spec = experiment.spec
    return Manifest(
        experiment=spec,
        experiment_file=experiment.origin,
        experiment_text=experiment.text,
        hash=experiment.hash,
        base_scenario=experiment.base.model_dump(mode="json"),
        design=DesignSummary(
            kind=spec.design.kind,
            points=experiment.n_points,
            replicates=spec.replicates,
            runs=experiment.n_runs,
            seed=spec.seed,
            common_random_numbers=spec.common_random_numbers,
        ),
        parameters=[VariedColumn(path=m.path, kind=m.kind) for m in experiment.maps],
        measures=list(spec.outputs.summary) if spec.outputs.summary is not None else None,
        timeseries=list(spec.outputs.timeseries),
        timeseries_every=spec.outputs.every,
        provenance=provenance("sweep"),
        posterior=_posterior_record(experiment),
    )


def _posterior_record(experiment: Experiment) -> dict | None:
    """The posterior and its draws (replicate r uses draw r mod N), for the manifest."""
    if experiment.spec.posterior_draws is None:
        return None
    from culturesim.batch.posterior import load_posterior

    return load_posterior().summary() | {
        "draws": [
            draw.record() | {"set": posterior_values(experiment, draw)}
            for draw in experiment.posterior_draws
        ]
    }


# --- one session -----------------------------------------------------------------------------


def _run_session(
    experiment: Experiment,
    store: ResultStore,
    manifest: Manifest,
    handle: ExecutorHandle,
    run: RunFunction | None,
    batching: Batching,
    progress: bool,
) -> SweepReport:
    """Run every run not yet on disk; the manifest records the session and how it ended."""
    recovered = store.recover(manifest)
    done = np.zeros(experiment.n_runs, dtype=bool)
    done[store.done_run_ids()] = True
    done_before = int(done.sum())
    failed_before = int((store.read("runs")["status"] == "failed").sum()) if done_before else 0
    base = experiment.base.with_overrides(RUN_SETTINGS, experiment.origin)
    run_spec = RunSpec(
        base,
        tuple(manifest.measures) if manifest.measures else None,
        tuple(manifest.timeseries),
        manifest.timeseries_every,
        run,
    )
    session = Session(started=_now(), host=socket.gethostname(), executor=handle.where)
    manifest.status = "running"
    manifest.sessions.append(session)
    store.open_journal()
    store.write_manifest(manifest)

    report = SweepReport(
        store.directory,
        experiment.n_runs,
        done_before,
        ran=0,
        failed=0,
        failed_total=failed_before,
        elapsed_s=0.0,
        where=handle.where,
        complete=False,
        recovered=recovered,
    )
    if progress:
        print(
            f"{experiment.describe()}\n{handle.where}; results in {store.directory}",
            file=sys.stderr,
        )
    shared = run is None and not experiment.spec.posterior_draws  # culturesim's own runs
    side_by_side = side_by_side_size(base, experiment.spec.replicates) if shared else 1
    batching = batching.settle(handle, experiment.n_runs - done_before, side_by_side)
    plan = SweepPlan(experiment, store, manifest, run_spec, handle, batching, report)
    started = time.monotonic()
    try:
        with progress_bar(
            experiment.n_runs, "runs", "run", done=done_before, enabled=progress
        ) as bar:
            Dispatcher(plan, bar).run(_tasks(experiment, store, done))
        report.complete = True
    finally:
        store.commit(manifest)
        store.close_journal()
        report.elapsed_s = time.monotonic() - started
        session.finished, session.runs, session.failed = _now(), report.ran, report.failed
        manifest.status = "complete" if report.complete else "interrupted"
        store.write_manifest(manifest)
    return report


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _tasks(experiment: Experiment, store: ResultStore, done: np.ndarray) -> Iterator[RunTask]:
    """The runs not yet done, in run order, with their design point's values and seed."""
    design: pd.DataFrame = pq.read_table(store.directory / "design.parquet").to_pandas()
    replicates = experiment.spec.replicates
    paths = experiment.paths
    columns = [design[path].tolist() for path in paths]
    fixed = [posterior_values(experiment, draw) for draw in experiment.posterior_draws]
    for run_id in range(experiment.n_runs):
        if done[run_id]:
            continue
        point, replicate = divmod(run_id, replicates)
        values = {path: columns[i][point] for i, path in enumerate(paths)}
        drawn = fixed[replicate % len(fixed)] if fixed else None
        yield RunTask(run_id, point, replicate, experiment.run_seed(run_id), values, drawn)


def posterior_values(experiment: Experiment, draw: object) -> dict:
    """A draw's parameters that the runs take: not those the design varies, nor those the base
    scenario sets to values of its own (culturesim.batch.posterior.apply_draw)."""
    from culturesim.batch.posterior import apply_draw

    _, applied = apply_draw(experiment.base, draw)
    return {path: value for path, value in applied.items() if path not in experiment.paths}
