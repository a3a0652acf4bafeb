"""A sweep's results folder: its manifest, a journal of finished runs, and Parquet shards.

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
4. `recover` (on resume) first commits any journal left by a killed sweep; the sweep then runs
   every run id that is in no shard: none is missing and none is run twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, ValidationError

from culturesim.batch.experiment_schema import ExperimentSpec
from culturesim.batch.worker import RUN_COLUMNS, STATUS_COLUMNS
from culturesim.errors import SweepError
from culturesim.files import WRITTEN_BY, atomic_write_bytes, atomic_write_table, naming_failures

FORMAT_VERSION = 1
SWEEP_FOLDER_ENTRIES = (
    "manifest.json", "design.parquet", "runs", "timeseries", "journal", "analysis",
)  # fmt: skip
"""Everything a sweep folder holds (`analysis` is `culturesim analyse`'s default output)."""
COLUMN_TYPES = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string()}


# --- the manifest ----------------------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DesignSummary(_Record):
    kind: str
    points: int
    replicates: int
    runs: int
    seed: int
    common_random_numbers: bool


class VariedColumn(_Record):
    """A varied parameter's column in the results: its dotted path and its type."""

    path: str
    kind: Literal["float", "int", "bool", "str"]


class Session(_Record):
    """One `sweep` (or `--resume`) of the folder."""

    started: str
    host: str
    executor: str | None = None
    finished: str | None = None
    runs: int | None = None
    failed: int | None = None


class Manifest(_Record):
    """manifest.json: what was swept, with what, and how far it got."""

    written_by: str = WRITTEN_BY
    folder: str = "sweep"
    format: int = FORMAT_VERSION
    experiment: ExperimentSpec
    experiment_file: str
    experiment_text: str
    hash: str
    base_scenario: dict[str, Any]
    design: DesignSummary
    parameters: list[VariedColumn]
    measures: list[str] | None
    """Summary measures kept for every run; None until the first run says what there is."""
    timeseries: list[str]
    timeseries_every: int
    provenance: dict[str, Any]
    posterior: dict[str, Any] | None = None
    """With `posterior_draws`: the posterior file and each draw (replicate r uses draw r mod N)."""
    sessions: list[Session] = []
    status: Literal["running", "complete", "interrupted"] = "running"

    @property
    def paths(self) -> list[str]:
        return [column.path for column in self.parameters]


# --- the store -------------------------------------------------------------------------------


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
        self._journal: Any = None
        self._journal_number = 0
        self._buffer: list[dict] = []

    # manifest and schema

    @property
    def manifest_path(self) -> Path:
        return self.directory / "manifest.json"

    def manifest(self) -> Manifest:
        if not self.manifest_path.is_file():
            raise SweepError(f"{self.directory}: not a sweep results folder (no manifest.json)")
        try:
            return Manifest.model_validate_json(self.manifest_path.read_bytes())
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(map(str, problem["loc"]))
            raise SweepError(
                f"{self.manifest_path}: not a manifest this culturesim reads ({where}: "
                f"{problem['msg']})"
            ) from None

    def write_manifest(self, manifest: Manifest) -> None:
        text = manifest.model_dump_json(indent=2) + "\n"
        atomic_write_bytes(self.manifest_path, text.encode())

    def create_folders(self) -> None:
        for directory in (self.runs_dir, self.timeseries_dir, self.journal_dir):
            with naming_failures(directory):
                directory.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def schema(manifest: Manifest) -> tuple[pa.Schema, pa.Schema]:
        """The runs and time-series tables' columns, fixed by the manifest."""
        runs = [pa.field(name, pa.int64()) for name in RUN_COLUMNS]
        runs += [pa.field(p.path, COLUMN_TYPES[p.kind]) for p in manifest.parameters]
        runs += [pa.field(name, pa.float64()) for name in manifest.measures or []]
        runs += [
            pa.field("status", pa.string()),
            pa.field("error", pa.string()),
            pa.field("wall_time_s", pa.float64()),
        ]
        series = [pa.field("run_id", pa.int64()), pa.field("week", pa.int64())]
        series += [pa.field(name, pa.float64()) for name in manifest.timeseries]
        return pa.schema(runs), pa.schema(series)

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

    def records_to_tables(
        self, records: list[dict], manifest: Manifest
    ) -> tuple[pa.Table, pa.Table]:
        runs_schema, series_schema = self.schema(manifest)
        runs: dict[str, list] = {name: [] for name in runs_schema.names}
        series: dict[str, list] = {name: [] for name in series_schema.names}
        for record in records:
            for name in RUN_COLUMNS + STATUS_COLUMNS:
                runs[name].append(record.get(name))
            for path in manifest.paths:
                runs[path].append(record["values"][path])
            for name in manifest.measures or []:
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

    def recover(self, manifest: Manifest) -> int:
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

    def _commit(self, number: int, records: list[dict], manifest: Manifest) -> None:
        runs, series = self.records_to_tables(records, manifest)
        name = _shard_name(number, "parquet")
        if series.num_rows:
            atomic_write_table(self.timeseries_dir / name, series)
        atomic_write_table(self.runs_dir / name, runs)  # the commit point

    @property
    def _journal_path(self) -> Path:
        return self.journal_dir / _shard_name(self._journal_number, "jsonl")

    def open_journal(self) -> None:
        numbers = [_shard_number(p) for p in self.committed_shards()]
        numbers += [_shard_number(p) for p in self.journal_dir.glob("part-*.jsonl")]
        self._journal_number = max(numbers, default=0) + 1
        with naming_failures(self._journal_path):
            self._journal = open(self._journal_path, "a", encoding="utf-8")  # noqa: SIM115
        self._buffer = []

    def append(self, *records: dict) -> None:
        """Journal finished runs: after this returns, a kill of this process cannot lose them."""
        lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        with naming_failures(self._journal_path):
            self._journal.write(lines)
            self._journal.flush()
        self._buffer.extend(records)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def commit(self, manifest: Manifest) -> None:
        """Write the journal's runs as a shard, then start a new journal."""
        if not self._buffer:
            return
        with naming_failures(self._journal_path):
            os.fsync(self._journal.fileno())
        self._commit(self._journal_number, self._buffer, manifest)
        self._journal.close()
        self._journal = None
        self._journal_path.unlink()
        self.open_journal()

    def close_journal(self) -> None:
        """Close the open journal, removing it if it holds no runs."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
            path = self._journal_path
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
