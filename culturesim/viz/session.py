"""The page's model: a `CultureModel` that also keeps the record the page draws from.

The model keeps what the model needs; the page also wants a person's strain week by week and
every week's bullying acts, so `VizModel.step` records those after each week. It is the model
Mesa's `SolaraViz` holds: SolaraViz steps it, and its Reset builds a new one from the page's
model parameters (`VizModel(scenario=..., seed=...)`). A lock serialises stepping, lever
changes and drawing, because Play steps from a worker thread while the user keeps clicking.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import Scenario, bundled_scenarios, load_scenario
from culturesim.viz.server import SCENARIO_ENV

STRAIN_HISTORY_MAX_POSTS = 50_000
"""Above this many posts the per-person strain record (2 bytes a post a week) is not kept."""


@dataclass(frozen=True)
class LeverChange:
    """A lever moved during a run, drawn as a marker on the plots."""

    week: int
    name: str
    value: float


def offered_scenarios() -> list[str]:
    """The names the page's picker offers: the bundled scenarios and the one `viz` was given.
    Only these are ever loaded, whatever the browser sends."""
    offered = [name for name, _ in bundled_scenarios()]
    given = os.environ.get(SCENARIO_ENV)
    if given and given not in offered:
        offered.append(given)
    return offered


def parse_seed(seed: int | str | None) -> int | None:
    """The seed box's text as a seed: blank means the scenario's own seed."""
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        return None
    return int(seed)


class VizModel(CultureModel):
    """A run of a scenario plus what the page needs beyond the model's own state.

    `scenario` is a `Scenario` or what `load_scenario` takes (a bundled name or a file's
    path); `seed` may be the seed box's text, blank for the scenario's own seed.
    """

    def __init__(self, scenario: Scenario | str = "baseline", seed: int | str | None = None):
        self.lock = threading.RLock()
        if not isinstance(scenario, Scenario):
            if scenario not in offered_scenarios():
                raise ValueError(f"scenario {scenario!r} is not one the page offered")
            scenario = load_scenario(scenario)
        super().__init__(scenario, seed=parse_seed(seed))
        self.lever_log: list[LeverChange] = []
        self.acts: list[pd.DataFrame] = []
        self.keep_strain = self.org.n_posts <= STRAIN_HISTORY_MAX_POSTS
        self.strain_rows: list[np.ndarray] = []
        self.cache: dict = {}  # pictures kept from week to week (see viz.pictures.cached)

    # --- running ---------------------------------------------------------------------------

    def step(self) -> None:
        """Advance a week and record it for the person and team histories."""
        with self.lock:
            super().step()
            self._record_week()

    def _record_week(self) -> None:
        """Keep the week just stepped: everyone's strain (if small enough) and the acts.

        Rows are indexed like the model's timeseries: row t is the state after week t.
        """
        week = self.week - 1
        if self.keep_strain:
            self.strain_rows.append(self.people.strain.astype(np.float16))
        acts = pd.DataFrame({key: np.asarray(v) for key, v in self.last_acts.items()})
        acts["week"] = week
        self.acts.append(acts)

    # --- levers ----------------------------------------------------------------------------

    def set_lever(self, name: str, value: float) -> None:
        """Change a driver (or the stance) from the next step on, and note it for the plots."""
        with self.lock:
            if name == "stance":
                self.set_stance(value)
            else:
                self.set_driver(name, value)
            self._note(name, value)

    def start_programme(self, share: float, strength: float) -> None:
        """Put a share of leaders through compassionate-leadership training now."""
        with self.lock:
            self.start_leadership_programme(share, strength)
            self._note("leadership programme", share)

    def _note(self, name: str, value: float) -> None:
        """Record a lever move; repeated moves in one week (a dragged slider) keep the last."""
        if (
            self.lever_log
            and self.lever_log[-1].week == self.week
            and self.lever_log[-1].name == name
        ):
            self.lever_log.pop()
        self.lever_log.append(LeverChange(self.week, name, float(value)))

    def driver_now(self, name: str) -> float:
        return float(self.drivers_now[name])

    # --- what the page asks about ------------------------------------------------------------

    def trust_posts(self, trust: int) -> np.ndarray:
        """The posts of one trust (contiguous in the organisation's arrays)."""
        start = self.org.trust_start
        return np.arange(start[trust], start[trust + 1])

    def all_acts(self) -> pd.DataFrame:
        """Every recorded bullying act: week, perpetrator, victim, relation."""
        if not self.acts:
            return pd.DataFrame(
                {"perpetrator": [], "victim": [], "relation": [], "week": []}, dtype=np.int64
            )
        return pd.concat(self.acts, ignore_index=True)

    def worst_team(self, trust: int, weeks: int = 13) -> int:
        """The leader post whose team had the most bullying acts against it in recent weeks."""
        org = self.org
        posts = self.trust_posts(trust)
        recent = [a for a in self.acts[-weeks:] if len(a)]
        victims = (
            np.concatenate([a["victim"].to_numpy() for a in recent])
            if recent
            else np.zeros(0, dtype=np.int64)
        )
        victims = victims[(victims >= posts[0]) & (victims <= posts[-1])]
        leaders = posts[org.n_reports[posts] > 0]
        if len(victims) == 0:
            strain = self.people.strain
            team_strain = np.bincount(
                org.team[posts] - posts[0], strain[posts], minlength=len(posts)
            )[leaders - posts[0]]
            return int(leaders[np.argmax(team_strain / org.n_reports[leaders])])
        hits = np.bincount(org.team[victims] - posts[0], minlength=len(posts))
        return int(leaders[np.argmax(hits[leaders - posts[0]])])

    def most_strained(self, trust: int) -> int:
        """The occupied post in a trust with the highest strain now."""
        posts = self.trust_posts(trust)
        people = self.people
        strain = np.where(people.occupied[posts], people.strain[posts], -1.0)
        return int(posts[np.argmax(strain)])

    def history(self, members: np.ndarray, since_week: int = 0) -> pd.DataFrame:
        """Weekly mean strain of some posts, and the acts they suffered and committed.

        For one person, `since_week` is when they took the post, so a predecessor's weeks are
        not shown as theirs.
        """
        weeks = np.arange(since_week, self.week)
        frame = pd.DataFrame({"week": weeks})
        if self.keep_strain and len(weeks):
            rows = np.stack([row[members] for row in self.strain_rows[since_week:]])
            frame["strain"] = rows.astype(np.float32).mean(axis=1)
        else:
            frame["strain"] = np.nan
        acts = self.all_acts()
        acts = acts[acts["week"] >= since_week]
        for column, who in (("bullied", "victim"), ("bullied_others", "perpetrator")):
            counts = acts.loc[acts[who].isin(members), "week"].value_counts()
            frame[column] = counts.reindex(weeks, fill_value=0).to_numpy()
        return frame

    def person_history(self, post: int) -> pd.DataFrame:
        """The history of whoever holds `post` now, from the week they started."""
        tenure = int(self.people.tenure_weeks[post])
        return self.history(np.array([post]), since_week=max(0, self.week - tenure))

    def team_history(self, leader: int) -> pd.DataFrame:
        """The history of a team: its leader's reports, averaged and summed."""
        org = self.org
        start = org.first_report[leader]
        members = np.arange(start, start + org.n_reports[leader])
        return self.history(members)
