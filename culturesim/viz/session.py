"""The page's run: a `VizModel` (the model plus what the page records), and a `Session` that
holds it and, after "Branch here", its twin.

The model keeps what the model needs; the page also wants a person's strain week by week, so
`VizModel.step` records that after each week. Bullying acts come from the model's own
`events()`. A branch is a deep copy of the running model, its per-mechanism random generators
(`model.rng_streams`) included, so both arms draw the same random numbers from the branch week
on (common random numbers): until a lever moves on one arm, the two stay identical, and any
difference after is caused by that move. A lock serialises stepping, lever changes and drawing,
because Play steps from a worker thread while the user keeps clicking.
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from culturesim.engine.cascades import largest_cascade
from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import Scenario, bundled_scenarios, load_scenario
from culturesim.engine.state import BULLYING
from culturesim.viz.server import SCENARIO_ENV

STRAIN_HISTORY_MAX_POSTS = 50_000
"""Above this many posts the per-person strain record (2 bytes a post a week) is not kept."""
MAIN, BRANCH = "main run", "branch"
"""The two arms' names, as the page shows them."""
PUBLIC_PERPETRATOR = -1
"""`events()` marks an act of public aggression with perpetrator -1."""
PROGRAMME = "leadership programme"
"""The lever log's name for a compassionate-leadership programme started live."""


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
    """A run of a scenario plus the strain record and lever moves the page draws.

    `scenario` is a `Scenario` or what `load_scenario` takes (a bundled name or a file's
    path); `seed` may be the seed box's text, blank for the scenario's own seed.
    """

    def __init__(self, scenario: Scenario | str = "baseline", seed: int | str | None = None):
        if not isinstance(scenario, Scenario):
            if scenario not in offered_scenarios():
                raise ValueError(f"scenario {scenario!r} is not one the page offered")
            scenario = load_scenario(scenario)
        super().__init__(scenario, seed=parse_seed(seed))
        self.lever_log: list[LeverChange] = []
        self.keep_strain = self.org.n_posts <= STRAIN_HISTORY_MAX_POSTS
        self.strain_rows: list[np.ndarray] = []

    def step(self) -> None:
        """Advance a week and keep everyone's strain (row t is the state after week t)."""
        super().step()
        if self.keep_strain:
            self.strain_rows.append(self.people.strain.astype(np.float16))

    def twin(self) -> VizModel:
        """An exact copy, random generators included: the start of a branch."""
        return copy.deepcopy(self)

    # --- levers ----------------------------------------------------------------------------

    def set_lever(self, name: str, value: float) -> None:
        """Change a driver (or the stance) from the next step on, and note it for the plots."""
        if name == "stance":
            self.set_stance(value)
        else:
            self.set_driver(name, value)
        self._note(name, value)

    def start_programme(self, share: float, strength: float) -> None:
        """Put a share of leaders through compassionate-leadership training now."""
        self.start_leadership_programme(share, strength)
        self._note(PROGRAMME, share)

    def _note(self, name: str, value: float) -> None:
        """Record a lever move; repeated moves of a slider in one week (a drag) keep the last.
        Each programme is kept: training twice trains twice."""
        last = self.lever_log[-1] if self.lever_log else None
        if last and last.week == self.week and last.name == name != PROGRAMME:
            self.lever_log.pop()
        self.lever_log.append(LeverChange(self.week, name, float(value)))

    def driver_now(self, name: str) -> float:
        return float(self.drivers_now[name])

    # --- what the page asks about ------------------------------------------------------------

    def trust_posts(self, trust: int) -> np.ndarray:
        """The posts of one trust (contiguous in the organisation's arrays)."""
        start = self.org.trust_start
        return np.arange(start[trust], start[trust + 1])

    def staff_acts(self) -> pd.DataFrame:
        """Every recorded act of bullying by staff (public aggression left out)."""
        events = self.events()
        return events[events["perpetrator"] != PUBLIC_PERPETRATOR]

    def live_cascade(self) -> pd.DataFrame:
        """The episodes of the largest cascade still growing."""
        window = self.scenario.cascades.conversion_window_weeks
        return largest_cascade(self.episodes(), window)

    def worst_team(self, trust: int, weeks: int = 13) -> int:
        """The leader post whose team had the most bullying acts against it in recent weeks."""
        org = self.org
        posts = self.trust_posts(trust)
        acts = self.staff_acts()
        victims = acts.loc[acts["week"] >= self.week - weeks, "victim"].to_numpy()
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

    def most_strained(self, posts: np.ndarray) -> int:
        """The occupied post among `posts` with the highest strain now."""
        people = self.people
        strain = np.where(people.occupied[posts], people.strain[posts], -1.0)
        return int(posts[np.argmax(strain)])

    def bullying_share(self, posts: np.ndarray) -> float:
        """Share of the occupied posts among `posts` whose holder is bullying this week."""
        occupied = self.people.occupied[posts]
        if not occupied.any():
            return 0.0
        return float((self.people.behaviour[posts][occupied] == BULLYING).mean())

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
        acts = self.staff_acts()
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


class Session:
    """What one browser tab is running: the main arm and, once branched, its twin.

    Both arms advance together on every step; a lever moves only the arm it is applied to.
    `cache` keeps pictures from week to week (see `viz.pictures.cached`); `replicates` holds the
    replicate pairs of the branch (`viz.replicates.ReplicatePairs`), once started.
    """

    def __init__(self, main: VizModel) -> None:
        self.main = main
        self.branch: VizModel | None = None
        self.branch_week: int | None = None
        self.lock = threading.RLock()
        self.cache: dict = {}
        self.replicates = None

    @property
    def week(self) -> int:
        return self.main.week

    def arms(self) -> list[tuple[str, VizModel]]:
        """The arms now running, main first."""
        arms = [(MAIN, self.main)]
        if self.branch is not None:
            arms.append((BRANCH, self.branch))
        return arms

    def arm(self, name: str) -> VizModel:
        """The model of an arm by its name (the main run if there is no branch)."""
        return self.branch if name == BRANCH and self.branch is not None else self.main

    def step(self) -> None:
        """Advance every arm one week."""
        with self.lock:
            for _, model in self.arms():
                model.step()

    def branch_here(self) -> None:
        """Fork the main run now into a twin with common random numbers (replacing any branch)."""
        with self.lock:
            self.stop_replicates()
            self.branch = self.main.twin()
            self.branch_week = self.main.week

    def drop_branch(self) -> None:
        with self.lock:
            self.stop_replicates()
            self.branch = None
            self.branch_week = None

    def stop_replicates(self) -> None:
        """Forget the replicate pairs, cancelling those not yet run."""
        if self.replicates is not None:
            self.replicates.cancel()
            self.replicates = None
