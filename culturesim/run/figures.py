"""Figures of one run for the run folder: dashboard, cascade sizes, teams heatmap.

Drawn on `matplotlib.figure.Figure` objects, never through pyplot, so importing culturesim
leaves the user's matplotlib backend (a notebook's inline one, say) as it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from culturesim.engine.cascades import recorded_cascades, size_ccdf
from culturesim.engine.measures import WEEKLY, measure

DASHBOARD_PANELS = (
    (
        "Negative acts in the last 12 months (share of staff)",
        ("bullied_by_public", "bullied_by_colleagues", "bullied_by_managers"),
    ),
    (
        "Persistent bullying and perpetrators (share of staff)",
        ("persistent_bullied", "perpetrators_last_year", "persistent_perpetrators"),
    ),
    ("Compassion climate and strain", ("compassion_climate", "mean_strain")),
    ("Workforce", ("leaver_rate", "vacancy_rate")),
    ("Care quality", ("care_quality",)),
    ("Harm events a week", ("harm_events", "expected_harm")),
    ("Cascade reproduction number R", ("reproduction_number",)),
    ("Drivers", ("regulator_pressure", "funding", "demand", "stance")),
)
"""Panels of the dashboard: a title and weekly measures (labels from the measure registry)."""


LINE_STYLES = ("-", "--", ":", "-.")
"""One style per line of a panel, so lines that coincide (drivers held at 1) all show."""


def dashboard(timeseries: pd.DataFrame, title: str, leaver_window: int = 1) -> Figure:
    """The main time series, one panel per question a reader asks of a run.

    The leaver rate is a trailing rate over `leaver_window` weeks, annualised: it is drawn
    from the week its window is full, not from a week or two of leavers scaled up to a year.
    """
    figure = Figure(figsize=(20, 8), layout="constrained")
    axes = figure.subplots(2, 4, sharex=True)
    for axis, (panel_title, columns) in zip(axes.flat, DASHBOARD_PANELS, strict=True):
        for column, style in zip(columns, LINE_STYLES, strict=False):
            label, values = measure(column, WEEKLY).label, timeseries[column]
            if column == "leaver_rate" and leaver_window > 1:
                values = values.where(timeseries.week >= leaver_window - 1)
                label += f" (trailing {leaver_window} weeks)"
            axis.plot(timeseries.week, values, label=label, linestyle=style, linewidth=1.6)
        axis.set_title(panel_title, fontsize=10)
        axis.legend(fontsize=8, loc="best")
        axis.grid(alpha=0.3)
        if "reproduction_number" in columns:
            axis.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    for axis in axes[1]:
        axis.set_xlabel("week")
    figure.suptitle(title)
    return figure


def cascade_ccdf(episodes: pd.DataFrame, title: str) -> Figure:
    """Cascade size distribution as a complementary CDF on log-log axes."""
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    axis = figure.subplots()
    sizes = recorded_cascades(episodes)["size"].to_numpy()
    if len(sizes):
        values, _, share = size_ccdf(sizes)
        axis.loglog(values, share, marker="o", linestyle="-", markersize=4)
    axis.set_xlabel("cascade size (perpetrator episodes)")
    axis.set_ylabel("share of cascades of at least this size")
    axis.set_title(f"{title}: {len(sizes)} cascades", fontsize=10)
    axis.grid(alpha=0.3, which="both")
    return figure


QUARTER_WEEKS = 13


def team_victims_of(events: pd.DataFrame | dict[str, np.ndarray], team: np.ndarray) -> pd.Series:
    """Distinct people bullied by staff in each (team, quarter), indexed by team and quarter,
    from events of whole quarters (so the counts of separate parts of a run's events add up)."""
    counter = TeamVictims(team)
    counter.add(events)
    return counter.counts()


class TeamVictims:
    """The team heatmap's counts (`team_victims_of`) kept as a run's events come, a week or more
    at a time (each `add` after the last one's weeks, as a run makes them), without holding them.

    A person is bullied in one team (their post's: a person id is never moved to another post),
    so each person is counted once a quarter, when first seen in it: a table of the quarter each
    person id was last counted in (4 bytes a person) and the teams of those newly counted. A
    whole-NHS run held a quarter's events for this (tens of MB) and sorted them, about 1.6 s a
    run (issue 11).
    """

    def __init__(self, team: np.ndarray) -> None:
        self.team = team
        self._counted_in = np.zeros(0, dtype=np.int32)  # quarter + 1; 0: never counted
        self._teams: dict[int, list[np.ndarray]] = {}
        self._quarter_dtype: np.dtype = np.dtype(np.int64)

    def add(self, events: pd.DataFrame | dict[str, np.ndarray]) -> None:
        from culturesim.engine.sums import first_of_each  # numba: compiled on first use

        staff = np.asarray(events["perpetrator"]) >= 0
        person = np.asarray(events["victim_person"])[staff]
        post = np.asarray(events["victim"])[staff]
        quarter = np.asarray(events["week"])[staff] // QUARTER_WEEKS
        self._quarter_dtype = quarter.dtype
        if not len(person):
            return
        if (np.diff(quarter) < 0).any():  # events out of week order: each quarter's together
            order = np.argsort(quarter, kind="stable")
            person, post, quarter = person[order], post[order], quarter[order]
        if person.max() >= len(self._counted_in):
            grown = np.zeros(max(int(person.max()) + 1, 2 * len(self._counted_in)), np.int32)
            grown[: len(self._counted_in)] = self._counted_in
            self._counted_in = grown
        starts = np.flatnonzero(np.diff(quarter, prepend=quarter[0] - 1))
        for start, end in zip(starts, [*starts[1:], len(quarter)], strict=True):
            q, people = int(quarter[start]), person[start:end]
            first = first_of_each(people)
            new = first[self._counted_in[people[first]] != q + 1]
            self._counted_in[people[new]] = q + 1
            self._teams.setdefault(q, []).append(self.team[post[start:end][new]])

    def counts(self) -> pd.Series:
        """Victims per (team, quarter), sorted by team then quarter."""
        teams, quarters, victims = [], [], []
        for q, parts in self._teams.items():
            present, count = np.unique(np.concatenate(parts), return_counts=True)
            teams.append(present)
            quarters.append(np.full(len(present), q, dtype=self._quarter_dtype))
            victims.append(count)
        if not teams:
            teams, quarters, victims = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [[]]
        team, quarter = np.concatenate(teams).astype(np.int64), np.concatenate(quarters)
        order = np.lexsort((quarter, team))
        index = pd.MultiIndex.from_arrays(
            [team[order], quarter[order].astype(self._quarter_dtype)], names=["team", "quarter"]
        )
        return pd.Series(np.concatenate(victims).astype(np.int64)[order], index=index)


def team_heatmap(
    team_victims: pd.Series, team_size: np.ndarray, steps: int, limit: int = 60
) -> Figure:
    """Share of each team bullied by staff per quarter, for the teams with most bullying."""
    share = _most_bullied_teams(team_victims, team_size, max(1, -(-steps // QUARTER_WEEKS)), limit)
    figure = Figure(figsize=(10, max(3, 0.16 * len(share) + 1.5)), layout="constrained")
    axis = figure.subplots()
    image = axis.imshow(
        share.to_numpy(), aspect="auto", cmap="magma_r", vmin=0, interpolation="nearest"
    )
    axis.set_yticks(range(len(share)), [f"team {t}" for t in share.index], fontsize=6)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel(f"quarter of the run ({QUARTER_WEEKS} weeks, from 0)")
    axis.set_title(
        f"Share of team bullied by staff, per quarter ({len(share)} teams with most)", fontsize=10
    )
    figure.colorbar(image, ax=axis, label="share of team bullied")
    return figure


def _most_bullied_teams(
    team_victims: pd.Series, team_size: np.ndarray, quarters: int, limit: int
) -> pd.DataFrame:
    """Share of each team bullied per quarter (rows: the `limit` teams with the highest mean
    share, highest first, ties by team; columns: quarters), without a table of every team (a
    whole-NHS run has about 100,000 bullied teams)."""
    teams = team_victims.index.get_level_values("team").to_numpy()
    quarter = team_victims.index.get_level_values("quarter").to_numpy()
    share = np.minimum(team_victims.to_numpy() / team_size[teams], 1)
    present, row = np.unique(teams, return_inverse=True)
    mean = np.bincount(row, weights=share, minlength=len(present)) / quarters
    chosen = np.lexsort((present, -mean))[:limit]
    table = np.zeros((len(chosen), quarters))
    position = np.full(len(present), -1)
    position[chosen] = np.arange(len(chosen))
    shown = (position[row] >= 0) & (quarter < quarters)
    table[position[row][shown], quarter[shown]] = share[shown]
    return pd.DataFrame(table, index=pd.Index(present[chosen], name="team"))


def save_run_figures(
    folder: Path,
    timeseries: pd.DataFrame,
    episodes: pd.DataFrame,
    team_victims: pd.Series | None,
    team_size: np.ndarray,
    title: str,
    leaver_window: int = 1,
) -> list[Path]:
    """Draw and save every figure of a run; returns their paths (no team heatmap without
    `team_victims`, the counts of `team_victims_of`)."""
    folder.mkdir(exist_ok=True)
    drawn = {
        "dashboard.png": dashboard(timeseries, title, leaver_window),
        "cascade_sizes.png": cascade_ccdf(episodes, title),
    }
    if team_victims is not None:
        drawn["team_heatmap.png"] = team_heatmap(team_victims, team_size, len(timeseries))
    paths = []
    for name, figure in drawn.items():
        figure.savefig(folder / name, dpi=110)
        paths.append(folder / name)
    return paths
