"""A run folder's events and agents are streamed to disk as the run goes (so a whole-NHS run
fits in memory), yet read back exactly as the in-memory run's tables; an interrupted run leaves
nothing behind."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from culturesim.engine.scenario import load_scenario
from culturesim.run.figures import team_victims_of
from culturesim.run.simulate import run_to_folder, simulate, write_run
from culturesim.run.tables import (
    DELTA_FROM_POSTS,
    TABLES,
    TableStream,
    read_events,
    write_tables,
)
from tests.conftest import write_tiny

WEEKS = 40  # three whole quarters and a part one
SMALL_ROW_GROUP = 64
"""Rows a streamed part waits for, lowered so a tiny run writes as it goes, as a big one does."""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("streaming")
    path = write_tiny(folder, "stream", steps=WEEKS, figures=True, snapshot_every=15)
    return load_scenario(path)


@pytest.fixture(scope="module")
def both(scenario, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The same run twice: held in memory and written in one piece (as the page exports a run),
    and streamed by `run_to_folder`."""
    held = simulate(scenario)
    held_folder = tmp_path_factory.mktemp("held")
    write_run(held_folder, held, datetime.now(UTC))
    with pytest.MonkeyPatch.context() as small_parts:
        small_parts.setattr(TableStream, "ROW_GROUP_ROWS", SMALL_ROW_GROUP)
        streamed_folder, streamed = run_to_folder(scenario, tmp_path_factory.mktemp("s") / "run")
    return held, held_folder, streamed, streamed_folder


def test_streamed_folder_holds_the_in_memory_tables_exactly(both) -> None:
    held, held_folder, _, streamed_folder = both
    row_groups = pq.ParquetFile(streamed_folder / "events.parquet").metadata.row_group(0)
    assert SMALL_ROW_GROUP <= row_groups.num_rows < 2 * SMALL_ROW_GROUP  # written as it went
    for name in TABLES:
        written_whole = pd.read_parquet(held_folder / f"{name}.parquet")
        streamed = pd.read_parquet(streamed_folder / f"{name}.parquet")
        pd.testing.assert_frame_equal(streamed, written_whole, check_exact=True)
    assert len(held.events) > 300 and sorted(set(held.agents.week)) == [14, 29, 39]
    summary = json.loads((streamed_folder / "summary.json").read_text())
    assert summary == json.loads((held_folder / "summary.json").read_text())
    assert sorted(p.name for p in (streamed_folder / "figures").iterdir()) == [
        "cascade_sizes.png",
        "dashboard.png",
        "team_heatmap.png",
    ]


def test_streamed_result_reads_the_same_tables_as_simulate(both) -> None:
    held, _, streamed, _ = both
    for name in ("timeseries", *TABLES):
        pd.testing.assert_frame_equal(
            getattr(streamed, name), getattr(held, name), check_exact=True
        )
    assert streamed.summary == held.summary
    with pytest.raises(RuntimeError, match="streamed to its run folder"):
        streamed.model.events()  # the model no longer holds them


def test_team_heatmap_counts_add_up_over_quarters(both) -> None:
    held, *_ = both
    team = held.model.org.team
    events = held.events
    quarters = [part for _, part in events.groupby(events.week // 13)]
    assert len(quarters) == 4
    by_quarter = pd.concat([team_victims_of(part, team) for part in quarters])
    pd.testing.assert_series_equal(by_quarter.sort_index(), team_victims_of(events, team))


class Interrupted(KeyboardInterrupt):
    pass


def test_interrupted_streaming_run_leaves_nothing(
    scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TableStream, "ROW_GROUP_ROWS", SMALL_ROW_GROUP)
    out = tmp_path / "run"
    weeks = []

    def interrupt(advance: int) -> None:
        weeks.append(advance)
        if len(weeks) == 20:
            partial = list(tmp_path.glob(".run.partial-*/.events.parquet.partial"))
            assert partial and partial[0].stat().st_size > 0  # the first parts are on disk
            raise Interrupted

    with pytest.raises(Interrupted):
        run_to_folder(scenario, out, progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_overwrite_keeps_the_old_folder(scenario, tmp_path: Path) -> None:
    out, _ = run_to_folder(scenario.with_overrides({"run.steps": 5}), tmp_path / "run")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def interrupt(advance: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        run_to_folder(scenario, out, overwrite=True, progress=interrupt)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_run_without_events_writes_the_empty_table(scenario, tmp_path: Path) -> None:
    quiet = scenario.with_overrides({"run.record_events": False, "run.steps": 15})
    out, result = run_to_folder(quiet, tmp_path / "streamed")
    held = simulate(quiet)
    (tmp_path / "held").mkdir()
    write_tables(tmp_path / "held", {"events": held.events}, held.org.n_posts)
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "events.parquet"), pd.read_parquet(tmp_path / "held/events.parquet")
    )
    pd.testing.assert_frame_equal(result.events, held.events)
    assert held.events.empty


def test_a_row_group_that_fails_in_the_background_fails_the_stream(tmp_path: Path) -> None:
    """Row groups are written on a thread of their own; a failure there is not lost."""
    import numpy as np

    stream = TableStream(tmp_path, "agents", posts=4)
    stream.ROW_GROUP_ROWS = 4
    stream.write({"week": np.arange(4, dtype=np.int32), "strain": np.zeros(4)})
    stream.write({"week": np.arange(4, dtype=np.int32), "strain": np.array(["x"] * 4)})
    with pytest.raises(Exception, match="strain|double|float|convert"):
        stream.close()
    stream.abandon()
    assert list(tmp_path.iterdir()) == []


def test_a_write_after_a_failed_row_group_reports_it(tmp_path: Path) -> None:
    import time

    import numpy as np

    stream = TableStream(tmp_path, "agents", posts=4)
    stream.ROW_GROUP_ROWS = 4
    stream.write({"week": np.arange(4, dtype=np.int32), "strain": np.zeros(4)})
    stream.write({"week": np.arange(4, dtype=np.int32), "strain": np.array(["x"] * 4)})
    with pytest.raises(Exception, match="strain|double|float|convert"):  # noqa: PT012
        for _ in range(500):  # the failing row group is written on the writer's thread
            time.sleep(0.01)
            stream.write({"week": np.arange(1, dtype=np.int32), "strain": np.zeros(1)})
    stream.abandon()  # raises nothing: it is the clean-up after a failure
    assert list(tmp_path.iterdir()) == []


def encodings_of(path: Path, column: str) -> tuple[str, ...]:
    metadata = pq.ParquetFile(path).metadata
    names = [metadata.schema.column(i).name for i in range(metadata.num_columns)]
    return metadata.row_group(0).column(names.index(column)).encodings


def test_integer_columns_are_delta_encoded_where_that_makes_files_smaller(both) -> None:
    """A run writes its rows in post, person or episode order, so storing the differences of
    integer columns (DELTA_BINARY_PACKED) makes episodes, agents, trusts and timeseries
    smaller at any size; a small organisation's events keep their ids as they are (they
    compress better so), written whole or streamed."""
    _, held_folder, _, streamed_folder = both
    delta = "DELTA_BINARY_PACKED"
    for folder in (held_folder, streamed_folder):
        for name, column in (
            ("episodes", "episode"),
            ("agents", "person_id"),
            ("trusts", "first_week"),
            ("timeseries", "week"),
        ):
            assert delta in encodings_of(folder / f"{name}.parquet", column), (folder, name)
        assert delta not in encodings_of(folder / "events.parquet", "perpetrator_person")


def test_a_large_organisation_stores_its_event_ids_delta_encoded(tmp_path: Path) -> None:
    """From DELTA_FROM_POSTS posts, ids are large but come in order: storing their differences
    makes the events file much smaller, written whole or streamed, with the same table."""
    scenario = load_scenario("baseline").with_overrides(
        {"organisation.staff_per_trust": 30_000, "run.steps": 26, "run.figures": False}
    )
    large = simulate(scenario, seed=1)
    posts = large.org.n_posts
    assert posts >= DELTA_FROM_POSTS and len(large.events) > 20_000
    for folder, size in (("large", posts), ("as-if-small", DELTA_FROM_POSTS - 1)):
        (tmp_path / folder).mkdir()
        write_tables(tmp_path / folder, {"events": large.events}, size)
    stream = TableStream(tmp_path, "events", posts)
    stream.ROW_GROUP_ROWS = 4_096
    for _, acts in large.events.groupby("week"):
        stream.write({name: acts[name].to_numpy() for name in acts.columns})
    stream.close()
    for path in (tmp_path / "large/events.parquet", tmp_path / "events.parquet"):
        assert "DELTA_BINARY_PACKED" in encodings_of(path, "perpetrator_person")
        assert "DELTA_BINARY_PACKED" not in encodings_of(path, "week")  # few values: a dictionary
        pd.testing.assert_frame_equal(read_events(path), large.events, check_exact=True)
    delta, plain = (tmp_path / f"{f}/events.parquet" for f in ("large", "as-if-small"))
    assert delta.stat().st_size < 0.8 * plain.stat().st_size


def test_team_heatmap_counts_each_person_bullied_by_staff_once_a_quarter(both) -> None:
    held, *_ = both
    team = held.model.org.team
    events = held.events
    by_staff = events[events.perpetrator >= 0]
    expected = (
        by_staff.assign(team=team[by_staff.victim], quarter=by_staff.week // 13)
        .groupby(["team", "quarter"])
        .victim_person.nunique()
    )
    counted = team_victims_of(events, team)
    assert counted.sum() > 100
    shuffled = events.sample(frac=1.0, random_state=3)  # the order of the events does not count
    pd.testing.assert_series_equal(team_victims_of(shuffled, team), counted)
    np.testing.assert_array_equal(
        counted.index.to_frame().to_numpy(), expected.index.to_frame().to_numpy()
    )
    np.testing.assert_array_equal(counted.to_numpy(), expected.to_numpy())
