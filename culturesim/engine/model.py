"""CultureModel: a thin mesa.Model that fixes the order of the rules each week.

The people's state lives in numpy arrays (culturesim.engine.state); each person is also a Mesa agent
(`Person`) whose attributes read those arrays, so Mesa tools and user code can inspect
individuals. Above `EAGER_AGENT_LIMIT` posts the agents are made on demand (`model.person`).

A week (one step), all updates synchronous, computed from the state at week t:
 1. interventions due this week take effect; drivers are read (live overrides included);
 2. workload from demand, funding and each team's staffing (eq. 2);
 3. pressure felt, passed down the hierarchy from the board (eq. 3, 14);
 4. patient and public aggression (eq. 4);
 5. behaviour chosen: bullying, compassionate or neutral (eq. 1, 6, 7);
 6. bullies pick their victims; episodes and conversions are logged (eq. 8, 15);
 7. compassion received, strain, norms and dispositions updated (eq. 1, 5, 9);
 8. care quality and harm (eq. 10);
 9. leavers go and vacancies are filled (eq. 11, 12);
10. every `inspection_weeks`, the regulator rates each trust and responds (eq. 13);
11. the week's measures are recorded.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import mesa
import numpy as np
import pandas as pd

from culturesim.engine import rules
from culturesim.engine.cascades import EpisodeLog, largest_cascade
from culturesim.engine.organisation import PATIENT_FACING_FROM, build_organisation
from culturesim.engine.scenario import DRIVER_RANGES, Scenario, ScenarioError
from culturesim.engine.state import BULLYING, COMPASSIONATE, hire, initial_people, reset_person

TIMESERIES_COLUMNS = (
    "week", "regulator_pressure", "funding", "demand", "public_aggression", "stance",
    "board_pressure", "staff", "vacancy_rate", "bullied_by_public", "bullied_by_colleagues",
    "bullied_by_managers", "bullied_by_staff", "bullying_acts", "acts_by_managers",
    "acts_by_colleagues", "acts_by_reports", "perpetrators", "compassion_climate",
    "compassion_disposition", "mean_strain", "mean_workload", "leavers", "leaver_rate",
    "ceo_exits", "ceos_in_post", "leaders_trained", "care_quality", "harm_events",
    "new_episodes", "conversions", "reproduction_number",
)  # fmt: skip
"""The measures recorded each week, in the order of timeseries.parquet's columns (ODD 7.14)."""
EAGER_AGENT_LIMIT = 50_000
BURN_IN_WEEKS = 52
SURVEY_WEEKS = 52
STREAMS = (
    "organisation",
    "traits",
    "aggression",
    "behaviour",
    "targets",
    "turnover",
    "hiring",
    "regulator",
    "interventions",
    "harm",
)


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
    """One run of the culture model: `CultureModel(scenario, seed).step()` advances a week."""

    def __init__(self, scenario: Scenario, seed: int | None = None, burn_in: bool = True) -> None:
        seed = scenario.run.seed if seed is None else int(seed)
        super().__init__(seed=seed)
        self.scenario = scenario
        self.seed = seed
        self.rng_streams = dict(
            zip(
                STREAMS,
                (
                    np.random.default_rng(s)
                    for s in np.random.SeedSequence(seed).spawn(len(STREAMS))
                ),
                strict=True,
            )
        )
        self.org = build_organisation(scenario.organisation, self.rng_streams["organisation"])
        self.people = initial_people(scenario, self.org, self.rng_streams["traits"])
        self.next_person_id = self.org.n_posts
        self.hiring_base_rate = np.where(
            self.org.level <= 1,
            scenario.turnover.executive_hiring_rate,
            scenario.turnover.weekly_hiring_rate,
        )
        self.aggression_exposure = np.where(
            self.org.level >= PATIENT_FACING_FROM,
            1.0,
            scenario.aggression.non_patient_facing_exposure,
        )
        self._start_with_settled_vacancies()
        self.episodes_log = EpisodeLog(scenario.cascades.conversion_window_weeks)

        n_trusts = self.org.n_trusts
        self.extra_pressure = np.zeros(n_trusts)
        self.extra_support = np.zeros(n_trusts)
        self.trust_quality = np.ones(n_trusts)
        self._quality_since_rating = np.zeros(n_trusts)
        self._weeks_since_rating = 0
        self.stance = scenario.regulator.stance
        self.funding_factor = 1.0
        self.overrides: dict[str, float] = {}
        self.driver_schedules = {
            name: getattr(scenario.drivers, name).values(scenario.run.steps + 1)
            for name in DRIVER_RANGES
        }
        self.records: list[dict[str, float]] = []
        self._event_chunks: list[dict[str, np.ndarray]] = []
        self._recent_leavers: deque[int] = deque(maxlen=13)
        self._recent_staff: deque[int] = deque(maxlen=13)
        self.last_acts: dict[str, np.ndarray] = {}
        self.week = -BURN_IN_WEEKS if burn_in else 0
        self._agents_by_post: dict[int, Person] = {}
        while self.week < 0:
            self._advance()
        if self.org.n_posts <= EAGER_AGENT_LIMIT:
            for post in range(self.org.n_posts):
                self.person(post)

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
        )
        hiring = rules.hiring_probability(
            self.hiring_base_rate, np.ones(1), np.zeros(1), s.turnover
        )
        empty = self.rng_streams["turnover"].random(self.org.n_posts) < leaving / (leaving + hiring)
        reset_person(p, np.flatnonzero(empty), s)

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
        leaders = np.flatnonzero(self.org.is_leader & p.occupied & ~p.trained)
        rng = self.rng_streams["interventions"]
        chosen = leaders[rng.random(len(leaders)) < share]
        p.trained[chosen] = True
        p.compassion[chosen] += strength * (1 - p.compassion[chosen])
        return len(chosen)

    def _apply_interventions(self) -> None:
        for intervention in self.scenario.interventions:
            if intervention.week != self.week:
                continue
            if intervention.kind == "leadership_programme":
                self.start_leadership_programme(
                    intervention.share_of_leaders, intervention.strength
                )
            elif intervention.kind == "funding_change":
                self.funding_factor *= intervention.factor
            elif intervention.kind == "stance_change":
                self.stance = intervention.stance

    # --- the week ------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one week and record it."""
        self._advance()

    def _advance(self) -> None:
        s, org, p = self.scenario, self.org, self.people
        t = self.week
        streams = self.rng_streams
        n = org.n_posts
        if t >= 0:
            self._apply_interventions()
        drivers = self.drivers_now
        occupied = p.occupied
        team = org.team
        trust = org.trust
        leader_weight = s.socialisation.leader_weight
        newness = np.exp(-p.tenure_weeks / s.socialisation.newcomer_weeks)

        # 2. workload
        team_present = np.bincount(team, weights=occupied, minlength=n)
        staffed = team_present / np.maximum(org.team_size, 1)
        trust_funding = drivers["funding"] * org.trust_funding * (1 + self.extra_support)
        workload = rules.workload(drivers["demand"], trust_funding[trust], staffed[team])

        # 3. pressure
        board = rules.board_pressure(
            drivers["regulator_pressure"], self.extra_pressure, self.stance, s.regulator
        )
        pressure = rules.felt_pressure(
            board[trust], p.pressure, org.manager, p.compassion, occupied, s.pressure
        )

        # 4. aggression
        aggressed = occupied & rules.suffer_aggression(
            self.aggression_exposure,
            drivers["public_aggression"],
            drivers["demand"],
            s.aggression,
            streams["aggression"].random(n),
        )

        # 5. behaviour
        window = s.cascades.conversion_window_weeks
        victimised = (t - p.bullied_week) <= window
        hood = rules.neighbourhood(org.peers, org.manager, occupied, leader_weight)
        bullying_seen, compassion_seen, compassion_around = rules.neighbour_mean(
            hood, p.bullying_norm, p.compassion_norm, p.compassion
        )
        behaviour = rules.choose_behaviour(
            p.strain,
            p.compassion,
            victimised,
            p.support,
            bullying_seen,
            compassion_seen,
            newness,
            org.is_leader,
            s.behaviour,
            streams["behaviour"].random(n),
        )
        behaviour[~occupied] = 0

        # 6. targets, episodes and conversions
        bullies = np.flatnonzero(behaviour == BULLYING)
        target_rng = streams["targets"]
        victim, relation = rules.pick_targets(
            bullies,
            org.manager,
            org.first_report,
            org.n_reports,
            org.peers,
            s.targets,
            target_rng.random(len(bullies)),
            target_rng.random(len(bullies)),
        )
        acted = victim >= 0
        acted[acted] = occupied[victim[acted]]
        bullies, victim, relation = bullies[acted], victim[acted], relation[acted]
        episode = self._log_episodes(bullies, victimised, t, window)
        self._record_acts(t, bullies, victim, relation, episode, aggressed)

        # 7. support, strain, norms, dispositions
        bullied_now = np.zeros(n, dtype=bool)
        bullied_now[victim] = True
        kind = (behaviour == COMPASSIONATE).astype(float)
        (support,) = rules.neighbour_mean(hood, kind)
        strain = rules.update_strain(
            p.strain, workload, pressure, bullied_now, aggressed, support, p.resilience, s.strain
        )
        memory = 1 / s.behaviour.norm_memory_weeks
        bullying_norm = p.bullying_norm + memory * ((behaviour == BULLYING) - p.bullying_norm)
        compassion_norm = p.compassion_norm + memory * (kind - p.compassion_norm)
        pull = s.socialisation.rate + s.socialisation.newcomer_rate * newness
        compassion = rules.socialise(p.compassion, compassion_around, pull)

        # commit the week's new state (synchronous update)
        p.pressure, p.support, p.strain, p.behaviour = pressure, support, strain, behaviour
        p.bullying_norm, p.compassion_norm = bullying_norm, compassion_norm
        p.compassion = np.where(occupied, compassion, p.compassion)
        p.bullied_by_manager_week[victim[relation == rules.MANAGER_TO_REPORT]] = t
        p.bullied_by_colleague_week[victim[relation != rules.MANAGER_TO_REPORT]] = t
        p.bullied_in_episode[victim] = p.episode[bullies]
        p.bullied_others_week[bullies] = t
        p.aggressed_week[aggressed] = t

        # 8. care quality and harm
        recently = (t - p.bullied_week) < s.turnover.bullied_memory_weeks
        team_quality = self._team_quality(team_present, staffed, occupied, recently)
        frontline = org.frontline
        frontline_posts = np.bincount(trust[frontline], minlength=org.n_trusts)
        self.trust_quality = np.bincount(
            trust[frontline], weights=team_quality[team[frontline]], minlength=org.n_trusts
        ) / np.maximum(frontline_posts, 1)
        harm = streams["harm"].poisson(
            s.quality.harm_rate * drivers["demand"] * frontline_posts * (1 - self.trust_quality)
        )

        # 9. turnover
        leavers, ceo_exits = self._turnover(recently, newness, trust_funding)

        # 10. regulator
        self._quality_since_rating += self.trust_quality
        self._weeks_since_rating += 1
        ceo_removed = 0
        if self._weeks_since_rating == s.regulator.inspection_weeks:
            ceo_removed = self._rate_trusts()

        # 11. record
        p.tenure_weeks += p.occupied
        if t >= 0:
            self._record(
                t,
                drivers,
                board,
                bullies,
                victim,
                relation,
                leavers,
                ceo_exits + ceo_removed,
                harm,
                workload,
            )
        self.week += 1

    def _team_quality(
        self,
        team_present: np.ndarray,
        staffed: np.ndarray,
        occupied: np.ndarray,
        recently_bullied: np.ndarray,
    ) -> np.ndarray:
        """Care quality of each team, indexed by its leader's post (0 for posts that lead none)."""
        p, org = self.people, self.org
        leaders = org.leaders
        present = np.maximum(team_present[leaders], 1)

        def team_mean(value: np.ndarray) -> np.ndarray:
            return (
                np.bincount(org.team, weights=value * occupied, minlength=org.n_posts)[leaders]
                / present
            )

        quality = np.zeros(org.n_posts)
        quality[leaders] = rules.team_quality(
            staffed[leaders],
            team_mean(p.strain),
            team_mean(recently_bullied),
            team_mean(p.compassion_norm),
            self.scenario.quality,
        )
        return quality

    def _log_episodes(
        self, bullies: np.ndarray, victimised: np.ndarray, t: int, window: int
    ) -> np.ndarray:
        """Start an episode for each bully who had not bullied in the last W weeks."""
        p = self.people
        starting = bullies[(t - p.bullied_others_week[bullies]) > window]
        converted = victimised[starting] & (p.bullied_in_episode[starting] >= 0)
        parent = np.where(converted, p.bullied_in_episode[starting], -1)
        p.episode[starting] = self.episodes_log.start(parent, starting, p.person_id[starting], t)
        return p.episode[bullies]

    def _record_acts(
        self,
        t: int,
        bullies: np.ndarray,
        victim: np.ndarray,
        relation: np.ndarray,
        episode: np.ndarray,
        aggressed: np.ndarray,
    ) -> None:
        p = self.people
        self.last_acts = {"perpetrator": bullies, "victim": victim, "relation": relation}
        if t < 0 or not self.scenario.run.record_events:
            return
        public = np.flatnonzero(aggressed)
        self._event_chunks.append(
            {
                "week": np.full(len(bullies) + len(public), t, dtype=np.int32),
                "perpetrator": np.concatenate([bullies, np.full(len(public), -1)]).astype(np.int32),
                "victim": np.concatenate([victim, public]).astype(np.int32),
                "relation": np.concatenate([relation, np.full(len(public), rules.PUBLIC)]).astype(
                    np.int8
                ),
                "perpetrator_person": np.concatenate(
                    [p.person_id[bullies], np.full(len(public), -1)]
                ).astype(np.int64),
                "victim_person": p.person_id[np.concatenate([victim, public])].astype(np.int64),
                "episode": np.concatenate([episode, np.full(len(public), -1)]).astype(np.int64),
            }
        )

    def _turnover(
        self, recently_bullied: np.ndarray, newness: np.ndarray, trust_funding: np.ndarray
    ) -> tuple[int, int]:
        s, org, p = self.scenario, self.org, self.people
        chance = rules.leave_probability(
            p.strain, recently_bullied, newness, org.level == 0, s.turnover
        )
        leaving = np.flatnonzero(
            p.occupied & (self.rng_streams["turnover"].random(org.n_posts) < chance)
        )
        ceo_exits = int((org.level[leaving] == 0).sum())
        reset_person(p, leaving, s)

        vacant = np.flatnonzero(~p.occupied)
        trust_bullying = np.bincount(
            org.trust, weights=p.bullying_norm * p.occupied, minlength=org.n_trusts
        ) / np.maximum(np.bincount(org.trust, weights=p.occupied, minlength=org.n_trusts), 1)
        fill = rules.hiring_probability(
            self.hiring_base_rate[vacant],
            trust_funding[org.trust[vacant]],
            trust_bullying[org.trust[vacant]],
            s.turnover,
        )
        hiring_rng = self.rng_streams["hiring"]
        hired = vacant[hiring_rng.random(len(vacant)) < fill]
        hired = hired[~np.isin(hired, leaving)]
        self.next_person_id = hire(p, hired, s, org, self.next_person_id, hiring_rng)
        return len(leaving), ceo_exits

    def _rate_trusts(self) -> int:
        """The regulator's rating: feedback on pressure and support, chief executives removed."""
        s, org, p = self.scenario, self.org, self.people
        rated_quality = self._quality_since_rating / self._weeks_since_rating
        self.extra_pressure, self.extra_support, removal = rules.regulator_feedback(
            rated_quality, self.extra_pressure, self.extra_support, self.stance, s.regulator
        )
        self.rated_quality = rated_quality
        self._quality_since_rating[:] = 0
        self._weeks_since_rating = 0
        ceos = org.trust_start[:-1]
        removed = ceos[
            p.occupied[ceos] & (self.rng_streams["regulator"].random(org.n_trusts) < removal)
        ]
        reset_person(p, removed, s)
        return len(removed)

    # --- measures ------------------------------------------------------------------------

    def _record(
        self,
        t: int,
        drivers: dict[str, float],
        board: np.ndarray,
        bullies: np.ndarray,
        victim: np.ndarray,
        relation: np.ndarray,
        leavers: int,
        ceo_exits: int,
        harm: np.ndarray,
        workload: np.ndarray,
    ) -> None:
        p, org = self.people, self.org
        occupied = p.occupied
        staff = int(occupied.sum())

        def in_survey(weeks: np.ndarray) -> float:
            """Share of staff in post with this happening in the last 52 weeks."""
            return np.count_nonzero(occupied & (weeks > t - SURVEY_WEEKS)) / max(staff, 1)

        self._recent_leavers.append(leavers)
        self._recent_staff.append(staff)
        ceos = org.trust_start[:-1]
        self.records.append(
            {
                "week": t,
                **{name: value for name, value in drivers.items()},
                "board_pressure": float(np.mean(board)),
                "staff": staff,
                "vacancy_rate": 1 - staff / org.n_posts,
                "bullied_by_public": in_survey(p.aggressed_week),
                "bullied_by_colleagues": in_survey(p.bullied_by_colleague_week),
                "bullied_by_managers": in_survey(p.bullied_by_manager_week),
                "bullied_by_staff": in_survey(p.bullied_week),
                "bullying_acts": len(victim),
                "acts_by_managers": int((relation == rules.MANAGER_TO_REPORT).sum()),
                "acts_by_colleagues": int((relation == rules.COLLEAGUE).sum()),
                "acts_by_reports": int((relation == rules.REPORT_TO_MANAGER).sum()),
                "perpetrators": len(bullies),
                "compassion_climate": float((p.behaviour == COMPASSIONATE)[occupied].mean()),
                "compassion_disposition": float(p.compassion[occupied].mean()),
                "mean_strain": float(p.strain[occupied].mean()),
                "mean_workload": float(workload[occupied].mean()),
                "leavers": leavers,
                "leaver_rate": sum(self._recent_leavers)
                / max(np.mean(self._recent_staff), 1)
                * 52
                / len(self._recent_leavers),
                "ceo_exits": ceo_exits,
                "ceos_in_post": int(occupied[ceos].sum()),
                "leaders_trained": float(p.trained[org.is_leader & occupied].sum())
                / max(int((org.is_leader & occupied).sum()), 1),
                "care_quality": float(np.mean(self.trust_quality)),
                "harm_events": int(harm.sum()),
                "new_episodes": self.episodes_log.new_this_week,
                "conversions": self.episodes_log.conversions_this_week,
                "reproduction_number": self.episodes_log.reproduction_number(),
            }
        )

    def timeseries(self) -> pd.DataFrame:
        """One row per recorded week with every model-level measure."""
        return pd.DataFrame.from_records(self.records, columns=TIMESERIES_COLUMNS)

    def events(self) -> pd.DataFrame:
        """Every bullying act and every act of public aggression (perpetrator -1) so far."""
        if not self._event_chunks:
            columns = [
                "week",
                "perpetrator",
                "victim",
                "relation",
                "perpetrator_person",
                "victim_person",
                "episode",
            ]
            return pd.DataFrame({c: np.array([], dtype=np.int64) for c in columns})
        table = {
            name: np.concatenate([c[name] for c in self._event_chunks])
            for name in self._event_chunks[0]
        }
        self._event_chunks = [table]
        events = pd.DataFrame(table)
        events["trust"] = self.org.trust[events.victim.to_numpy()]
        return events

    def episodes(self) -> pd.DataFrame:
        """Every perpetrator episode (cascade node) so far, burn-in included (weeks < 0)."""
        return self.episodes_log.frame()

    def largest_cascade(self) -> pd.DataFrame:
        return largest_cascade(self.episodes(), self.scenario.cascades.conversion_window_weeks)

    def people_frame(self) -> pd.DataFrame:
        """Every post's current holder, one row per post (vacant posts included)."""
        p, org = self.people, self.org
        t = self.week - 1
        return pd.DataFrame(
            {
                "week": np.full(org.n_posts, t, dtype=np.int32),
                "post": np.arange(org.n_posts, dtype=np.int32),
                "trust": org.trust,
                "level": org.level,
                "manager": org.manager.astype(np.int32),
                "team": org.team.astype(np.int32),
                "occupied": p.occupied,
                "person_id": p.person_id,
                "tenure_weeks": p.tenure_weeks,
                "compassion": p.compassion.astype(np.float32),
                "resilience": p.resilience.astype(np.float32),
                "trained": p.trained,
                "strain": p.strain.astype(np.float32),
                "pressure": p.pressure.astype(np.float32),
                "behaviour": p.behaviour,
                "bullied_last_year": (t - p.bullied_week) < SURVEY_WEEKS,
                "bullied_others_last_year": (t - p.bullied_others_week) < SURVEY_WEEKS,
            }
        )
