"""The Recorder: a run's weekly measures, its events, per-trust outcomes and the tables built
from them; the Recording: a model's week recorded for every run it holds at once.

Both engines record through them, so a measure is computed one way only
(`culturesim.engine.measures`). A model of several replicates side by side (culturesim.engine.
replicates) works out a week's measures for all of them in one go (`Recording`) and keeps the
per-trust sums once for its trusts; each replicate's `Recorder` keeps its rows, its events and
makes its tables.

When a large model (threads, culturesim.engine.threads) is run by `culturesim.run.simulate`'s
loop, which changes nothing between weeks, it works out each week's measures on a thread of
their own while the next week begins (`CultureModel.records_alongside`): the first phases of a
week (interventions to behaviour) only read the people's state, and mostly on one core, so the
week's record costs almost nothing on the other (about 17 ms of a whole-NHS week, issue 11).
Whatever reads the records, a lever pulled between weeks, an intervention, and the next
week's `adaptation` phase, the first to change what the measures read (`targets` only adds
episodes and acts, which they do not read), wait for them (`settle`), so the records are the
same bit for bit. A model stepped by hand records each
week before `step` returns.
"""

from __future__ import annotations

import contextvars
import functools
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import pandas as pd

from culturesim.engine.measures import TIMESERIES_COLUMNS, Observed, record_rows
from culturesim.engine.organisation import Organisation
from culturesim.engine.rules import PUBLIC, persistent_perpetrators, persistently_bullied
from culturesim.engine.scenario import Scenario
from culturesim.engine.state import People, agents_columns
from culturesim.engine.threads import week_threads
from culturesim.engine.trusts import TrustRecord

_recording_pool: ThreadPoolExecutor | None = None


def _recording_thread() -> ThreadPoolExecutor:
    global _recording_pool
    if _recording_pool is None:
        _recording_pool = ThreadPoolExecutor(1, thread_name_prefix="culturesim-record")
    return _recording_pool


def _forget_recording_thread() -> None:
    """A forked child has no threads: it makes its own recording thread when it needs one."""
    global _recording_pool
    _recording_pool = None


os.register_at_fork(after_in_child=_forget_recording_thread)

EVENT_COLUMNS = (
    "week",
    "perpetrator",
    "victim",
    "relation",
    "perpetrator_person",
    "victim_person",
    "episode",
    "persistent",
)
WIDE_EVENT_COLUMNS = ("perpetrator_person", "victim_person", "episode")
"""Kept as int32 while a run goes (as every column of a week's events), int64 in the events
table."""
EVENT_DTYPES = {
    name: np.int64 if name in WIDE_EVENT_COLUMNS else np.int32 for name in EVENT_COLUMNS
} | {"relation": np.int8, "persistent": np.bool_}


class WeekOfEvents(NamedTuple):
    """One week's events as the week left them: its acts of bullying by staff (the columns
    of the events table, but the week) and the posts and people that suffered public
    aggression; gathered into the table's columns when the table is made or streamed. (A
    tuple of arrays, which the garbage collector stops tracking: a sweep's worker keeps
    thousands.)"""

    t: int
    acts: dict[str, np.ndarray]
    public: np.ndarray
    public_person: np.ndarray


class Recording:
    """The weekly measures of a model's runs (a run alone, or replicates side by side),
    worked out for every run at once (culturesim.engine.measures) and kept by each run's
    `Recorder` (`recorders`); the per-trust sums (`TrustRecord`) are kept once for the model's
    trusts and cut per run when a run's table is made."""

    def __init__(
        self,
        scenario: Scenario,
        org: Organisation,
        runs: list[tuple[Organisation, slice]] | None = None,
    ) -> None:
        """`runs`: each run's own organisation and where its trusts lie in `org` (default:
        `org` is one run's)."""
        runs = runs or [(org, slice(0, org.n_trusts))]
        self.recorders = [Recorder(scenario, own, self, trusts) for own, trusts in runs]
        self.trust_record = TrustRecord(scenario, org)
        self._so_far: tuple[int, TrustRecord] | None = None
        self._recording: Future | None = None
        self._window: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._window_weeks = scenario.observation.leaver_window_weeks
        self._window_sums = (
            np.zeros(len(runs), dtype=np.int64),
            np.zeros(len(runs), dtype=np.int64),
        )

    def trusts_so_far(self) -> TrustRecord:
        """The per-trust record as it stands, one copy for every run of the model
        (`TrustRecord.so_far`): the tables of runs that have finished, made later."""
        self.settle()
        weeks = len(self.trust_record.weeks)
        if self._so_far is None or self._so_far[0] != weeks:
            self._so_far = (weeks, self.trust_record.so_far())
        return self._so_far[1]

    def record_week(self, observed: Observed, alongside: bool = False) -> None:
        """Append the week's value of every weekly measure to each run's records;
        `alongside`, on the recording thread, while the caller goes on (it must not change the
        state before `settle`)."""
        self.settle()
        leavers, staff = self._window_sums
        leavers, staff = leavers + observed.leavers, staff + observed.staff
        self._window.append((observed.leavers, observed.staff))
        if len(self._window) > self._window_weeks:
            gone_leavers, gone_staff = self._window.popleft()
            leavers, staff = leavers - gone_leavers, staff - gone_staff
        self._window_sums = leavers, staff
        observed.leaver_window = (len(self._window), leavers, staff)
        if alongside:
            context = contextvars.copy_context()  # numpy's error state goes with it
            self._recording = _recording_thread().submit(context.run, self._record, observed)
        else:
            self._record(observed)

    def _record(self, observed: Observed) -> None:
        try:
            with week_threads(1):  # the week's threads are the caller's
                for recorder, row in zip(self.recorders, record_rows(observed), strict=True):
                    recorder.rows.append(row)
                self.trust_record.record(observed)
        except Exception as error:
            error.add_note(f"(while recording week {observed.t})")
            raise

    def settle(self) -> None:
        """Wait for a week being recorded alongside (raising its error, if it failed).

        The week stays pending until it is done, so every caller waits for it, even one whose
        wait was interrupted (Ctrl-C) before."""
        recording = self._recording
        if recording is None:
            return
        try:
            recording.result()
        finally:
            if recording.done() and self._recording is recording:
                self._recording = None

    def __getstate__(self) -> dict:
        """A copy (the page's branches) or pickle takes the settled records, not the thread."""
        self.settle()
        return {**self.__dict__, "_recording": None}


class Recorder:
    """Keeps one run's weekly measures (recorded by its model's `Recording`) and every act,
    and makes the run's output tables."""

    def __init__(
        self, scenario: Scenario, org: Organisation, recording: Recording, trusts: slice
    ) -> None:
        self.scenario = scenario
        self.org = org
        self.recording = recording
        self.trust_slice = trusts
        self.rows: list[dict[str, float]] = []
        self.last_acts: dict[str, np.ndarray] = {}
        self._event_chunks: list[WeekOfEvents] = []
        self._gathered: dict[str, np.ndarray] | None = None
        self.events_taken = False

    @property
    def records(self) -> list[dict[str, float]]:
        """Every recorded week's measures, one dict a week."""
        self.settle()
        return self.rows

    def settle(self) -> None:
        """Wait for a week being recorded alongside (`Recording.settle`)."""
        self.recording.settle()

    def record_acts(
        self,
        t: int,
        acts: dict[str, np.ndarray],
        public: np.ndarray,
        public_person: np.ndarray,
    ) -> None:
        """Keep this week's acts: the latest always, every one if the run records events.

        `acts` are the events table's columns but the week (`EVENT_COLUMNS`) for the week's
        acts of bullying by staff: "persistent" marks acts that make or keep their victim
        persistently bullied by this perpetrator (Eq. 16). `public` are the posts that
        suffered public aggression and `public_person` who held them; acts of public aggression
        are never persistent bullying.
        """
        self.last_acts = {name: acts[name] for name in ("perpetrator", "victim", "relation")}
        if t < 0 or not self.scenario.run.record_events:
            return
        self._event_chunks.append(WeekOfEvents(t, acts, public, public_person))

    def timeseries(self) -> pd.DataFrame:
        """One row per recorded week with every weekly measure (ints as int64, the rest as
        float64)."""
        rows = self.records
        if not rows:
            return pd.DataFrame.from_records(rows, columns=TIMESERIES_COLUMNS)
        return pd.DataFrame(
            {name: np.array([row[name] for row in rows]) for name in TIMESERIES_COLUMNS},
            copy=False,
        )

    def trusts(self) -> pd.DataFrame:
        """One row per trust and 52-week year (`culturesim.engine.trusts.TRUST_COLUMNS`)."""
        self.settle()
        return self.recording.trust_record.table(self.trust_slice, self.org)

    def trusts_when_read(self) -> Callable[[], pd.DataFrame]:
        """`trusts()` as it stands now, made when called (for a run that has finished)."""
        record = self.recording.trusts_so_far()
        return functools.partial(record.table, self.trust_slice, self.org)

    def events_when_read(self) -> Callable[[], pd.DataFrame]:
        """`events()` of the weeks recorded so far, gathered when called (for a run that has
        finished: should its model run on, the later weeks are left out)."""
        return functools.partial(_events_before, self, len(self.records))

    def events(self) -> pd.DataFrame:
        """Every bullying act and every act of public aggression (perpetrator -1) so far."""
        if self.events_taken:
            raise RuntimeError(
                "this run's events were streamed to its run folder (events.parquet): read them "
                "there"
            )
        table = self._all_events()
        if table is None:
            return pd.DataFrame(
                {
                    c: np.array([], dtype=bool if c == "persistent" else np.int64)
                    for c in EVENT_COLUMNS
                }
            )
        self._gathered = table
        return pd.DataFrame(table, copy=False)

    def take_events(self) -> dict[str, np.ndarray] | None:
        """The events recorded since the last call, as the events table's columns (None if
        there are none), forgotten here: a run that streams its events to disk calls this every
        few weeks, so they never pile up in memory (`events()` is then refused)."""
        table = self._all_events()
        if table is None:
            return None
        self.events_taken = True
        self._gathered = None
        return table

    def _all_events(self) -> dict[str, np.ndarray] | None:
        """The events gathered before and those of the weeks since, as one table."""
        if not self._event_chunks:
            return self._gathered
        new = self._gather_events()
        self._event_chunks = []
        if self._gathered is None:
            return new
        return {name: np.concatenate([self._gathered[name], new[name]]) for name in new}

    def _gather_events(self) -> dict[str, np.ndarray]:
        weeks = self._event_chunks
        table = {
            "week": np.repeat(
                np.array([w.t for w in weeks], dtype=np.int32),
                [len(w.acts["victim"]) + len(w.public) for w in weeks],
            )
        }
        longest = max(len(w.public) for w in weeks)
        nobody, never = np.full(longest, -1, dtype=np.int32), np.zeros(longest, dtype=bool)
        for name in EVENT_COLUMNS[1:]:  # one column at a time, each week's part freed once copied
            if name == "victim":
                public = [w.public for w in weeks]
            elif name == "victim_person":
                public = [w.public_person for w in weeks]
            elif name == "relation":
                public = [np.full(len(w.public), PUBLIC, dtype=np.int8) for w in weeks]
            else:
                filler = never if name == "persistent" else nobody
                public = [filler[: len(w.public)] for w in weeks]
            pieces = [piece for w, other in zip(weeks, public, strict=True)
                      for piece in (w.acts.pop(name), other)]  # fmt: skip
            table[name] = np.concatenate(pieces, dtype=EVENT_DTYPES[name])
        table["trust"] = self.org.trust[table["victim"]].astype(np.int32)
        return table

    def people_frame(self, people: People, t: int) -> pd.DataFrame:
        """Every post's current holder at week t, one row per post (vacant posts included)."""
        return pd.DataFrame(self.people_columns(people, t))

    def people_columns(self, people: People, t: int) -> dict[str, np.ndarray]:
        """The columns of `people_frame`, without the copy a DataFrame makes; none of them is
        a view of the live state (the organisation's levels never change)."""
        org = self.org
        survey = self.scenario.observation.survey_weeks
        persistent = people.occupied & persistently_bullied(
            people.source_weeks, self.scenario.persistence
        )
        return {
            "week": np.full(org.n_posts, t, dtype=np.int32),
            "post": np.arange(org.n_posts, dtype=np.int32),
            "trust": org.trust.astype(np.int32),
            "level": org.level,
            "manager": org.manager.astype(np.int32),
            "team": org.team.astype(np.int32),
            **agents_columns(people),
            "bullied_last_year": (t - people.bullied_week) < survey,
            "bullied_others_last_year": (t - people.bullied_others_week) < survey,
            "persistently_bullied": persistent,
            "persistent_perpetrator": people.occupied
            & persistent_perpetrators(people.person_id, people.source_person, persistent),
        }


def _events_before(recorder: Recorder, weeks: int) -> pd.DataFrame:
    """A recorder's events of its first `weeks` recorded weeks."""
    events = recorder.events()
    if len(events) and events["week"].iloc[-1] >= weeks:  # the model ran on
        return events[events["week"] < weeks].reset_index(drop=True)
    return events
