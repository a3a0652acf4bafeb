"""ReferenceModel: the rules of CultureModel written again person by person, the plain Mesa way.

This is the readable oracle of the vectorised engine and its peer in `benchmarks/`. Each post is
a `ReferencePerson` (a `mesa.Agent`) with plain Python attributes; each phase of the week is a
method that loops over everyone with scalar arithmetic (`math.exp`, `if`/`else`). Nothing here
calls `culturesim.engine.rules`: every equation is typed out again from docs/ODD.md section 7, so
the two engines agree only if both implement the rules.

What is shared, so that structure, bookkeeping and outputs cannot drift:
- the scenario schema, the organisation (`build_organisation`) and the initial people
  (`initial_people`), drawn from the same seed streams as CultureModel, copied into the agents
  attribute by attribute from the state registry (`culturesim.engine.state.ATTRIBUTES`), which
  also gives the values a post takes when it falls vacant;
- the phases of a week: their names and order (`culturesim.engine.phases.PHASES`), each run
  here by a method `phase_<name>` (all synchronous: next values are staged in `next_*`
  attributes and committed in the adaptation phase);
- the interventions, which apply themselves through the same levers;
- the measures (`culturesim.engine.measures`), recorded by the same `Recorder` from the agents'
  state.
Every random draw after the start comes from this model's own numpy Generators, so the two
engines' trajectories differ draw by draw and agree only in distribution
(tests/test_reference.py).
"""

from __future__ import annotations

import math
from collections import deque

import mesa
import numpy as np

from culturesim.engine.interventions import apply_due
from culturesim.engine.model import STREAMS
from culturesim.engine.organisation import (
    FRONTLINE,
    PATIENT_FACING_FROM,
    build_organisation,
    draw_trust_effects,
)
from culturesim.engine.phases import PHASES
from culturesim.engine.recorder import Recording
from culturesim.engine.reference_books import ReferenceBookkeeping
from culturesim.engine.reference_person import (
    MANAGER_TO_REPORT,
    ReferencePerson,
    logistic,
)
from culturesim.engine.scenario import DRIVER_RANGES, Scenario
from culturesim.engine.state import (
    ATTRIBUTES,
    BULLYING,
    KEPT,
    People,
    initial_people,
)
from culturesim.engine.week import Loop, Phase, Week

BUILD_STREAMS = ("organisation", "traits", "trusts")
"""The streams the reference shares with CultureModel: its organisation and first people."""
REFERENCE_STREAMS = tuple(name for name in STREAMS if name not in BUILD_STREAMS)
"""Its own streams for the week's mechanisms, spawned after CultureModel's (`STREAMS`)."""


def _plain(value: object) -> object:
    """A numpy scalar as the Python number a per-person agent holds."""
    return value.item() if isinstance(value, np.generic) else value


class ReferenceModel(ReferenceBookkeeping, mesa.Model):
    """The culture model, person by person: `ReferenceModel(scenario, seed).step()` = a week."""

    phases: Loop

    def __init__(self, scenario: Scenario, seed: int | None = None, burn_in: bool = True) -> None:
        seed = scenario.run.seed if seed is None else int(seed)
        super().__init__(seed=seed)
        self.scenario = scenario
        self.seed = seed
        # The same streams as CultureModel for structure and initial state; own streams after.
        children = np.random.SeedSequence(seed).spawn(len(STREAMS) + len(REFERENCE_STREAMS))
        shared = dict(zip(STREAMS, children, strict=False))
        self.streams = {
            name: np.random.default_rng(child)
            for name, child in zip(REFERENCE_STREAMS, children[len(STREAMS) :], strict=True)
        }
        self.org = org = draw_trust_effects(
            build_organisation(
                scenario.organisation, np.random.default_rng(shared["organisation"])
            ),
            scenario.trust_effects,
            np.random.default_rng(shared["trusts"]),
        )
        self.case_mix = org.trust_case_mix.tolist()
        self.leaving_shift = org.trust_leaving.tolist()
        self.hiring_effect = org.trust_hiring.tolist()
        self.care = org.trust_care.tolist()
        start = initial_people(scenario, org, np.random.default_rng(shared["traits"]))
        self.vacant_values = {
            a.name: _plain(a.vacant_value(scenario)) for a in ATTRIBUTES if a.vacant != KEPT
        }
        self.people = self._make_people(org, start)
        self.n_trusts = org.n_trusts
        self.chief_executives = [self.people[post] for post in org.trust_start[:-1].tolist()]
        self.next_person_id = len(self.people)
        self._start_with_settled_vacancies()

        self.extra_pressure = [0.0] * self.n_trusts
        self.extra_support = [0.0] * self.n_trusts
        self.special_measures = [False] * self.n_trusts
        self.special_measures_weeks = [0] * self.n_trusts
        self.inadequate_ratings = [0] * self.n_trusts
        self.trust_base_funding = org.trust_funding.tolist()
        self.trust_quality = [1.0] * self.n_trusts
        self._quality_since_rating = [0.0] * self.n_trusts
        self._weeks_since_rating = 0
        self.stance = scenario.regulator.stance
        self.funding_factor = 1.0
        self.driver_schedules = {
            name: getattr(scenario.drivers, name).values(scenario.run.steps + 1).tolist()
            for name in DRIVER_RANGES
        }
        window = scenario.cascades.conversion_window_weeks
        self.episode_table: list[tuple[int, int, int, int, int, int]] = []
        self._offspring: list[int] = []
        self._new_by_week: deque[int] = deque(maxlen=2 * window)
        self._conversions_by_week: deque[int] = deque(maxlen=window)
        self.acts: list[tuple[ReferencePerson, ReferencePerson, int]] = []
        self.recording = Recording(scenario, org)
        self.recorder = self.recording.recorders[0]
        self.week = -scenario.run.burn_in_weeks if burn_in else 0
        while self.week < 0:
            self.step()

    # --- construction --------------------------------------------------------------------

    def _make_people(self, org, start: People) -> list[ReferencePerson]:
        """One agent per post, wired to its manager, reports, team and colleagues."""
        s = self.scenario
        trust, level, manager = org.trust.tolist(), org.level.tolist(), org.manager.tolist()
        people = [
            ReferencePerson(self, post, trust[post], level[post]) for post in range(len(level))
        ]
        indptr, indices = org.peers.indptr.tolist(), org.peers.indices.tolist()
        columns = {a.name: getattr(start, a.name).tolist() for a in ATTRIBUTES}
        for post, person in enumerate(people):
            boss = manager[post]
            if boss >= 0:
                person.manager = people[boss]
                person.team = boss
                people[boss].reports.append(person)
            person.peers = [people[j] for j in indices[indptr[post] : indptr[post + 1]]]
            person.exposure = (
                1.0
                if level[post] >= PATIENT_FACING_FROM
                else s.aggression.non_patient_facing_exposure
            )
            for name, values in columns.items():
                setattr(person, name, values[post])
        self.team_members: dict[int, list[ReferencePerson]] = {}
        for person in people:
            self.team_members.setdefault(person.team, []).append(person)
        self.trust_posts: list[list[ReferencePerson]] = [[] for _ in range(org.n_trusts)]
        for person in people:
            self.trust_posts[person.trust].append(person)
        self.frontline_by_trust: list[list[ReferencePerson]] = [[] for _ in range(org.n_trusts)]
        for person in people:
            if person.level == FRONTLINE:
                self.frontline_by_trust[person.trust].append(person)
        return people

    def _start_with_settled_vacancies(self) -> None:
        """Leave each post empty with chance h / (h + q): leaving at rest over leaving + hiring."""
        u = self.scenario.turnover
        rng = self.streams["turnover"]
        for person in self.people:
            hiring = min(max(self._hiring_base_rate(person), 0.0), 1.0)
            leaving = logistic(
                u.baseline_logit
                + self.leaving_shift[person.trust]
                + (u.ceo_logit_offset if person.is_chief_executive else 0.0)
                + u.strain_weight * person.strain
            )
            if rng.random() < leaving / (leaving + hiring):
                person.reset()

    def _hiring_base_rate(self, person) -> float:
        """Executives' posts are filled by interim appointments within weeks; staff posts at
        the trust's labour-market rate."""
        u = self.scenario.turnover
        if person.level <= 1:
            return u.executive_hiring_rate
        return u.weekly_hiring_rate * self.hiring_effect[person.trust]

    # --- levers --------------------------------------------------------------------------

    @property
    def drivers_now(self) -> dict[str, float]:
        week = min(max(self.week, 0), self.scenario.run.steps)
        values = {
            name: schedule[min(week, len(schedule) - 1)]
            for name, schedule in self.driver_schedules.items()
        }
        values["funding"] *= self.funding_factor
        shock = self.scenario.shock
        if 0 <= self.week < shock.weeks:
            values["regulator_pressure"] = shock.regulator_pressure
            values["funding"] = shock.funding
        values["stance"] = self.stance
        return values

    def start_leadership_programme(self, share: float, strength: float) -> int:
        """Train each leader in post not yet trained with chance `share`; returns how many."""
        rng = self.streams["interventions"]
        trained = 0
        for person in self.people:
            if person.reports and person.occupied and not person.trained:
                if rng.random() < share:
                    person.trained = True
                    person.compassion += strength * (1 - person.compassion)
                    trained += 1
        return trained

    # --- the week: one method per phase of culturesim.engine.phases.PHASES ---------------

    def step(self) -> None:
        """Advance one week (weeks < 0 are burn-in and are not recorded)."""
        week = Week(self.week)
        for phase in self.phases:
            phase(self, week)
        self.week += 1

    def phase_interventions(self, week: Week) -> None:
        if week.t >= 0:
            apply_due(self.scenario.interventions, week.t, self)
        self.drivers = week.drivers = self.drivers_now

    def phase_workload(self, week: Week) -> None:
        """Eq. 2a: bank and agency staff cover part of each trust's vacancies at a premium
        paid out of its funding; then Eq. 2 per person."""
        drivers = week.drivers
        s = self.scenario
        temporary = s.temporary_staffing
        self.trust_vacancy = [
            sum(1 for person in posts if not person.occupied) / len(posts)
            for posts in self.trust_posts
        ]
        self.temporary_share = [
            min(temporary.cover * vacancy, temporary.max_share) for vacancy in self.trust_vacancy
        ]
        covered = [
            share / vacancy if vacancy > 0 else 0.0
            for share, vacancy in zip(self.temporary_share, self.trust_vacancy, strict=True)
        ]
        self.team_staffed = {}
        for team, members in self.team_members.items():
            substantive = sum(1 for member in members if member.occupied) / len(members)
            gap = 1 - substantive
            cover = temporary.effectiveness * covered[self.people[team].trust] * gap
            self.team_staffed[team] = substantive + cover
        self.trust_funding = []
        for k in range(self.n_trusts):
            extra = self.extra_support[k]
            if self.special_measures[k]:
                extra += s.special_measures.extra_funding
            premium = temporary.premium * temporary.pay_share * self.temporary_share[k]
            self.trust_funding.append(
                drivers["funding"] * self.trust_base_funding[k] * (1 + extra) * (1 - premium)
            )
        for person in self.people:
            person.feel_workload()

    def phase_pressure(self, week: Week) -> None:
        """Eq. 14: each board's pressure, with the stance's buffering; then Eq. 3 per person."""
        buffering = 1 - self.scenario.regulator.stance_buffering * self.stance
        self.board_pressure = [
            (week.drivers["regulator_pressure"] + extra) * buffering
            for extra in self.extra_pressure
        ]
        week.board = np.array(self.board_pressure)
        for person in self.people:
            person.feel_pressure()

    def phase_aggression(self, week: Week) -> None:
        for person in self.people:
            person.suffer_aggression()

    def phase_behaviour(self, week: Week) -> None:
        for person in self.people:
            person.choose()

    def phase_targets(self, week: Week) -> None:
        """Bullies pick victims (Eq. 8); episodes start for bullies idle over W weeks."""
        self.acts = []
        for person in self.people:
            if person.occupied and person.next_behaviour == BULLYING:
                act = person.pick_target()
                if act is not None:
                    self.acts.append((person, *act))
        self._log_episodes(self.acts, week.t)
        for _, victim, _ in self.acts:
            victim.bullied_now = True
        self._count_sources()

    def phase_adaptation(self, week: Week) -> None:
        """Support, strain, norms, dispositions; then everything is committed at once."""
        t = week.t
        for person in self.people:
            person.adapt()
        for bully, victim, _ in self.acts:  # Eq. 9b, in act order
            if victim.persistently_bullied_by(bully) and bully.is_challenged(self.stance):
                bully.next_bullying_norm = 0.0
        for person in self.people:
            person.commit()
        parent_act = {}  # Eq. 15a: the counted source's act, else the most senior, else lowest post
        for bully, victim, _ in self.acts:
            rank = (victim.next_source_person != bully.person_id, bully.level, bully.post)
            if victim.post not in parent_act or rank < parent_act[victim.post][0]:
                parent_act[victim.post] = (rank, bully.episode)
        for bully, victim, relation in self.acts:
            if relation == MANAGER_TO_REPORT:
                victim.bullied_by_manager_week = t
            else:
                victim.bullied_by_colleague_week = t
            victim.bullied_in_episode = parent_act[victim.post][1]
            bully.bullied_others_week = t
            bully.target_post = victim.post
            bully.target_person = victim.person_id
        for person in self.people:
            person.source_person = person.next_source_person
            person.source_weeks = person.next_source_weeks

    def phase_quality(self, week: Week) -> None:
        """Eq. 10 per team, averaged over each trust's frontline posts; harm events."""
        q = self.scenario.quality
        memory = self.scenario.turnover.bullied_memory_weeks
        team_quality = {}
        for team, members in self.team_members.items():
            present = strain = bullied = climate = 0.0
            for member in members:
                if member.occupied:
                    present += 1
                    strain += member.strain
                    bullied += 1.0 if week.t - member.bullied_week < memory else 0.0
                    climate += member.compassion_norm
            present = max(present, 1)
            quality = (
                self.team_staffed[team] ** q.staffing_exponent
                * (1 - q.strain_penalty * strain / present)
                * (1 - q.rudeness_penalty * bullied / present)
                * (1 + q.compassion_gain * (climate / present - 0.5))
            )
            team_quality[team] = min(max(quality, 0.0), 1.0)
        self.trust_quality = [
            min(
                care
                * sum(team_quality[person.team] for person in frontline)
                / max(len(frontline), 1),
                1.0,
            )
            for frontline, care in zip(self.frontline_by_trust, self.care, strict=True)
        ]
        rng = self.streams["harm"]
        demand = week.drivers["demand"]
        expected, harm = [], []
        for trust, frontline in enumerate(self.frontline_by_trust):
            expected.append(q.harm_rate * demand * len(frontline) * self.case_mix[trust])
            excess = max(
                1 + q.harm_excess_weight * (q.reference_quality - self.trust_quality[trust]), 0.0
            )
            harm.append(int(rng.poisson(expected[-1] * excess)))
        week.expected_harm, week.harm = np.array(expected), np.array(harm)

    def phase_turnover(self, week: Week) -> None:
        """Eq. 11 for every holder, then eq. 12 (with the recruitment effort of eq. 12a) for
        every vacancy not opened this week."""
        u = self.scenario.turnover
        leaving = [p for p in self.people if p.occupied and p.consider_leaving()]
        for person in leaving:
            person.reset()
        week.leavers = len(leaving)
        week.leaving = np.array([person.post for person in leaving], dtype=np.int64)
        week.ceo_exits = sum(1 for person in leaving if person.is_chief_executive)

        norm_sum = [0.0] * self.n_trusts
        staff = [0] * self.n_trusts
        for person in self.people:
            if person.occupied:
                norm_sum[person.trust] += person.bullying_norm
                staff[person.trust] += 1
        r, sm = self.scenario.recruitment, self.scenario.special_measures
        attraction = []
        for trust, funding in enumerate(self.trust_funding):
            effort = 1 + r.effort_gain * max(self.trust_vacancy[trust] - r.usual_vacancy, 0.0)
            if self.special_measures[trust]:
                effort += sm.recruitment_boost
            attraction.append(
                min(effort, r.max_effort)
                * min(funding, u.funding_cap)
                * math.exp(-u.reputation_penalty * norm_sum[trust] / max(staff[trust], 1))
            )
        just_left = {person.post for person in leaving}
        rng = self.streams["hiring"]
        for person in self.people:
            if not person.occupied and person.post not in just_left:
                fill = self._hiring_base_rate(person) * attraction[person.trust]
                if rng.random() < min(max(fill, 0.0), 1.0):
                    person.hire(self.next_person_id, rng)
                    self.next_person_id += 1

    def phase_regulator(self, week: Week) -> None:
        """Eq. 13: shortfall becomes pressure or support (each capped); inadequate CEOs may go.

        Eq. 13a: a run of `entry_ratings` inadequate ratings puts a trust in special measures
        (its chief executive replaced with a chance, extra money, more recruitment, blame
        relieved); after `min_weeks` it leaves at the first rating that is not inadequate.
        """
        for trust, quality in enumerate(self.trust_quality):
            self._quality_since_rating[trust] += quality
            if self.special_measures[trust]:
                self.special_measures_weeks[trust] += 1
        self._weeks_since_rating += 1
        r = self.scenario.regulator
        sm = self.scenario.special_measures
        if self._weeks_since_rating != r.inspection_weeks:
            return
        rng = self.streams["regulator"]
        rated_quality, removed = [], []
        for trust in range(self.n_trusts):
            rated = self._quality_since_rating[trust] / self._weeks_since_rating
            rated_quality.append(rated)
            inadequate = rated < r.inadequate_quality
            self.inadequate_ratings[trust] = self.inadequate_ratings[trust] + 1 if inadequate else 0
            in_measures = self.special_measures[trust]
            entering = not in_measures and self.inadequate_ratings[trust] >= sm.entry_ratings
            exiting = (
                in_measures
                and self.special_measures_weeks[trust] >= sm.min_weeks
                and not inadequate
            )
            shortfall = max(r.quality_target - rated, 0.0)
            if in_measures or entering:
                self.extra_pressure[trust] = (1 - sm.pressure_relief) * self.extra_pressure[trust]
            else:
                self.extra_pressure[trust] = min(
                    r.feedback_decay * self.extra_pressure[trust]
                    + r.pressure_gain * (1 - self.stance) * shortfall,
                    r.max_extra_pressure,
                )
            self.extra_support[trust] = min(
                r.feedback_decay * self.extra_support[trust]
                + r.support_gain * self.stance * shortfall,
                r.max_extra_support,
            )
            removal = r.ceo_removal_probability * (1 - self.stance) if inadequate else 0.0
            ceo = self.chief_executives[trust]
            if ceo.occupied and rng.random() < removal:
                ceo.reset()
                removed.append(ceo.post)
                week.ceo_exits += 1
            if entering:
                week.special_measures_entries += 1
                if rng.random() < sm.ceo_replacement_probability and ceo.occupied:
                    ceo.reset()
                    removed.append(ceo.post)
                    week.ceo_exits += 1
            if entering or exiting:
                self.special_measures[trust] = entering
                self.special_measures_weeks[trust] = 0
            self._quality_since_rating[trust] = 0.0
        self._weeks_since_rating = 0
        week.rated_quality = np.array(rated_quality)
        week.removed = np.array(removed, dtype=np.int64)

    def phase_record(self, week: Week) -> None:
        """Tenure grows; the week's measures are recorded by the shared Recorder."""
        for person in self.people:
            if person.occupied:
                person.tenure_weeks += 1
        if week.t >= 0:
            self.recording.record_week(self._observe(week))


ReferenceModel.phases = Loop(
    Phase(
        phase.name, phase.equations, phase.summary, getattr(ReferenceModel, f"phase_{phase.name}")
    )
    for phase in PHASES
)
"""The same phases, in the same order, as CultureModel's, each run person by person."""
