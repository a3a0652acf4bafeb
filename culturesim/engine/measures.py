"""The measures a run records, each declared once: name, label, unit, kind and aggregation.

Weekly measures are the columns of `timeseries.parquet`, in order, each with the function that
computes it from what the week observed (`Observed`); both engines record through it, so their
measures cannot drift. Summary measures are the numeric headline figures of `summary.json`
(computed by `culturesim.run.outputs.summarise`). Figures, the page's plots, sweep outputs,
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
    persistent_perpetrators,
    persistently_bullied,
)
from culturesim.engine.scenario import DRIVER_RANGES, Scenario
from culturesim.engine.state import COMPASSIONATE, People

WEEKLY, SUMMARY = "weekly", "summary"


@dataclass
class Observed:
    """What a recorded week saw: the committed state and the week's own values.

    `bullies`, `victim`, `relation`: this week's acts (posts and relation codes); `board`: each
    trust's board pressure (Eq. 14); `harm`: harm events per trust; `recent_leavers` and
    `recent_staff`: the leaver window kept by the recorder; `leaving`: posts whose holder left
    this week, `removed`: chief executives' posts the regulator emptied; `rated_quality`: each
    trust's rating if the regulator rated this week, else None; `agency_share`: share of posts
    covered by bank and agency staff (Eq. 2a); `special_measures`: trusts in special measures
    after this week's rating, `special_measures_entries`: trusts that entered this week (Eq. 13a).
    """

    t: int
    scenario: Scenario
    org: Organisation
    people: People
    drivers: dict[str, float]
    board: np.ndarray
    workload: np.ndarray
    bullies: np.ndarray
    victim: np.ndarray
    relation: np.ndarray
    leavers: int
    ceo_exits: int
    trust_quality: np.ndarray
    harm: np.ndarray
    expected_harm: np.ndarray
    new_episodes: int
    conversions: int
    reproduction_number: float
    agency_share: float = 0.0
    special_measures: int = 0
    special_measures_entries: int = 0
    recent_leavers: Any = ()
    recent_staff: Any = ()
    leaving: Any = None
    removed: Any = None
    rated_quality: Any = None

    def __post_init__(self) -> None:
        self.staff = int(np.count_nonzero(self.people.occupied))
        self._persistent: np.ndarray | None = None
        self._acts_by: np.ndarray | None = None

    def in_survey(self, weeks: np.ndarray) -> float:
        """Share of staff in post with this happening in the survey's look-back."""
        from culturesim.engine.sums import count_after  # numba: compiled on first use

        since = self.t - self.scenario.observation.survey_weeks
        return count_after(self.people.occupied, weeks, since) / max(self.staff, 1)

    def share_of_staff(self, mask: np.ndarray) -> float:
        """Share of staff in post that `mask` marks (NaN with nobody in post): the mean of the
        mask over staff, counted rather than summed, to the same bits."""
        marked = np.count_nonzero(self.people.occupied & mask)
        return marked / self.staff if self.staff else float("nan")

    def staff_mean(self, values: np.ndarray) -> float:
        """Mean over staff in post (NaN with nobody in post): `mean` without its overhead,
        the same sum and division, so the same bits."""
        if not self.staff:
            return float("nan")
        return float(values[self.people.occupied].sum() / self.staff)

    def acts_by(self, relation: int) -> int:
        """This week's acts of one relation (rules.MANAGER_TO_REPORT, ...), counted once."""
        if self._acts_by is None:
            self._acts_by = np.bincount(np.asarray(self.relation, dtype=np.intp), minlength=3)
        return int(self._acts_by[relation])

    def persistent(self) -> np.ndarray:
        """Who is persistently bullied now (Eq. 16), among staff in post (worked out once)."""
        if self._persistent is None:
            p = self.people
            self._persistent = p.occupied & persistently_bullied(
                p.source_weeks, self.scenario.persistence
            )
        return self._persistent

    def persistent_perpetrators(self) -> np.ndarray:
        """Staff in post who are the counted source of someone persistently bullied."""
        p = self.people
        return p.occupied & persistent_perpetrators(p.person_id, p.source_person, self.persistent())


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


def _mean(values: np.ndarray) -> float:
    """`np.mean` of a float array without its overhead: the same sum and division."""
    return float(values.sum() / len(values))


def _leaders_trained(o: Observed) -> float:
    leaders = o.org.is_leader & o.people.occupied
    trained = np.count_nonzero(o.people.trained & leaders)
    return float(trained) / max(np.count_nonzero(leaders), 1)


def _leaver_rate(o: Observed) -> float:
    weeks = len(o.recent_leavers)
    mean_staff = sum(o.recent_staff) / len(o.recent_staff)  # whole numbers: an exact sum
    return sum(o.recent_leavers) / max(mean_staff, 1) * 52 / weeks


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
            lambda o: _mean(o.board)),
    _weekly("staff", "staff in post", "people", "count", lambda o: o.staff),
    _weekly("vacancy_rate", "vacancy rate", "share", "share of posts vacant",
            lambda o: 1 - o.staff / o.org.n_posts),
    _weekly("bullied_by_public", "bullied by patients/public", "share", PREVALENCE,
            lambda o: o.in_survey(o.people.aggressed_week)),
    _weekly("bullied_by_colleagues", "bullied by colleagues", "share", PREVALENCE,
            lambda o: o.in_survey(o.people.bullied_by_colleague_week)),
    _weekly("bullied_by_managers", "bullied by managers", "share", PREVALENCE,
            lambda o: o.in_survey(o.people.bullied_by_manager_week)),
    _weekly("bullied_by_staff", "bullied by any staff", "share", PREVALENCE,
            lambda o: o.in_survey(o.people.bullied_week)),
    _weekly("persistent_bullied", "persistently bullied", "share", PERSISTENT,
            lambda o: np.count_nonzero(o.persistent()) / max(o.staff, 1)),
    _weekly("perpetrators_last_year", "perpetrators (any act)", "share",
            "share of staff in post who bullied someone at least once in the survey's look-back",
            lambda o: o.in_survey(o.people.bullied_others_week)),
    _weekly("persistent_perpetrators", "persistent perpetrators", "share",
            "share of staff in post who are the counted source of someone persistently bullied",
            lambda o: np.count_nonzero(o.persistent_perpetrators()) / max(o.staff, 1)),
    _weekly("bullying_acts", "bullying acts", "acts", "count this week", lambda o: len(o.victim)),
    _weekly("acts_by_managers", "acts by managers", "acts", "count this week",
            lambda o: o.acts_by(MANAGER_TO_REPORT)),
    _weekly("acts_by_colleagues", "acts by colleagues", "acts", "count this week",
            lambda o: o.acts_by(COLLEAGUE)),
    _weekly("acts_by_reports", "acts by reports", "acts", "count this week",
            lambda o: o.acts_by(REPORT_TO_MANAGER)),
    _weekly("perpetrators", "perpetrators", "people", "count this week", lambda o: len(o.bullies)),
    _weekly("compassion_climate", "compassion climate", "share",
            "share of staff in post acting compassionately this week",
            lambda o: o.share_of_staff(o.people.behaviour == COMPASSIONATE)),
    _weekly("compassion_disposition", "compassion disposition", "0-1", "mean over staff in post",
            lambda o: o.staff_mean(o.people.compassion)),
    _weekly("mean_strain", "mean strain", "0-1", "mean over staff in post",
            lambda o: o.staff_mean(o.people.strain)),
    _weekly("mean_workload", "mean workload", "relative", "mean over staff in post (Eq. 2)",
            lambda o: o.staff_mean(o.workload)),
    _weekly("leavers", "leavers", "people", "count this week", lambda o: o.leavers),
    _weekly("leaver_rate", "leaver rate", "per year",
            "leavers over mean staff in the leaver window, annualised", _leaver_rate),
    _weekly("ceo_exits", "chief-executive exits", "people", "count this week (removals included)",
            lambda o: o.ceo_exits),
    _weekly("ceos_in_post", "chief executives in post", "people", "count",
            lambda o: np.count_nonzero(o.people.occupied[o.org.trust_start[:-1]])),
    _weekly("leaders_trained", "leaders trained", "share",
            "share of leaders in post trained (0 with none in post)", _leaders_trained),
    _weekly("agency_share", "bank and agency cover", "share",
            "share of posts covered by bank and agency staff (Eq. 2a)", lambda o: o.agency_share),
    _weekly("special_measures", "trusts in special measures", "trusts",
            "count after this week's rating (Eq. 13a)", lambda o: o.special_measures),
    _weekly("special_measures_entries", "special measures entries", "trusts",
            "count this week (Eq. 13a)", lambda o: o.special_measures_entries),
    _weekly("care_quality", "care quality", "0-1", "mean over trusts (Eq. 10)",
            lambda o: _mean(o.trust_quality)),
    _weekly("harm_events", "harm events", "events", "count this week",
            lambda o: int(o.harm.sum())),
    _weekly("expected_harm", "expected harm events", "events",
            "sum over trusts at the reference quality (Eq. 10b)",
            lambda o: float(o.expected_harm.sum())),
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


def record_row(observed: Observed) -> dict[str, float]:
    """One week's value of every weekly measure."""
    return {m.name: m.of(observed) for m in WEEKLY_MEASURES}
