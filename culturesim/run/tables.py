"""The tables of a run folder: written whole, or a part at a time while the run goes.

Parquet files, read back exactly as the run's tables (`TableStream`, `write_tables`); the events'
relation is stored as labels (`RELATION_LABELS`) and read back as codes (`read_events`).
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from culturesim.engine import rules
from culturesim.files import naming_failures

TABLES = ("timeseries", "events", "episodes", "agents", "trusts")
RELATION_LABELS = {
    rules.MANAGER_TO_REPORT: "manager",
    rules.COLLEAGUE: "colleague",
    rules.REPORT_TO_MANAGER: "report",
    rules.PUBLIC: "public",
}
"""An act's relation, by its code in the engine: who the perpetrator is to the victim."""
RELATION_CATEGORIES = [RELATION_LABELS[code] for code in range(len(RELATION_LABELS))]
"""The labels in code order: the categories of the events' relation column."""


EVENTS_DICTIONARY = ("week", "relation", "trust")
"""The events table's columns with few distinct values, which its Parquet file dictionary-encodes.
Encoding its ids (people, episodes, posts) in dictionaries made them as long as the column, then
fell back to plain storage: it tripled the time to write a row group (44 ms against 14 ms for
262,144 rows) for a file 10% larger (issue 11)."""


DELTA_FROM_POSTS = 20_000
"""Organisations from which the events' ids are stored delta-encoded (`parquet_encodings`).

A run writes its rows in post, person or episode order, so neighbouring values are close and
their differences pack into a few bits. The events' ids (perpetrator, victim, people,
episode) jump about more, and below about 2^15 compress as well as they are: measured on the
events of 104-week runs, delta-encoded against as before, 1.19x the size at 10,000 posts, 0.71x
at 30,000, 0.47x at 100,000. A whole-NHS run's `events.parquet` went from 592 to 306 MB,
written in the same time (issue 11, session 9)."""


def parquet_encodings(table: str, schema: Any, posts: int) -> dict[str, Any]:
    """How the Parquet writer stores each column of this table, for an organisation of
    `posts` posts (its keyword arguments). The tables read back the same whichever it is.

    Integer columns are delta-encoded: in the episodes, agents, trusts and timeseries tables
    at every size (104-week runs with four snapshots: episodes 0.47x the size and agents 0.88x
    at 2,000 posts, 0.36x and 0.82x at 12,000), in the events from `DELTA_FROM_POSTS` posts,
    except their few-valued columns (`EVENTS_DICTIONARY`), which are dictionary-encoded. Every
    other column of the other tables is dictionary-encoded, as Arrow does by default.
    """
    import pyarrow as pa

    def few_valued(name: str) -> bool:
        return table == "events" and name in EVENTS_DICTIONARY

    delta_ids = table != "events" or posts >= DELTA_FROM_POSTS
    delta = [
        field.name
        for field in schema
        if delta_ids and pa.types.is_integer(field.type) and not few_valued(field.name)
    ]
    dictionary = [
        field.name
        for field in schema
        if field.name not in delta and (table != "events" or few_valued(field.name))
    ]
    return {
        "use_dictionary": dictionary,
        "column_encoding": dict.fromkeys(delta, "DELTA_BINARY_PACKED") or None,
    }


def write_tables(folder: Path, tables: dict[str, pd.DataFrame], posts: int) -> None:
    """Write each table whole to `NAME.parquet` (`posts`: the organisation's size)."""
    import pyarrow as pa

    for name, table in tables.items():
        if name == "events":
            table = table.assign(relation=relation_labels(table["relation"]))
        schema = pa.Schema.from_pandas(table, preserve_index=False)
        table.to_parquet(
            folder / f"{name}.parquet", index=False, **parquet_encodings(name, schema, posts)
        )


class TableStream:
    """A table of a run folder written a part at a time, while the run goes, so the whole table
    is never in memory: parts are gathered into row groups of at least `ROW_GROUP_ROWS` rows, in
    a hidden file renamed to `NAME.parquet` by `close` (the folder is itself a temporary one
    until the run is complete).

    The file's schema is the one pandas gives the table written in one piece (`write_tables`),
    so it reads back exactly as that table would; the parts go to Arrow without pandas copies.
    Row groups are kept to about a quarter of a million rows, so the parts waiting to be written
    stay small (see `parquet_encodings` for how each column is stored). A row group is encoded
    and written on a thread of its own while the run goes on (Arrow works without the
    interpreter lock): a whole-NHS run makes about 130,000 events a week, and writing them
    cost a fifth of a week (issue 11). One row group at a time is in flight, in order, so the
    file is the same. A failed write is raised by the next `write` or by `close`; `abandon`,
    the clean-up after a failure, raises nothing.
    """

    ROW_GROUP_ROWS = 1 << 18

    def __init__(self, folder: Path, name: str, posts: int) -> None:
        self.path = folder / f"{name}.parquet"
        self.name = name
        self.posts = posts
        self.rows = 0
        self._partial = folder / f".{name}.parquet.partial"
        self._writer: Any = None
        self._schema: Any = None
        self._pending: list[dict[str, np.ndarray]] = []
        self._pending_rows = 0
        self._writing: Future | None = None
        self._thread: ThreadPoolExecutor | None = None

    def write(self, columns: dict[str, np.ndarray]) -> None:
        """Add rows: the table's columns, as numpy arrays that nothing changes afterwards (they
        are written later, on the writer's thread; pass copies of live state)."""
        if self._writing is not None and self._writing.done():
            self._wait()  # a row group that failed is reported now, not at the end
        self._pending.append(dict(columns))
        self._pending_rows += len(next(iter(columns.values())))
        if self._pending_rows >= self.ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._pending:
            return
        self._wait()
        parts, self._pending, self._pending_rows = self._pending, [], 0
        if self._writer is None:
            empty = pd.DataFrame({name: values[:0] for name, values in parts[0].items()})
            if self.name == "events":
                empty["relation"] = relation_labels(empty["relation"])
            self._schema = pa.Schema.from_pandas(empty, preserve_index=False)
            with naming_failures(self.path):
                self._writer = pq.ParquetWriter(
                    self._partial,
                    self._schema,
                    **parquet_encodings(self.name, self._schema, self.posts),
                )
        self.rows += sum(len(next(iter(part.values()))) for part in parts)
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"culturesim-{self.name}")
        self._writing = self._thread.submit(self._write_row_group, parts)

    def _write_row_group(self, parts: list[dict[str, np.ndarray]]) -> None:
        import pyarrow as pa

        arrays = []
        for name in list(parts[0]):
            pieces = [part.pop(name) for part in parts]
            values = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
            if name == "relation" and self.name == "events":
                arrays.append(self._labelled(values, self._schema.field(name).type))
            else:
                arrays.append(pa.array(values))
        with naming_failures(self.path):
            self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        pa.default_memory_pool().release_unused()  # Arrow's allocator would keep the pages

    def _wait(self) -> None:
        """Let the row group in flight finish (raising its error, if it failed)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    @staticmethod
    def _labelled(codes: np.ndarray, kind: Any) -> Any:
        """Relation codes as the dictionary column `relation_labels` makes."""
        import pyarrow as pa

        return pa.DictionaryArray.from_arrays(
            pa.array(codes, type=kind.index_type),
            pa.array(RELATION_CATEGORIES, type=kind.value_type),
        )

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    def close(self, empty: pd.DataFrame | None = None) -> None:
        """Finish the file (or, if no rows came, write `empty` as the whole table)."""
        self._flush()
        self._wait()
        self._stop_thread()
        if self._writer is None:
            if empty is not None:
                write_tables(self.path.parent, {self.name: empty}, self.posts)
            return
        with naming_failures(self.path):
            self._writer.close()
            self._writer = None
            os.replace(self._partial, self.path)

    def abandon(self) -> None:
        """Drop the table (the clean-up after a failure: it raises nothing of its own)."""
        self._pending = []
        with contextlib.suppress(Exception):
            self._wait()
        self._stop_thread()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self._partial.unlink(missing_ok=True)


def read_events(path: Path) -> pd.DataFrame:
    """An events.parquet file as `CultureModel.events()` gives the table (relation as codes)."""
    events = pd.read_parquet(path)
    if isinstance(events["relation"].dtype, pd.CategoricalDtype):
        events["relation"] = events["relation"].cat.codes
    return events


def relation_labels(codes: pd.Series) -> pd.Categorical:
    """The events' relation codes as a categorical (a Parquet dictionary column), so any reader
    sees `manager`, `colleague`, `report` or `public` rather than 0-3."""
    return pd.Categorical.from_codes(codes.to_numpy(), categories=RELATION_CATEGORIES)
