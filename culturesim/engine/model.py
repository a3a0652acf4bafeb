"""CultureModel: a thin mesa.Model that walks the phases of a week.

The people's state lives in numpy arrays (culturesim.engine.state); each person is also a Mesa
agent (`Person`) whose attributes read those arrays, so Mesa tools and user code can inspect
individuals. Above `EAGER_AGENT_LIMIT` posts the agents are made on demand (`model.person`).

A week (one step) is the ordered phases of `culturesim.engine.phases.PHASES`
(`print(model.phases)` lists them; `culturesim.engine.week.time_phases` times them); the
measures, events and tables are kept by a `Recorder` (culturesim.engine.recorder).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from culturesim.engine import interrupts, rules
from culturesim.engine.cascades import EpisodeLog, largest_cascade
from culturesim.engine.measures import (
    TIMESERIES_COLUMNS,  # noqa: F401  (re-exported)
    Runs,
)
from culturesim.engine.mesa_tools import RecordedMeasures, model_scenario
from culturesim.engine.organisation import (
    PATIENT_FACING_FROM,
    build_organisation,
    draw_trust_effects,
)
from culturesim.engine.phases import PHASES
from culturesim.engine.recorder import Recorder, Recording
from culturesim.engine.replicates import (
    STREAMS,  # noqa: F401  (re-exported)
    Replicate,
    spawn_streams,
    stack_organisations,
    stack_people,
    uniform,
)
from culturesim.engine.scenario import DRIVER_RANGES, Scenario, ScenarioError, Shock
from culturesim.engine.state import People, PostsView, initial_people, reset_person
from culturesim.engine.threads import default_threads
from culturesim.engine.week import Loop, Week

EAGER_AGENT_LIMIT = 50_000


def shocked_drivers(shock: Shock, week: int, overrides: dict[str, float]) -> dict[str, float]:
    """The drivers a temporary shock holds this week (none outside it; live overrides win)."""
    if not 0 <= week < shock.weeks:
        return {}
    held = {"regulator_pressure": shock.regulator_pressure, "funding": shock.funding}
    return {name: value for name, value in held.items() if name not in overrides}


class Person(mesa.Agent):
    """The holder of one post, read from the model's arrays (a view, not a copy)."""

    def __init__(self, model: CultureModel, post: int) -> None:
        super().__init__(model)
        self.post = post

    def __getattr__(self, name: str) -> Any:
        people = self.__dict__.get("model").people if "model" in self.__dict__ else None
        if people is not None and hasattr(people, name):
            return getattr(people, name)[self.post].item()
        raise AttributeError(name)

    @property
    def level(self) -> str:
        return self.model.org.level_names[self.model.org.level[self.post]]

    @property
    def trust(self) -> int:
        return int(self.model.org.trust[self.post])

    @property
    def manager(self) -> int:
        return int(self.model.org.manager[self.post])

    def __repr__(self) -> str:
        return f"Person(post={self.post}, level={self.level}, strain={self.strain:.2f})"


class CultureModel(mesa.Model):
    """One run of the culture model: `CultureModel(scenario, seed).step()` advances a week.

    `scenario` is a `Scenario` or a bundled scenario's name or a file's path; other keywords
    are dotted-path settings (`**{"drivers.funding.value": 0.8}`), validated like a file. The
    seed rule and what Mesa's `batch_run` reads are in `culturesim.engine.mesa_tools`.
    `running` turns False after the scenario's last week (`run.steps`). With `seeds=[...]` the
    model runs one replicate per seed side by side (culturesim.engine.replicates): the same
    outputs for each as its run alone, each kept in `model.replicates[i]`.
    """

    phases: Loop = PHASES

    def __init__(
        self,
        scenario: Scenario | str | Path = "baseline",
        seed: int | None = None,
        burn_in: bool = True,
        seeds: Sequence[int] | None = None,
        **settings: Any,
    ) -> None:
        if seeds is not None:
            seeds = [int(s) for s in seeds]
            if not seeds:
                raise ValueError("seeds: give at least one")
            if seed is not None and seed != seeds[0]:
                raise ValueError(f"seed = {seed} and seeds = {seeds}: give one or the other")
            seed = seeds[0]
        scenario, seed = model_scenario(scenario, seed, settings)
        default_threads()  # a bad CULTURESIM_THREADS is refused now, not after the build
        super().__init__(seed=seed)
        self.scenario = scenario
        self.seed = seed
        with interrupts.between_weeks():  # numba compiles its kernels in the first weeks
            self._build(scenario, seed, seeds or [seed], burn_in)
        if self.org.n_posts <= EAGER_AGENT_LIMIT and len(self.replicates) == 1:
            for post in range(self.org.n_posts):
                self.person(post)

    def _build(self, scenario: Scenario, seed: int, seeds: Sequence[int], burn_in: bool) -> None:
        """The organisation, people and trust state, then the burn-in weeks."""
        self.replicates = self._build_replicates(seeds)
        self._start_with_settled_vacancies()

        n_trusts = self.org.n_trusts
        self.trust_case_mix = self.org.trust_case_mix
        self.extra_pressure = np.zeros(n_trusts)
        self.extra_support = np.zeros(n_trusts)
        self.special_measures = np.zeros(n_trusts, dtype=bool)
        self.special_measures_weeks = np.zeros(n_trusts, dtype=np.int64)
        self.inadequate_ratings = np.zeros(n_trusts, dtype=np.int64)
        self.trust_quality = np.ones(n_trusts)
        self.quality_since_rating = np.zeros(n_trusts)
        self.weeks_since_rating = 0
        self.stance = scenario.regulator.stance
        self.funding_factor = 1.0
        self.overrides: dict[str, float] = {}
        self.driver_schedules = {
            name: getattr(scenario.drivers, name).values(scenario.run.steps + 1)
            for name in DRIVER_RANGES
        }
        self.records_alongside = False
        """Whether a large model may record a week while the next begins (culturesim.engine.
        recorder): set by `culturesim.run.simulate.run_weeks`, whose loop changes nothing
        between weeks, and off for a model stepped by hand."""
        if len(self.replicates) == 1:
            self.datacollector = RecordedMeasures(self.recorder, seed)
        self.week = -scenario.run.burn_in_weeks if burn_in else 0
        self._agents_by_post: dict[int, Person] = {}
        while self.week < 0:
            self._advance()

    def _build_replicates(self, seeds: Sequence[int]) -> list[Replicate]:
        """Each seed's streams, organisation and people, side by side in the model's `org`
        and `people` (culturesim.engine.replicates); one seed is an ordinary run."""
        s = self.scenario
        built = []
        for seed in seeds:
            streams = spawn_streams(seed)
            org = draw_trust_effects(
                build_organisation(s.organisation, streams["organisation"]),
                s.trust_effects,
                streams["trusts"],
            )
            built.append((seed, streams, org, initial_people(s, org, streams["traits"])))
        orgs = [org for _, _, org, _ in built]
        self.org = stack_organisations(orgs)
        self.people = stack_people([people for *_, people in built], orgs)
        posts = np.cumsum([0, *(org.n_posts for org in orgs)])
        trusts = np.cumsum([0, *(org.n_trusts for org in orgs)])
        self.runs = Runs(posts, trusts)
        """Where each replicate's posts and trusts lie in the model's."""
        self.recording = Recording(
            s,
            self.org,
            [
                (org, slice(int(a), int(b)))
                for org, a, b in zip(orgs, trusts[:-1], trusts[1:], strict=True)
            ],
        )
        return [
            Replicate(
                seed,
                streams,
                org,
                slice(int(posts[i]), int(posts[i + 1])),
                slice(int(trusts[i]), int(trusts[i + 1])),
                self.recording.recorders[i],
                EpisodeLog(s.cascades.conversion_window_weeks),
                next_person_id=org.n_posts,
            )
            for i, (seed, streams, org, _) in enumerate(built)
        ]

    @property
    def seeds(self) -> tuple[int, ...]:
        """The replicates' seeds (culturesim.engine.replicates): one for an ordinary run."""
        return tuple(replicate.seed for replicate in self.replicates)

    def _only(self) -> Replicate:
        if len(self.replicates) > 1:
            raise AttributeError(
                f"this model runs {len(self.replicates)} replicates side by side: each has its "
                "own streams, recorder and episodes (model.replicates[i])"
            )
        return self.replicates[0]

    @property
    def rng_streams(self) -> dict[str, np.random.Generator]:
        """The run's random streams, one per mechanism (culturesim.engine.replicates.STREAMS)."""
        return self._only().streams

    @property
    def recorder(self) -> Recorder:
        return self._only().recorder

    @property
    def episodes_log(self) -> EpisodeLog:
        return self._only().episodes_log

    def people_of(self, replicate: Replicate) -> People | PostsView:
        """A replicate's people: views of the model's arrays at its posts (made when read)."""
        if len(self.replicates) == 1:
            return self.people
        return PostsView(self.people, replicate.posts)

    def uniform(self, stream: str, posts: np.ndarray | None = None, times: int = 1) -> np.ndarray:
        """A uniform number for every post (or each of the sorted `posts`), each replicate's
        from its own `stream`; with `times`, a row for each of that many draws in turn."""
        every = self.org.n_posts if posts is None else posts
        return uniform(self.replicates, stream, every, times)

    def settle_records(self) -> None:
        """Wait for every week being recorded alongside (culturesim.engine.recorder)."""
        self.recording.settle()

    def _start_with_settled_vacancies(self) -> None:
        """Leave posts empty with the steady-state chance h / (h + q) of a resting workforce.

        h is the weekly leaving chance at resting strain, q the hiring chance at funding 1, so
        the run does not spend its first year filling up an unrealistically full establishment.
        """
        p, s = self.people, self.scenario
        leaving = rules.leave_probability(
            p.strain,
            np.zeros(self.org.n_posts),
            np.zeros(self.org.n_posts),
            self.org.level == 0,
            s.turnover,
            self.org.leaving_shift,
        )
        hiring = rules.hiring_probability(
            self.hiring_base_rate(), np.ones(1), np.zeros(1), s.turnover
        )
        empty = self.uniform("turnover") < leaving / (leaving + hiring)
        reset_person(p, np.flatnonzero(empty), s)

    def aggression_exposure(self) -> np.ndarray:
        """Each post's exposure to patient and public aggression (Eq. 4): 1 where patient
        facing, `aggression.non_patient_facing_exposure` elsewhere (worked out each week
        rather than kept: 11 MB at 1.4 million posts)."""
        return np.where(
            self.org.level >= PATIENT_FACING_FROM,
            1.0,
            self.scenario.aggression.non_patient_facing_exposure,
        )

    def hiring_base_rate(self, posts: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Weekly chance of filling each vacant post (of `posts`) at funding 1: executives' own
        rate, other staff's scaled by their trust's hiring effect (Eq. 12)."""
        org, turnover = self.org, self.scenario.turnover
        return np.where(
            org.level[posts] <= 1,
            turnover.executive_hiring_rate,
            turnover.weekly_hiring_rate * org.trust_hiring[org.trust[posts]],
        )

    # --- inspecting people ---------------------------------------------------------------

    def person(self, post: int) -> Person:
        """The Mesa agent for a post, created on first use."""
        if not 0 <= post < self.org.n_posts:
            raise IndexError(f"post {post} is outside 0..{self.org.n_posts - 1}")
        if post not in self._agents_by_post:
            self._agents_by_post[post] = Person(self, post)
        return self._agents_by_post[post]

    # --- levers --------------------------------------------------------------------------

    @property
    def drivers_now(self) -> dict[str, float]:
        """Each driver's value this week (after live overrides), and the regulator's stance."""
        week = min(max(self.week, 0), self.scenario.run.steps)
        values = {
            name: self.overrides.get(name, float(schedule[min(week, len(schedule) - 1)]))
            for name, schedule in self.driver_schedules.items()
        }
        if "funding" not in self.overrides:
            values["funding"] *= self.funding_factor
        values.update(shocked_drivers(self.scenario.shock, self.week, self.overrides))
        values["stance"] = self.stance
        return values

    def set_driver(self, name: str, value: float) -> None:
        """Hold a driver at a value from the next step on (a live 'what if').

        The value is held as given: later scheduled changes, funding changes included, no
        longer apply to that driver.
        """
        if name not in DRIVER_RANGES:
            raise ScenarioError(f"unknown driver '{name}'; drivers: {', '.join(DRIVER_RANGES)}")
        lo, hi = DRIVER_RANGES[name]
        if not lo <= value <= hi:
            raise ScenarioError(f"driver {name} = {value}: must be from {lo} to {hi}")
        self.overrides[name] = float(value)

    def set_stance(self, stance: float) -> None:
        if not 0 <= stance <= 1:
            raise ScenarioError(f"regulator stance = {stance}: must be from 0 to 1")
        self.stance = float(stance)

    def start_leadership_programme(self, share: float, strength: float) -> int:
        """Train a random share of current leaders; returns how many were trained."""
        p = self.people
        self.settle_records()  # last week's measures read who is trained and compassion
        leaders = np.flatnonzero(self.org.is_leader & p.occupied & ~p.trained)
        chosen = leaders[self.uniform("interventions", leaders) < share]
        p.trained[chosen] = True
        p.compassion[chosen] += strength * (1 - p.compassion[chosen])
        return len(chosen)

    # --- the week ------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one week and record it; after the scenario's last week, stop `running`."""
        self._advance()
        if self.week >= self.scenario.run.steps:
            self.running = False

    def _advance(self) -> None:
        interrupts.check()
        week = Week(self.week)
        for phase in self.phases:
            phase(self, week)
        self.week += 1

    # --- outputs -------------------------------------------------------------------------

    @property
    def records(self) -> list[dict[str, float]]:
        return self.recorder.records

    @property
    def last_acts(self) -> dict[str, np.ndarray]:
        """Last week's bullying acts: perpetrator, victim and relation arrays."""
        return self.recorder.last_acts

    def timeseries(self) -> pd.DataFrame:
        """One row per recorded week with every model-level measure."""
        return self.recorder.timeseries()

    def trusts(self) -> pd.DataFrame:
        """Per-trust outcomes, one row per trust and 52-week year (trusts.parquet)."""
        return self.recorder.trusts()

    def events(self) -> pd.DataFrame:
        """Every bullying act and every act of public aggression (perpetrator -1) so far."""
        return self.recorder.events()

    def episodes(self) -> pd.DataFrame:
        """Every perpetrator episode (cascade node) so far, burn-in included (weeks < 0)."""
        return self.episodes_log.frame()

    def largest_cascade(self) -> pd.DataFrame:
        return largest_cascade(self.episodes(), self.scenario.cascades.conversion_window_weeks)

    def people_frame(self, replicate: int = 0) -> pd.DataFrame:
        """Every post's current holder, one row per post (vacant posts included), of the
        `replicate`'s run when the model runs several side by side (posts numbered as its own)."""
        own = self.replicates[replicate]
        return own.recorder.people_frame(self.people_of(own), self.week - 1)
