"""The measures a run records, each declared once: name, label, unit, kind and aggregation.

Weekly measures are the columns of `timeseries.parquet`, in order, each with the function that
computes it from what the week observed (`Observed`); both engines record through it, so their
measures cannot drift. A model of several runs side by side (culturesim.engine.replicates)
observes them all at once: each measure gives one value per run, the same bits as the run's
alone, from one compiled tally of the model's arrays (culturesim.engine.tallies). Summary
measures are the numeric headline figures of `summary.json` (computed by
`culturesim.run.outputs.summarise`). Figures, the page's plots, sweep outputs,
analysis and the CLI summary take their names and labels from here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from culturesim.engine.organisation import Organisation
from culturesim.engine.rules import (
    COLLEAGUE,
    MANAGER_TO_REPORT,
    REPORT_TO_MANAGER,
    persistently_bullied,
)
from culturesim.engine.scenario import DRIVER_RANGES, Scenario
from culturesim.engine.state import COMPASSIONATE, People
from culturesim.engine.tallies import tally

WEEKLY, SUMMARY = "weekly", "summary"


@dataclass
class Runs:
    """Where each run of a model lies: a run alone, or replicates side by side (culturesim.
    engine.replicates). Run i's posts are `posts[i]:posts[i + 1]` of the model's and its trusts
    `trusts[i]:trusts[i + 1]`."""

    posts: np.ndarray
    trusts: np.ndarray

    def __post_init__(self) -> None:
        self.posts_each = self.posts[1:] - self.posts[:-1]
        self.trusts_each = self.trusts[1:] - self.trusts[:-1]
        self.trusts_alike = bool((self.trusts_each == self.trusts_each[0]).all())

    @classmethod
    def alone(cls, org: Organisation) -> Runs:
        return cls(np.array([0, org.n_posts]), np.array([0, org.n_trusts]))

    def __len__(self) -> int:
        return len(self.posts) - 1

    def per_trust_sum(self, values: np.ndarray) -> np.ndarray:
        """Each run's sum of a value per trust, as a run's own `sum` makes it (so a float sum
        has the same bits as the run's alone)."""
        values = np.asarray(values)
        if self.trusts_alike:  # a row per run: each row is summed as a run's own array
            return values.reshape(len(self), -1).sum(axis=1)
        edges = self.trusts
        return np.array([values[a:b].sum() for a, b in zip(edges[:-1], edges[1:], strict=True)])

    def per_trust_dot(self, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Each run's `np.dot` of a value per trust with a weight per trust (with one trust a
        run, each is a single product: the same bits without a call a run)."""
        if self.trusts_alike and self.trusts_each[0] == 1:
            return values * weights
        edges = self.trusts
        return np.array(
            [np.dot(values[a:b], weights[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        )

    def per_post_count(self, posts: np.ndarray) -> np.ndarray:
        """How many of these posts (sorted) lie in each run."""
        if len(self) == 1:
            return np.array([len(posts)])
        at = np.searchsorted(posts, self.posts)
        return at[1:] - at[:-1]


@dataclass
class Observed:
    """What a recorded week saw, for each run of the model at once: the committed state and
    the week's own values. Every measure is worked out for all runs in one pass over the
    model's arrays and comes back as one value per run (`Runs`), each the same bits as the
    run's own alone.

    Post-, trust- and act-valued arrays are the model's (posts numbered in the model);
    `bullies`, `victim`, `relation`: this week's acts, ordered by run; `board`: each trust's
    board pressure (Eq. 14); `harm`: harm events per trust; `leaving`: posts whose holder left
    this week (sorted), `removed`: chief executives' posts the regulator emptied (sorted);
    `rated_quality`: each trust's rating if the regulator rated this week, else None. What
    each engine counts its own way comes as one value per run: `leavers`, `ceo_exits`,
    `new_episodes`, `conversions`, `reproduction_number`, `agency_share` (share of posts
    covered by bank and agency staff, Eq. 2a), `special_measures` (trusts in special measures
    after this week's rating) and `special_measures_entries` (trusts that entered this week,
    Eq. 13a). `leaver_window` is kept by the recording: how many weeks it holds, and each run's
    leavers and staff summed over them (whole numbers: exact sums).
    """

    t: int
    scenario: Scenario
    org: Organisation
    people: People
    runs: Runs
    drivers: dict[str, float]
    board: np.ndarray
    workload: np.ndarray
    bullies: np.ndarray
    victim: np.ndarray
    relation: np.ndarray
    leavers: np.ndarray
    ceo_exits: np.ndarray
    trust_quality: np.ndarray
    harm: np.ndarray
    expected_harm: np.ndarray
    new_episodes: np.ndarray
    conversions: np.ndarray
    reproduction_number: np.ndarray
    agency_share: np.ndarray
    special_measures: np.ndarray
    special_measures_entries: np.ndarray
    leaving: Any = None
    removed: Any = None
    rated_quality: Any = None
    leaver_window: Any = None

    def __post_init__(self) -> None:
        p = self.people
        self.acts_each = self.runs.per_post_count(self.bullies)
        self.persistent = p.occupied & persistently_bullied(
            p.source_weeks, self.scenario.persistence
        )
        self.tally = tally(
            self.runs.posts,
            p.occupied,
            {name: getattr(p, name) for name in SURVEYED},
            self.t - self.scenario.observation.survey_weeks,
            dict(
                zip(
                    MARKED,
                    (
                        p.behaviour == COMPASSIONATE,
                        self.persistent,
                        self.org.is_leader,
                        self.org.is_leader & p.trained,
                    ),
                    strict=True,
                )
            ),
            dict(zip(AVERAGED, (p.compassion, p.strain, self.workload), strict=True)),
            p.person_id,
            p.source_person,
            self.persistent,
        )
        self.staff = self.tally.staff
        self._per_staff = self._of_staff = self.tally.per_staff
        if not self.staff.all():  # a share or mean of nobody is NaN
            self._of_staff = self._per_staff.copy()
            self._of_staff[self.staff == 0] = np.nan
        self._acts_by: np.ndarray | None = None

    def per_staff(self, name: str) -> np.ndarray:
        """A count of the week's tally per run as a share of its staff in post (0 with nobody
        in post): for a `SURVEYED` week, the share with that happening in the survey's
        look-back."""
        return self._per_staff[:, self.tally.columns[name]]

    def of_staff(self, name: str) -> np.ndarray:
        """The same for a `MARKED` share or an `AVERAGED` mean, but NaN with nobody in post
        (the sum and division of `values[occupied].mean()`, so the same bits)."""
        return self._of_staff[:, self.tally.columns[name]]

    def per_trust_mean(self, values: np.ndarray) -> np.ndarray:
        """Each run's mean of a value per trust (the same sum and division as `np.mean`)."""
        return self.runs.per_trust_sum(values) / self.runs.trusts_each

    def acts_by(self, relation: int) -> np.ndarray:
        """This week's acts of one relation (rules.MANAGER_TO_REPORT, ...), counted once."""
        if self._acts_by is None:
            run = np.repeat(np.arange(len(self.runs)), self.acts_each)
            codes = run * 3 + np.asarray(self.relation, dtype=np.intp)
            self._acts_by = np.bincount(codes, minlength=3 * len(self.runs)).reshape(-1, 3)
        return self._acts_by[:, relation]


SURVEYED = (
    "aggressed_week",
    "bullied_by_colleague_week",
    "bullied_by_manager_week",
    "bullied_week",
    "bullied_others_week",
)
"""The people's weeks of something (the last week it happened) a weekly measure looks back on
over the survey's look-back."""
MARKED = ("compassionate", "persistent", "leaders", "trained leaders")
"""Staff in post the week's tally counts (`Observed.__post_init__` says who each marks)."""
AVERAGED = ("compassion", "strain", "workload")
"""What the week's tally sums over staff in post, for the staff means."""


@dataclass(frozen=True)
class Measure:
    """One recorded measure; `how` says how it is aggregated (over people, weeks or runs)."""

    name: str
    label: str
    unit: str
    kind: str
    how: str
    of: Callable[[Observed], float] | None = None


def _weekly(name: str, label: str, unit: str, how: str, of: Callable) -> Measure:
    return Measure(name, label, unit, WEEKLY, how, of)


def _summary(name: str, label: str, unit: str, how: str) -> Measure:
    return Measure(name, label, unit, SUMMARY, how)


def _leaders_trained(o: Observed) -> np.ndarray:
    return o.tally.count("trained leaders") / np.maximum(o.tally.count("leaders"), 1)


def _leaver_rate(o: Observed) -> np.ndarray:
    weeks, leavers, staff = o.leaver_window
    return leavers / np.maximum(staff / weeks, 1) * 52 / weeks


def _driver(name: str) -> Callable[[Observed], float]:
    return lambda o: o.drivers[name]


DRIVER_LABELS = {
    "regulator_pressure": "regulator pressure",
    "funding": "funding relative to demand",
    "demand": "demand",
    "public_aggression": "public aggression",
}
PREVALENCE = "share of staff in post bullied at least once in the survey's look-back"
PERSISTENT = (
    "share of staff in post with acts from one source in at least persistence.min_weeks of "
    "the last persistence.window_weeks weeks"
)

MEASURES: tuple[Measure, ...] = (
    _weekly("week", "week", "week", "week of the run (0 is the first recorded)", lambda o: o.t),
    *(
        _weekly(name, DRIVER_LABELS[name], "relative", "driver value this week", _driver(name))
        for name in DRIVER_RANGES
    ),
    _weekly("stance", "regulator stance", "0-1", "this week", _driver("stance")),
    _weekly("board_pressure", "board pressure", "relative", "mean over trusts (Eq. 14)",
            lambda o: o.per_trust_mean(o.board)),
    _weekly("staff", "staff in post", "people", "count", lambda o: o.staff),
    _weekly("vacancy_rate", "vacancy rate", "share", "share of posts vacant",
            lambda o: 1 - o.staff / o.runs.posts_each),
    _weekly("bullied_by_public", "bullied by patients/public", "share", PREVALENCE,
            lambda o: o.per_staff("aggressed_week")),
    _weekly("bullied_by_colleagues", "bullied by colleagues", "share", PREVALENCE,
            lambda o: o.per_staff("bullied_by_colleague_week")),
    _weekly("bullied_by_managers", "bullied by managers", "share", PREVALENCE,
            lambda o: o.per_staff("bullied_by_manager_week")),
    _weekly("bullied_by_staff", "bullied by any staff", "share", PREVALENCE,
            lambda o: o.per_staff("bullied_week")),
    _weekly("persistent_bullied", "persistently bullied", "share", PERSISTENT,
            lambda o: o.per_staff("persistent")),
    _weekly("perpetrators_last_year", "perpetrators (any act)", "share",
            "share of staff in post who bullied someone at least once in the survey's look-back",
            lambda o: o.per_staff("bullied_others_week")),
    _weekly("persistent_perpetrators", "persistent perpetrators", "share",
            "share of staff in post who are the counted source of someone persistently bullied",
            lambda o: o.per_staff("sources")),
    _weekly("bullying_acts", "bullying acts", "acts", "count this week", lambda o: o.acts_each),
    _weekly("acts_by_managers", "acts by managers", "acts", "count this week",
            lambda o: o.acts_by(MANAGER_TO_REPORT)),
    _weekly("acts_by_colleagues", "acts by colleagues", "acts", "count this week",
            lambda o: o.acts_by(COLLEAGUE)),
    _weekly("acts_by_reports", "acts by reports", "acts", "count this week",
            lambda o: o.acts_by(REPORT_TO_MANAGER)),
    _weekly("perpetrators", "perpetrators", "people", "count this week (one act a bully)",
            lambda o: o.acts_each),
    _weekly("compassion_climate", "compassion climate", "share",
            "share of staff in post acting compassionately this week",
            lambda o: o.of_staff("compassionate")),
    _weekly("compassion_disposition", "compassion disposition", "0-1", "mean over staff in post",
            lambda o: o.of_staff("compassion")),
    _weekly("mean_strain", "mean strain", "0-1", "mean over staff in post",
            lambda o: o.of_staff("strain")),
    _weekly("mean_workload", "mean workload", "relative", "mean over staff in post (Eq. 2)",
            lambda o: o.of_staff("workload")),
    _weekly("leavers", "leavers", "people", "count this week", lambda o: o.leavers),
    _weekly("leaver_rate", "leaver rate", "per year",
            "leavers over mean staff in the leaver window, annualised", _leaver_rate),
    _weekly("ceo_exits", "chief-executive exits", "people", "count this week (removals included)",
            lambda o: o.ceo_exits),
    _weekly("ceos_in_post", "chief executives in post", "people", "count",
            lambda o: o.runs.per_trust_sum(o.people.occupied[o.org.trust_start[:-1]])),
    _weekly("leaders_trained", "leaders trained", "share",
            "share of leaders in post trained (0 with none in post)", _leaders_trained),
    _weekly("agency_share", "bank and agency cover", "share",
            "share of posts covered by bank and agency staff (Eq. 2a)", lambda o: o.agency_share),
    _weekly("special_measures", "trusts in special measures", "trusts",
            "count after this week's rating (Eq. 13a)", lambda o: o.special_measures),
    _weekly("special_measures_entries", "special measures entries", "trusts",
            "count this week (Eq. 13a)", lambda o: o.special_measures_entries),
    _weekly("care_quality", "care quality", "0-1", "mean over trusts (Eq. 10)",
            lambda o: o.per_trust_mean(o.trust_quality)),
    _weekly("harm_events", "harm events", "events", "count this week",
            lambda o: o.runs.per_trust_sum(o.harm).astype(np.int64)),
    _weekly("expected_harm", "expected harm events", "events",
            "sum over trusts at the reference quality (Eq. 10b)",
            lambda o: o.runs.per_trust_sum(o.expected_harm).astype(float)),
    _weekly("new_episodes", "new perpetrator episodes", "episodes", "count this week",
            lambda o: o.new_episodes),
    _weekly("conversions", "conversions", "episodes", "count this week", lambda o: o.conversions),
    _weekly("reproduction_number", "R (renewal estimate)", "conversions per episode",
            "conversions in the last W weeks over episodes begun in the W weeks before",
            lambda o: o.reproduction_number),
    _summary("weeks", "weeks recorded", "weeks", "count"),
    _summary("staff_posts", "posts", "posts", "at the end"),
    _summary("bullied_by_public", "bullied in last 12 months, by patients/public", "share",
             "final week"),
    _summary("bullied_by_colleagues", "bullied in last 12 months, by colleagues", "share",
             "final week"),
    _summary("bullied_by_managers", "bullied in last 12 months, by managers", "share",
             "final week"),
    _summary("bullied_by_staff", "bullied in last 12 months, by any staff", "share",
             "final week"),
    _summary("perpetrator_share", "staff bullying in a week (last year)", "share",
             "mean over the last 52 weeks of perpetrators / staff in post"),
    _summary("persistent_bullied", "persistently bullied (acts from one source, ~weekly, "
             "6 months)", "share", "final week"),
    _summary("perpetrators_last_year", "perpetrators of any act in the last 12 months", "share",
             "final week"),
    _summary("persistent_perpetrators", "persistent perpetrators", "share", "final week"),
    _summary("compassion_climate", "compassion climate (share of compassionate acts)", "share",
             "mean of the last 52 weeks"),
    _summary("mean_strain", "mean strain", "0-1", "mean of the last 52 weeks"),
    _summary("leaver_rate", "leaver rate per year", "share a year",
             "mean over full years of leavers / mean staff (can exceed 1)"),
    _summary("vacancy_rate", "vacancy rate", "share", "mean over full years"),
    _summary("ceo_exits", "chief-executive exits", "people", "sum over weeks"),
    _summary("ceo_years_in_post", "chief-executive years in post", "years", "sum over weeks / 52"),
    _summary("ceo_median_tenure_years", "chief executive median tenure", "years",
             "ln 2 x years in post / exits (none without exits)"),
    _summary("agency_share", "bank and agency cover (share of posts)", "share",
             "mean over full years"),
    _summary("special_measures_entries", "special measures entries", "trusts", "sum over weeks"),
    _summary("special_measures_years", "trust-years in special measures", "years",
             "sum over weeks / 52"),
    _summary("care_quality", "care quality (last year, 0-1)", "0-1", "mean of the last 52 weeks"),
    _summary("care_quality_min", "lowest weekly care quality", "0-1", "minimum over weeks"),
    _summary("harm_events", "harm events", "events", "sum over weeks"),
    _summary("harm_ratio", "harm ratio (observed / expected, an SMR)", "ratio",
             "harm events / expected harm over the last 52 weeks"),
    _summary("harm_per_1000_staff_year", "harm events per 1,000 staff a year", "per 1,000 a year",
             "sum over weeks / staff-years"),
    _summary("bullying_acts_per_1000_staff_year", "bullying acts per 1,000 staff a year",
             "per 1,000 a year", "sum over weeks / staff-years"),
    _summary("cascades", "cascades", "cascades", "rooted in the recorded weeks"),
    _summary("cascade_mean_size", "mean cascade size", "episodes", "mean over cascades"),
    _summary("cascade_max_size", "largest cascade", "episodes", "maximum over cascades"),
    _summary("cascade_max_depth", "deepest cascade", "generations", "maximum over cascades"),
    _summary("conversions", "conversions (bullied became bullies)", "episodes",
             "sum over the recorded weeks"),
    _summary("perpetrator_episodes", "perpetrator episodes", "episodes",
             "sum over the recorded weeks"),
    _summary("reproduction_number", "reproduction number R", "conversions per episode",
             "mean over episodes begun before the last W weeks"),
)  # fmt: skip
"""Every recorded measure; weekly ones in the order of timeseries.parquet's columns."""

WEEKLY_MEASURES = tuple(m for m in MEASURES if m.kind == WEEKLY)
HEADLINE_MEASURES = tuple(m for m in MEASURES if m.kind == SUMMARY)
TIMESERIES_COLUMNS = tuple(m.name for m in WEEKLY_MEASURES)
"""The columns of timeseries.parquet, in order (ODD 7.14)."""
SUMMARY_MEASURES = tuple(m.name for m in HEADLINE_MEASURES)
"""The numeric headline measures of summary.json, those a sweep can keep for every run."""
OUTCOME_MEASURES = tuple(m for m in SUMMARY_MEASURES if m not in ("weeks", "staff_posts"))
"""The outcomes `compare` and `--posterior` report: every headline measure but the run's size."""
SERIES_MEASURES = tuple(name for name in TIMESERIES_COLUMNS if name != "week")
"""The weekly measures a sweep can keep (every column but the week)."""


def measure(name: str, kind: str = SUMMARY) -> Measure:
    """The declaration of a measure by name (summary first, then weekly, unless `kind`)."""
    found = {m.name: m for m in MEASURES if m.kind == kind}
    if name in found:
        return found[name]
    other = {m.name: m for m in MEASURES if m.kind != kind}
    if name in other:
        return other[name]
    raise KeyError(f"unknown measure {name!r}{did_you_mean(name, [m.name for m in MEASURES])}")


def label(name: str, kind: str = SUMMARY) -> str:
    return measure(name, kind).label


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    """'; did you mean X?' for the closest known name, else '; one of: ...'."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; one of: {', '.join(known)}"


def record_rows(observed: Observed) -> list[dict[str, float]]:
    """One week's value of every weekly measure, a row for each run (`Observed.runs`): whole
    numbers as ints, the rest as floats."""
    runs = len(observed.runs)
    columns = []
    for m in WEEKLY_MEASURES:
        value = m.of(observed)  # one per run, or one for all
        columns.append(value.tolist() if isinstance(value, np.ndarray) else [value] * runs)
    return [dict(zip(TIMESERIES_COLUMNS, row, strict=True)) for row in zip(*columns, strict=True)]
