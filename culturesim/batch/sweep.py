"""Sweeps: an experiment's runs mapped over a process pool or a Dask cluster, streamed to disk.

One engine serves a laptop and a cluster: it is written against `concurrent.futures`, and takes
a local `ProcessPoolExecutor` or the executor of a Dask `Client`. At most `in_flight` runs are
submitted at once, so memory stays flat however large the design.

The results folder::

    manifest.json            experiment, its hash, design summary, provenance, sessions
    design.parquet           one row per design point
    runs/part-000001.parquet one row per run (a shard holds many runs)
    timeseries/part-000001.parquet
    journal/part-000002.jsonl  runs finished since the last shard, one JSON line each

How nothing is lost or read twice:

1. Each finished run is appended to the open journal as one JSON line (Python's float repr
   round-trips exactly). A line cut short by a kill is ignored, so a kill loses only the runs
   in flight.
2. Every `shard_runs` runs or `shard_seconds`, the journal's runs are written as shard k: the
   time-series shard, then the runs shard, each written to a temporary name, flushed to disk and
   renamed. The runs shard's rename is the commit; then journal k is deleted.
3. Readers take runs shard k if it exists, else the complete lines of journal k; a time-series
   shard counts only beside its runs shard. Temporary files are never read.
4. `resume` first commits any journal left by a killed sweep, then runs every run id that is in
   no shard: none is missing and none is run twice.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from culturesim.batch.experiment import Experiment, load_experiment, plural
from culturesim.engine.scenario import Scenario, ScenarioError

FORMAT_VERSION = 1
RUN_COLUMNS = ("run_id", "point", "replicate", "seed")
STATUS_COLUMNS = ("status", "error", "wall_time_s")
PACKAGES = ("culturesim", "numpy", "scipy", "pandas", "pyarrow", "mesa", "SALib", "distributed")
# A sweep keeps summaries and time series only: no figures, snapshots or event log per run
# (they change no result; they only cost time).
RUN_SETTINGS = {"run.figures": False, "run.snapshot_every": 0, "run.record_events": False}


class SweepError(ScenarioError):
    """A sweep that cannot start or go on (a results folder in the way, a changed experiment)."""


RunFunction = Callable[[Scenario, int], Any]


# --- one run, in a worker --------------------------------------------------------------------


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run; small, so that it pickles cheaply."""

    run_id: int
    point: int
    replicate: int
    seed: int
    values: dict[str, Any]


@dataclass(frozen=True)
class RunSpec:
    """What is the same for every run of a sweep: the base scenario and what to keep."""

    base: Scenario
    measures: tuple[str, ...] | None
    timeseries: tuple[str, ...]
    every: int
    function: RunFunction | None = None


def default_run(scenario: Scenario, seed: int) -> Any:
    """culturesim's own simulation, imported in the worker."""
    from culturesim.run.simulate import simulate

    return simulate(scenario, seed=seed)


def scalar_measures(summary: dict) -> dict[str, float]:
    """The summary's single numbers (as floats); lists and names are left out."""
    kept = {}
    for name, value in summary.items():
        if name in RUN_COLUMNS or name in STATUS_COLUMNS:
            continue  # the run's own seed is already a column
        if value is None:
            kept[name] = float("nan")
        elif isinstance(value, bool | int | float | np.integer | np.floating | np.bool_):
            kept[name] = float(value)
    return kept


def execute_run(spec: RunSpec, task: RunTask) -> dict:
    """Run one design point's replicate; an exception becomes a failed record, never a crash."""
    started = time.perf_counter()
    record: dict[str, Any] = {"run_id": task.run_id, "status": "ok", "error": None}
    try:
        scenario = spec.base.with_overrides(task.values, f"run {task.run_id}")
        result = (spec.function or default_run)(scenario, task.seed)
        summary = scalar_measures(result.summary)
        names = spec.measures if spec.measures is not None else tuple(summary)
        unknown = [name for name in names if name not in summary]
        if unknown:
            raise ValueError(
                f"no summary measure {', '.join(map(repr, unknown))} (outputs.summary);"
                f" measures: {', '.join(summary)}"
            )
        missing = [name for name in spec.timeseries if name not in result.timeseries]
        if missing:
            raise ValueError(
                f"no time series {', '.join(map(repr, missing))} (outputs.timeseries);"
                f" series: {', '.join(map(str, result.timeseries.columns))}"
            )
        record["measures"] = {name: summary.get(name, float("nan")) for name in names}
        if spec.timeseries:
            frame = result.timeseries
            rows = frame[frame["week"] % spec.every == 0]
            record["timeseries"] = {"week": [int(w) for w in rows["week"]]} | {
                name: [float(v) for v in rows[name]] for name in spec.timeseries
            }
    except Exception as error:  # noqa: BLE001 - a failing run is data, the sweep goes on
        record.update(status="failed", error=describe_error(error), measures={})
    record["wall_time_s"] = time.perf_counter() - started
    return record


def describe_error(error: BaseException) -> str:
    """One line: the exception and where it was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}{where}"


# --- the results folder ----------------------------------------------------------------------


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _atomic_write_table(path: Path, table: pa.Table) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, temporary)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _shard_name(number: int, suffix: str) -> str:
    return f"part-{number:06d}.{suffix}"


def _shard_number(path: Path) -> int:
    return int(path.name.split(".")[0].removeprefix("part-"))


class ResultStore:
    """A sweep's results folder (see the module docstring for the layout and the protocol)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.runs_dir = self.directory / "runs"
        self.timeseries_dir = self.directory / "timeseries"
        self.journal_dir = self.directory / "journal"
        self._lock_handle: Any = None
        self._journal: Any = None
        self._journal_number = 0
        self._buffer: list[dict] = []

    # manifest and schema

    @property
    def manifest_path(self) -> Path:
        return self.directory / "manifest.json"

    def manifest(self) -> dict:
        if not self.manifest_path.is_file():
            raise SweepError(f"{self.directory}: not a sweep results folder (no manifest.json)")
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def write_manifest(self, manifest: dict) -> None:
        text = json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n"
        _atomic_write_bytes(self.manifest_path, text.encode())

    def schema(self, manifest: dict | None = None) -> tuple[pa.Schema, pa.Schema]:
        """The runs and time-series tables' columns, fixed by the manifest."""
        manifest = manifest or self.manifest()
        types = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string()}
        runs = [pa.field(name, pa.int64()) for name in RUN_COLUMNS]
        runs += [pa.field(p["path"], types[p["kind"]]) for p in manifest["parameters"]]
        runs += [pa.field(name, pa.float64()) for name in manifest["measures"] or []]
        runs += [
            pa.field("status", pa.string()),
            pa.field("error", pa.string()),
            pa.field("wall_time_s", pa.float64()),
        ]
        series = [pa.field("run_id", pa.int64()), pa.field("week", pa.int64())]
        series += [pa.field(name, pa.float64()) for name in manifest["timeseries"]]
        return pa.schema(runs), pa.schema(series)

    # locking

    def lock(self) -> None:
        """Refuse a second sweep writing the same folder at once (released if we are killed).

        The lock is an exclusive `flock` on `.lock`, a file that holds nothing else; `unlock`
        deletes it. A sweep that opened `.lock` just before the holder deleted it could lock the
        deleted file, so after locking we check that `.lock` is still the file we hold, and try
        again if not.
        """
        if os.name != "posix":
            return
        import fcntl

        path = self.directory / ".lock"
        while True:
            handle = open(path, "a+")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise SweepError(
                    f"{self.directory}: another sweep is writing to this folder"
                ) from None
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(handle.fileno()).st_ino:
                self._lock_handle = handle
                return
            handle.close()  # the holder deleted it as we opened it: lock the new one

    def unlock(self) -> None:
        """Release the lock and delete `.lock` (deleted while still held, so no one is let in
        between)."""
        if self._lock_handle is not None:
            try:
                os.unlink(self.directory / ".lock")
            except FileNotFoundError:
                pass
            self._lock_handle.close()
            self._lock_handle = None

    # reading

    def committed_shards(self) -> list[Path]:
        return sorted(self.runs_dir.glob("part-*.parquet"))

    def journals(self) -> list[Path]:
        """Journals whose runs are in no shard yet."""
        committed = {_shard_number(p) for p in self.committed_shards()}
        return [
            p
            for p in sorted(self.journal_dir.glob("part-*.jsonl"))
            if _shard_number(p) not in committed
        ]

    @staticmethod
    def read_journal(path: Path) -> list[dict]:
        """The complete lines of a journal; a line cut short by a kill is not data."""
        records = []
        with open(path, "rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    break
        return records

    def records_to_tables(self, records: list[dict], manifest: dict) -> tuple[pa.Table, pa.Table]:
        runs_schema, series_schema = self.schema(manifest)
        runs: dict[str, list] = {name: [] for name in runs_schema.names}
        series: dict[str, list] = {name: [] for name in series_schema.names}
        measures = manifest["measures"] or []
        for record in records:
            for name in RUN_COLUMNS + STATUS_COLUMNS:
                runs[name].append(record.get(name))
            for parameter in manifest["parameters"]:
                runs[parameter["path"]].append(record["values"][parameter["path"]])
            for name in measures:
                runs[name].append(record["measures"].get(name, float("nan")))
            rows = record.get("timeseries")
            if rows:
                series["run_id"].extend([record["run_id"]] * len(rows["week"]))
                for name in series_schema.names[1:]:
                    series[name].extend(rows[name])
        return (pa.table(runs, schema=runs_schema), pa.table(series, schema=series_schema))

    def read(self, table: str = "runs") -> pd.DataFrame:
        """Every run persisted so far (shards and complete journal lines), by run id.

        Safe while a sweep writes: journals are read before shards are listed, and a journal
        whose shard exists by then is dropped (the shard holds the same runs), so a shard
        committed meanwhile is neither missed nor read twice.
        """
        manifest = self.manifest()
        runs_schema, series_schema = self.schema(manifest)
        schema = runs_schema if table == "runs" else series_schema
        journaled = {}
        for path in sorted(self.journal_dir.glob("part-*.jsonl")):
            try:
                journaled[_shard_number(path)] = self.read_journal(path)
            except FileNotFoundError:  # committed and removed since the listing
                continue
        parts = []
        shards = self.committed_shards()
        for shard in shards:
            source = shard if table == "runs" else self.timeseries_dir / shard.name
            if source.is_file():
                parts.append(_conform(pq.read_table(source), schema))
        committed = {_shard_number(shard) for shard in shards}
        for number, records in journaled.items():
            if number not in committed:
                runs, series = self.records_to_tables(records, manifest)
                parts.append(runs if table == "runs" else series)
        frame = pa.concat_tables(parts).to_pandas() if parts else schema.empty_table().to_pandas()
        keys = ["run_id"] if table == "runs" else ["run_id", "week"]
        return frame.sort_values(keys, kind="stable").reset_index(drop=True)

    def done_run_ids(self) -> np.ndarray:
        ids = [
            pq.read_table(s, columns=["run_id"])["run_id"].to_numpy()
            for s in self.committed_shards()
        ]
        return np.concatenate(ids) if ids else np.empty(0, dtype=np.int64)

    # writing

    def recover(self, manifest: dict) -> int:
        """After a kill: commit what the journals hold, drop temporary and orphaned files."""
        for temporary in self.directory.rglob(".*.tmp"):
            temporary.unlink()
        recovered = 0
        for journal in self.journals():
            records = self.read_journal(journal)
            if records:
                self._commit(_shard_number(journal), records, manifest)
                recovered += len(records)
            journal.unlink()
        committed = {p.name for p in self.committed_shards()}
        for orphan in self.timeseries_dir.glob("part-*.parquet"):
            if orphan.name not in committed:
                orphan.unlink()
        for stale in self.journal_dir.glob("part-*.jsonl"):  # journals already committed
            stale.unlink()
        return recovered

    def _commit(self, number: int, records: list[dict], manifest: dict) -> None:
        runs, series = self.records_to_tables(records, manifest)
        name = _shard_name(number, "parquet")
        if series.num_rows:
            _atomic_write_table(self.timeseries_dir / name, series)
        _atomic_write_table(self.runs_dir / name, runs)  # the commit point

    def open_journal(self) -> None:
        numbers = [_shard_number(p) for p in self.committed_shards()]
        numbers += [_shard_number(p) for p in self.journal_dir.glob("part-*.jsonl")]
        self._journal_number = max(numbers, default=0) + 1
        path = self.journal_dir / _shard_name(self._journal_number, "jsonl")
        self._journal = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self._buffer = []

    def append(self, record: dict) -> None:
        """Journal one finished run: after this returns, a kill of this process cannot lose it."""
        self._journal.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._journal.flush()
        self._buffer.append(record)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def commit(self, manifest: dict) -> None:
        """Write the journal's runs as a shard, then start a new journal."""
        if not self._buffer:
            return
        os.fsync(self._journal.fileno())
        self._commit(self._journal_number, self._buffer, manifest)
        self._journal.close()
        self._journal = None
        (self.journal_dir / _shard_name(self._journal_number, "jsonl")).unlink()
        self.open_journal()

    def close_journal(self) -> None:
        """Close the open journal, removing it if it holds no runs."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
            path = self.journal_dir / _shard_name(self._journal_number, "jsonl")
            if not self._buffer and path.is_file() and path.stat().st_size == 0:
                path.unlink()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A shard in the manifest's columns: a shard written before the measures were known (only
    failed runs) lacks them, and gets them as nulls."""
    columns = [
        table[name].cast(f.type) if name in table.column_names else pa.nulls(table.num_rows, f.type)
        for name, f in zip(schema.names, schema, strict=True)
    ]
    return pa.table(columns, schema=schema)


def load_results(directory: str | Path, table: str = "runs") -> pd.DataFrame:
    """A sweep's results as a DataFrame, one row per run (or per run and week, `timeseries`).

    Columns of `runs`: run_id, point, replicate, seed, each varied parameter (by dotted path),
    each kept summary measure, status ("ok" or "failed"), error and wall_time_s. Runs still in
    a journal (a sweep running or killed) are included; a shard being written never is.
    """
    if table not in ("runs", "timeseries", "design"):
        raise ValueError(f"table = {table!r}: must be runs, timeseries or design")
    store = ResultStore(directory)
    if table == "design":
        store.manifest()
        return pq.read_table(store.directory / "design.parquet").to_pandas()
    return store.read(table)


# --- provenance ------------------------------------------------------------------------------


def provenance() -> dict:
    """Where and with what a sweep session ran."""
    from culturesim.run.outputs import git_commit, package_versions

    commit = git_commit()
    versions = package_versions(PACKAGES)
    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "command": sys.argv,
        "git_commit": commit,
        "packages": versions,
    }


# --- progress --------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """A one-line bar on stderr: runs done of total, failures, elapsed and remaining time."""

    def __init__(self, total: int, done: int, failed: int, enabled: bool = True) -> None:
        self.total, self.done, self.failed = total, done, failed
        self.start_done = done
        self.started = time.monotonic()
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self._last = 0.0

    def update(self, done: int, failed: int, force: bool = False) -> None:
        self.done, self.failed = done, failed
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < (0.2 if self.tty else 30.0)):
            return
        self._last = now
        sys.stderr.write(("\r" if self.tty else "") + self.line() + ("" if self.tty else "\n"))
        sys.stderr.flush()

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        ran = self.done - self.start_done
        remaining = self.total - self.done
        eta = _clock(elapsed / ran * remaining) if ran else "?"
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        return (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} runs, "
            f"{self.failed} failed, elapsed {_clock(elapsed)}, remaining {eta}  "
        )

    def close(self) -> None:
        self.update(self.done, self.failed, force=True)
        if self.enabled and self.tty:
            sys.stderr.write("\n")


# --- executors -------------------------------------------------------------------------------


@dataclass
class ExecutorHandle:
    """An executor with how many runs it can work on at once, and how to close it."""

    executor: Executor
    slots: int
    where: str
    close: Callable[[], None]
    remake: Callable[[], ExecutorHandle] | None = None


def local_executor(workers: int | None) -> ExecutorHandle:
    """A process pool over the machine's cores: no service needed."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = workers or os.cpu_count() or 1
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        # The model and Mesa are imported once by the fork server, not by every worker.
        context.set_forkserver_preload(["culturesim.batch.sweep", "culturesim.run.simulate"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    return ExecutorHandle(
        pool,
        workers,
        f"local pool of {plural(workers, 'process', 'processes')}",
        lambda: pool.shutdown(wait=True, cancel_futures=True),
        lambda: local_executor(workers),
    )


def dask_executor(address: str) -> ExecutorHandle:
    """The same runs on a Dask distributed cluster, through its concurrent.futures executor."""
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("--scheduler needs Dask: pip install distributed") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise SweepError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    threads = sum(w["nthreads"] for w in client.scheduler_info(n_workers=-1)["workers"].values())
    executor = client.get_executor(pure=False)

    def close() -> None:
        executor.shutdown(wait=False)
        client.close()

    return ExecutorHandle(
        executor,
        max(threads, 1),
        f"Dask cluster at {address} ({plural(threads, 'worker thread')})",
        close,
    )


# --- the sweep -------------------------------------------------------------------------------


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


def _manifest_for(experiment: Experiment, out: Path) -> dict:
    spec = experiment.spec
    return {
        "format": FORMAT_VERSION,
        "experiment": spec.model_dump(mode="json"),
        "experiment_file": experiment.origin,
        "experiment_text": experiment.text,
        "hash": experiment.hash,
        "base_scenario": experiment.base.model_dump(mode="json"),
        "design": {
            "kind": spec.design.kind,
            "points": experiment.n_points,
            "replicates": spec.replicates,
            "runs": experiment.n_runs,
            "seed": spec.seed,
            "common_random_numbers": spec.common_random_numbers,
        },
        "parameters": [{"path": m.path, "kind": m.kind} for m in experiment.maps],
        "measures": list(spec.outputs.summary) if spec.outputs.summary is not None else None,
        "timeseries": list(spec.outputs.timeseries),
        "timeseries_every": spec.outputs.every,
        "provenance": provenance(),
        "sessions": [],
        "status": "running",
    }


def _prepare_store(experiment: Experiment, out: Path, resume: bool) -> tuple[ResultStore, dict]:
    store = ResultStore(out)
    if resume:
        if not store.manifest_path.is_file():
            raise SweepError(f"{out}: nothing to resume (no manifest.json); run without --resume")
        manifest = store.manifest()
        if manifest.get("hash") != experiment.hash:
            raise SweepError(
                f"{out}: the experiment changed since this sweep started (hash "
                f"{manifest.get('hash', '?')[:12]} then, {experiment.hash[:12]} now); "
                f"restore it or sweep into a new --out"
            )
        store.lock()
        return store, manifest
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if store.manifest_path.is_file():
            raise SweepError(
                f"{out}: already holds a sweep; use --resume to finish it, or choose another --out"
            )
        raise SweepError(f"{out}: exists and is not empty; choose another --out")
    for directory in (out, store.runs_dir, store.timeseries_dir, store.journal_dir):
        directory.mkdir(parents=True, exist_ok=True)
    store.lock()
    manifest = _manifest_for(experiment, out)
    _atomic_write_table(
        out / "design.parquet", pa.Table.from_pandas(experiment.design, preserve_index=False)
    )
    store.write_manifest(manifest)
    return store, manifest


def _tasks(experiment: Experiment, design: pd.DataFrame, done: np.ndarray) -> Iterator[RunTask]:
    replicates = experiment.spec.replicates
    paths = experiment.paths
    columns = [design[path].tolist() for path in paths]
    for run_id in range(experiment.n_runs):
        if done[run_id]:
            continue
        point, replicate = divmod(run_id, replicates)
        values = {path: columns[i][point] for i, path in enumerate(paths)}
        yield RunTask(run_id, point, replicate, experiment.run_seed(run_id), values)


def sweep(
    experiment: str | Path | Experiment,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    run: RunFunction | None = None,
    in_flight: int | None = None,
    executor: Executor | None = None,
) -> SweepReport:
    """Run (or, with `resume`, finish) an experiment's sweep into a results folder.

    `workers` local processes (default: the machine's cores), or the Dask cluster at `scheduler`
    (or the experiment's `[executor]` table), or any `concurrent.futures` `executor` given.
    `run(scenario, seed)` replaces the simulation (it must be importable by the workers).
    Raises ExperimentError/SweepError for bad input; a failing run is recorded, not raised.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    spec = experiment.spec
    out = Path(out) if out is not None else Path("results") / experiment.name
    scheduler = scheduler or (spec.executor.scheduler if workers is None else None)
    workers = workers or spec.executor.workers

    if executor is not None:
        handle = ExecutorHandle(
            executor, in_flight or os.cpu_count() or 1, type(executor).__name__, lambda: None
        )
    elif scheduler:
        handle = dask_executor(scheduler)
    else:
        handle = local_executor(workers)
    try:
        store, manifest = _prepare_store(experiment, out, resume)
    except BaseException:
        handle.close()
        raise
    try:
        recovered = store.recover(manifest) if resume else 0
        design = pq.read_table(out / "design.parquet").to_pandas()
        done = np.zeros(experiment.n_runs, dtype=bool)
        done[store.done_run_ids()] = True
        done_before = int(done.sum())
        failed_before = int((store.read("runs")["status"] == "failed").sum()) if done_before else 0
        store.open_journal()
        base = experiment.base.with_overrides(RUN_SETTINGS, experiment.origin)
        run_spec = RunSpec(
            base,
            tuple(manifest["measures"]) if manifest["measures"] else None,
            tuple(manifest["timeseries"]),
            manifest["timeseries_every"],
            run,
        )
        session = {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
        }
        manifest["status"] = "running"
        manifest["sessions"].append(session)
        store.write_manifest(manifest)

        session["executor"] = handle.where
        report = SweepReport(
            out,
            experiment.n_runs,
            done_before,
            0,
            0,
            failed_before,
            0.0,
            handle.where,
            complete=False,
            recovered=recovered,
        )
        if progress:
            print(f"{experiment.describe()}\n{handle.where}; results in {out}", file=sys.stderr)
        bar = Progress(experiment.n_runs, done_before, failed_before, enabled=progress)
        started = time.monotonic()
        try:
            _drive(
                experiment,
                store,
                manifest,
                run_spec,
                handle,
                design,
                done,
                in_flight or spec.executor.in_flight or 2 * handle.slots,
                bar,
                report,
            )
            report.complete = True
        finally:
            store.commit(manifest)
            bar.close()
            report.elapsed_s = time.monotonic() - started
            session.update(
                finished=datetime.now(UTC).isoformat(timespec="seconds"),
                runs=report.ran,
                failed=report.failed,
            )
            manifest["status"] = "complete" if report.complete else "interrupted"
            store.write_manifest(manifest)
    finally:
        handle.close()
        store.close_journal()
        store.unlock()
    return report


def _drive(
    experiment: Experiment,
    store: ResultStore,
    manifest: dict,
    run_spec: RunSpec,
    handle: ExecutorHandle,
    design: pd.DataFrame,
    done: np.ndarray,
    in_flight: int,
    bar: Progress,
    report: SweepReport,
) -> None:
    """Keep at most `in_flight` runs submitted; journal each as it finishes; commit shards."""
    shard_runs = experiment.spec.executor.shard_runs
    shard_seconds = experiment.spec.executor.shard_seconds
    tasks = _tasks(experiment, design, done)
    retry: list[RunTask] = []
    attempts: dict[int, int] = {}
    running: dict[Future, RunTask] = {}
    last_commit = time.monotonic()
    finished = report.done_before
    failed = report.failed_total

    def submit_more() -> None:
        while len(running) < in_flight:
            task = retry.pop() if retry else next(tasks, None)
            if task is None:
                return
            running[handle.executor.submit(execute_run, run_spec, task)] = task

    submit_more()
    while running:
        completed, _ = wait(running, return_when=FIRST_COMPLETED)
        broken = False
        for future in completed:
            task = running.pop(future)
            try:
                record = future.result()
            except BrokenProcessPool:
                # A worker process died (killed, out of memory): every run in flight is lost.
                # Each is tried again once; a run that breaks the pool twice is recorded failed.
                broken = True
                attempts[task.run_id] = attempts.get(task.run_id, 0) + 1
                if attempts[task.run_id] < 2:
                    retry.append(task)
                    continue
                record = {
                    "run_id": task.run_id,
                    "status": "failed",
                    "measures": {},
                    "error": "worker process died during this run",
                    "wall_time_s": None,
                }
            except Exception as error:  # noqa: BLE001 - e.g. a Dask worker lost
                record = {
                    "run_id": task.run_id,
                    "status": "failed",
                    "measures": {},
                    "error": describe_error(error),
                    "wall_time_s": None,
                }
            if manifest["measures"] is None and record["status"] == "ok":
                manifest["measures"] = list(record["measures"])
                store.write_manifest(manifest)
            record |= {
                "point": task.point,
                "replicate": task.replicate,
                "seed": task.seed,
                "values": task.values,
            }
            store.append(record)
            finished += 1
            report.ran += 1
            if record["status"] != "ok":
                failed += 1
                report.failed += 1
                if len(report.failures) < 20:
                    report.failures.append(f"run {task.run_id}: {record['error']}")
            report.failed_total = failed
            bar.update(finished, failed)
        if broken and handle.remake is not None:
            for future, task in list(running.items()):
                future.cancel()
                retry.append(task)
            running.clear()
            handle.close()
            fresh = handle.remake()
            handle.executor, handle.close = fresh.executor, fresh.close
        if store.buffered >= shard_runs or (
            store.buffered and time.monotonic() - last_commit > shard_seconds
        ):
            store.commit(manifest)
            last_commit = time.monotonic()
        submit_more()
