"""A run is a function of a scenario and a seed; `run_to_folder` also writes the run folder."""

from __future__ import annotations

import html
import shutil
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from culturesim.engine import interrupts
from culturesim.engine.model import CultureModel
from culturesim.engine.organisation import Organisation
from culturesim.engine.scenario import Scenario
from culturesim.files import FolderLock, naming_failures, swap_in
from culturesim.run.causal import cascade_counts, causal_measures, twin_of
from culturesim.run.memory import release_freed_memory
from culturesim.run.outputs import (
    headline_figures,
    prepare_folder,
    provenance,
    resolved_toml,
    summarise,
    write_json,
)
from culturesim.run.tables import TABLES, TableStream, read_events, write_tables

Progress = Callable[[int], None]


@dataclass(frozen=True)
class StoredTable:
    """A table a run wrote to its folder as it went (`run_to_folder`), read from there when
    first used: a whole-NHS run records about 20 million events, too many to hold."""

    path: Path

    def read(self) -> pd.DataFrame:
        return read_events(self.path) if self.path.stem == "events" else pd.read_parquet(self.path)


@dataclass(frozen=True)
class TableWhenRead:
    """A table of a finished run side by side (`simulate_replicates`) made when first read, as
    it stood when the run finished: a sweep keeps only a run's summary and time series, so its
    replicates skip making the rest."""

    make: Callable[[], pd.DataFrame]

    def read(self) -> pd.DataFrame:
        return self.make()


@dataclass(repr=False)
class RunResult:
    scenario: Scenario
    timeseries: pd.DataFrame
    events: pd.DataFrame
    episodes: pd.DataFrame
    agents: pd.DataFrame
    trusts: pd.DataFrame
    summary: dict
    model: CultureModel
    replicate: int = 0
    """Which of the model's replicates this run is (culturesim.engine.replicates): 0 alone."""

    @property
    def org(self) -> Organisation:
        """The run's organisation, posts numbered as in its tables."""
        return self.model.replicates[self.replicate].org

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if isinstance(value, StoredTable | TableWhenRead):
            value = value.read()
            setattr(self, name, value)
        return value

    def tables_in_memory(self) -> dict[str, pd.DataFrame]:
        """The run's tables that are held here (not yet written to, or read from, its folder)."""
        tables = {name: object.__getattribute__(self, name) for name in TABLES}
        return {
            name: getattr(self, name)
            for name, t in tables.items()
            if not isinstance(t, StoredTable)
        }

    def __repr__(self) -> str:
        return (
            f"<RunResult {self.scenario.name!r}, seed {self.scenario.run.seed}: "
            f"{self.summary['weeks']} weeks, {self.summary['staff_posts']:,} posts, "
            f"bullied by staff {self.summary['bullied_by_staff']:.1%}, "
            f"care quality {self.summary['care_quality']:.3f}>"
        )

    def _repr_html_(self) -> str:
        """A notebook shows a run as its headline figures, not its tables."""
        rows = "".join(
            f"<tr><td style='text-align:left'>{html.escape(label)}</td><td>{html.escape(value)}"
            "</td></tr>"
            for label, value in headline_figures(self.summary)
        )
        caption = html.escape(
            f"{self.scenario.name}, seed {self.scenario.run.seed}: "
            f"{self.summary['weeks']} weeks, {self.summary['staff_posts']:,} posts"
        )
        return f"<table><caption>{caption}</caption>{rows}</table>"


def settle(scenario: Scenario, seed: int | None = None, steps: int | None = None) -> Scenario:
    """The scenario as actually run: command-line seed and steps written into it."""
    changes = {}
    if seed is not None:
        changes["run.seed"] = seed
    if steps is not None:
        changes["run.steps"] = steps
    return scenario.with_overrides(changes, "command line") if changes else scenario


def summary_only(scenario: Scenario) -> Scenario:
    """The same run without the outputs a summary does not read (the trajectory is the same)."""
    return scenario.with_overrides(
        {"run.record_events": False, "run.figures": False, "run.snapshot_every": 0}, "internal"
    )


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    steps: int | None = None,
    progress: Progress | None = None,
    causal: bool = False,
) -> RunResult:
    """Run a scenario to its end and gather its tables and headline summary.

    With `causal`, a twin without the victimisation channel runs after it with the same seed,
    and the summary gains the causal measures of culturesim.run.causal (one pair: no interval).
    """
    scenario = settle(scenario, seed, steps)
    model = CultureModel(scenario)
    snapshots: list[pd.DataFrame] = []
    run_weeks(model, progress, snapshot=lambda: snapshots.append(model.people_frame()))
    result = result_of(model, snapshots)
    if causal:
        add_causal_measures(result, progress)
    return result


def simulate_replicates(
    scenario: Scenario,
    seeds: Sequence[int],
    steps: int | None = None,
    progress: Progress | None = None,
) -> list[RunResult]:
    """`simulate` for each seed, the runs side by side in one model (culturesim.engine.
    replicates): each result is bit for bit `simulate(scenario, seed)`'s, in less time than
    running them one by one. `progress` is called once a week, for every replicate at once."""
    scenario = settle(scenario, steps=steps)
    model = CultureModel(scenario, seeds=seeds)
    snapshots: list[list[pd.DataFrame]] = [[] for _ in model.replicates]

    def snapshot() -> None:
        for index, frames in enumerate(snapshots):
            frames.append(model.people_frame(index))

    run_weeks(model, progress, snapshot)
    return [
        result_of(model, frames, settle(scenario, seed), replicate=index, finished=True)
        for index, (seed, frames) in enumerate(zip(model.seeds, snapshots, strict=True))
    ]


def run_weeks(
    model: CultureModel,
    progress: Progress | None,
    snapshot: Callable[[], None],
    after_week: Callable[[int], None] | None = None,
) -> None:
    """Step a model through its scenario's weeks, calling `snapshot` every `run.snapshot_every`
    weeks before the last, and `after_week` with the number of weeks run after each.

    The callbacks only read the model, so a large model may record each week while the next
    begins (`CultureModel.records_alongside`); every week is recorded when this returns."""
    steps, every = model.scenario.run.steps, model.scenario.run.snapshot_every
    with quiet_empty_means(), interrupts.between_weeks():
        model.records_alongside = True
        try:
            for week in range(1, steps + 1):
                model.step()
                if every and week % every == 0 and week < steps:
                    snapshot()
                if after_week:
                    after_week(week)
                if progress:
                    progress(1)
        except BaseException:
            with suppress(Exception):  # the first error is the one to report
                model.settle_records()
            raise
        finally:
            model.records_alongside = False
        model.settle_records()


def add_causal_measures(result: RunResult, progress: Progress | None) -> None:
    """Run the twin without the victimisation channel and add the causal measures."""
    twin = simulate(summary_only(twin_of(result.scenario)), progress=progress)
    result.summary.update(causal_measures(cascade_counts(result), cascade_counts(twin)))


def result_of(
    model: CultureModel,
    snapshots: list[pd.DataFrame] = (),
    scenario: Scenario | None = None,
    replicate: int = 0,
    finished: bool = False,
) -> RunResult:
    """A model's tables and headline summary as they stand now (the weeks run so far), of its
    `replicate`'s run when it runs several side by side.

    `scenario` is the scenario to record as run (default: the model's own). A `finished`
    model's events and trusts tables are made when first read (`TableWhenRead`).
    """
    scenario = scenario or model.scenario
    recorder = model.replicates[replicate].recorder
    with quiet_empty_means():
        timeseries = recorder.timeseries()
        episodes = model.replicates[replicate].episodes_log.frame()
        agents = pd.concat([*snapshots, model.people_frame(replicate)], ignore_index=True)
        summary = summarise(timeseries, episodes, scenario)
    return RunResult(
        scenario=scenario,
        timeseries=timeseries,
        events=TableWhenRead(recorder.events_when_read()) if finished else recorder.events(),
        episodes=episodes,
        agents=agents,
        trusts=TableWhenRead(recorder.trusts_when_read()) if finished else recorder.trusts(),
        summary=summary,
        model=model,
        replicate=replicate,
    )


@contextmanager
def quiet_empty_means() -> Iterator[None]:
    """A week with no staff in post has no mean strain or climate: the model records NaN, which
    summary.json states as null with a reason; numpy's warnings about it are not for the user."""
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        yield


def default_run_folder(scenario: Scenario) -> Path:
    return Path("runs") / f"{scenario.name}-seed{scenario.run.seed}"


def write_run(
    folder: Path,
    result: RunResult,
    started: datetime,
    notes: dict | None = None,
    team_victims: pd.Series | None = None,
) -> None:
    """Write a run's tables (those not already streamed there), summary, resolved scenario,
    figures and provenance into `folder`.

    `notes` are added to provenance.json (the page records its live lever moves there);
    `team_victims` are the counts of the team heatmap (`figures.team_victims`), for a run whose
    events were streamed to the folder rather than held.
    """
    scenario = result.scenario
    in_memory = result.tables_in_memory()
    write_tables(folder, in_memory, result.org.n_posts)
    write_json(folder / "summary.json", result.summary)
    (folder / "scenario.resolved.toml").write_text(resolved_toml(scenario))
    if scenario.run.figures:
        release_freed_memory()  # what writing the tables freed, before matplotlib's share
        # matplotlib loads only where figures are drawn: sweep workers never draw them
        from culturesim.run.figures import save_run_figures, team_victims_of

        org = result.org
        team = org.team
        if team_victims is None and "events" in in_memory and len(in_memory["events"]):
            team_victims = team_victims_of(in_memory["events"], team)
        save_run_figures(
            folder / "figures",
            result.timeseries,
            result.episodes,
            team_victims,
            np.bincount(team, minlength=org.n_posts),
            scenario.name,
            scenario.observation.leaver_window_weeks,
        )
    record = provenance(scenario, started, datetime.now(UTC))
    write_json(folder / "provenance.json", {**record, **(notes or {})})


def stream_run(
    scenario: Scenario, building: Path, out: Path, progress: Progress | None
) -> tuple[RunResult, pd.Series | None]:
    """`simulate`, writing the events (every week) and agents (every snapshot) tables into
    `building`, the temporary folder of `out`, as the run goes rather than holding them.

    Returns the result, whose events and agents are read from `out` when first used, and the
    team heatmap's counts (None without figures or events), counted as the events come.
    """
    model = CultureModel(scenario)
    posts = model.org.n_posts
    events, agents = TableStream(building, "events", posts), TableStream(building, "agents", posts)
    team_victims = None
    if scenario.run.figures:
        from culturesim.run.figures import TeamVictims

        team_victims = TeamVictims(model.org.team)

    def write_week(week: int) -> None:
        columns = model.recorder.take_events()
        if columns is not None:
            events.write(columns)
            if team_victims is not None:
                team_victims.add(columns)
        if week % QUARTER_WEEKS == 0:
            release_freed_memory()

    def snapshot() -> None:
        agents.write(model.recorder.people_columns(model.people, model.week - 1))

    try:
        run_weeks(model, progress, snapshot, write_week)
        snapshot()
        agents.close()
        events.close(empty=None if model.recorder.events_taken else model.events())
        release_freed_memory()
    except BaseException:
        events.abandon()
        agents.abandon()
        raise
    with quiet_empty_means():
        timeseries = model.timeseries()
        episodes = model.episodes()
        summary = summarise(timeseries, episodes, scenario)
    result = RunResult(
        scenario=scenario,
        timeseries=timeseries,
        events=StoredTable(out / "events.parquet")
        if model.recorder.events_taken
        else model.events(),
        episodes=episodes,
        agents=StoredTable(out / "agents.parquet"),
        trusts=model.trusts(),
        summary=summary,
        model=model,
    )
    taken = team_victims is not None and model.recorder.events_taken
    return result, team_victims.counts() if taken else None


QUARTER_WEEKS = 13
"""Weeks between the run's hand-backs of freed memory (`release_freed_memory`)."""


def run_to_folder(
    scenario: Scenario,
    out: Path | None = None,
    seed: int | None = None,
    steps: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    causal: bool = False,
) -> tuple[Path, RunResult]:
    """Run a scenario and write its complete run folder; returns the folder and the result.

    The events and agents tables are streamed into the folder while it is built (it appears
    only when complete); the result reads them from the folder when they are first used.
    """
    scenario = settle(scenario, seed, steps)
    out = Path(out) if out is not None else default_run_folder(scenario)
    with FolderLock(out):
        temporary = prepare_folder(out, overwrite)
        try:
            started = datetime.now(UTC)
            result, team_victims = stream_run(scenario, temporary, out, progress)
            if causal:
                add_causal_measures(result, progress)
            with naming_failures(out):
                write_run(temporary, result, started, team_victims=team_victims)
            swap_in(temporary, out)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    return out, result
