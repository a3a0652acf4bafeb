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
import pandas as pd

from culturesim.engine.interventions import apply_due
from culturesim.engine.measures import Observed
from culturesim.engine.model import STREAMS
from culturesim.engine.organisation import (
    FRONTLINE,
    LEADER_LEVELS,
    PATIENT_FACING_FROM,
    build_organisation,
    draw_trust_effects,
)
from culturesim.engine.phases import PHASES, Loop, Phase, Week
from culturesim.engine.recorder import Recorder
from culturesim.engine.scenario import DRIVER_RANGES, ROLES, Scenario
from culturesim.engine.state import (
    ATTRIBUTES,
    BULLYING,
    COMPASSIONATE,
    KEPT,
    NEUTRAL,
    TRAITS,
    People,
    initial_people,
)

MANAGER_TO_REPORT, COLLEAGUE, REPORT_TO_MANAGER = 0, 1, 2
REFERENCE_STREAMS = (
    "aggression",
    "behaviour",
    "targets",
    "turnover",
    "hiring",
    "regulator",
    "interventions",
    "harm",
    "speaking_up",
)


def logistic(x: float) -> float:
    """1 / (1 + e^-x), without overflow for very negative x."""
    if x < -700:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


class ReferencePerson(mesa.Agent):
    """The holder of one post; vacant while `occupied` is False (other values then unused)."""

    def __init__(self, model: ReferenceModel, post: int, trust: int, level: int) -> None:
        super().__init__(model)
        self.post = post
        self.trust = trust
        self.level = level
        self.is_chief_executive = level == 0
        # wired by the model once every post exists
        self.manager: ReferencePerson | None = None
        self.reports: list[ReferencePerson] = []
        self.peers: list[ReferencePerson] = []
        self.team = post  # the post that leads this person's team (a chief executive: own post)
        self.exposure = 1.0
        # this week's scratch values
        self.newness = 1.0
        self.workload = 1.0
        self.aggressed = False
        self.victimised = False
        self.persistent = False
        self.bullied_now = False
        self.next_pressure = 0.0

    @property
    def is_leader(self) -> bool:
        return bool(self.reports)

    @property
    def persistently_bullied(self) -> bool:
        """Acts from one source in at least `min_weeks` of the look-back (Eq. 16)."""
        return self.source_weeks.bit_count() >= self.model.scenario.persistence.min_weeks

    @property
    def bullied_week(self) -> int:
        """Last week bullied by any member of staff."""
        return max(self.bullied_by_manager_week, self.bullied_by_colleague_week)

    # --- helpers -------------------------------------------------------------------------

    def seen(self, name: str) -> float:
        """Eq. 1: (1 - w) x occupied colleagues' mean + w x manager's value, renormalised.

        Vacant posts are not counted; with nobody around, a person sees only themselves.
        """
        leader_weight = self.model.scenario.socialisation.leader_weight
        total, count = 0.0, 0
        for peer in self.peers:
            if peer.occupied:
                total += getattr(peer, name)
                count += 1
        weight_peers = (1 - leader_weight) if count else 0.0
        boss = self.manager
        weight_boss = leader_weight if boss is not None and boss.occupied else 0.0
        if weight_peers + weight_boss == 0:
            return getattr(self, name)
        value = weight_peers * (total / count if count else 0.0)
        if weight_boss:
            value += weight_boss * getattr(boss, name)
        return value / (weight_peers + weight_boss)

    def reset(self) -> None:
        """Clear the post's personal history when its holder leaves (the post falls vacant)."""
        for name, value in self.model.vacant_values.items():
            setattr(self, name, value)

    def hire(self, person_id: int, rng: np.random.Generator) -> None:
        """A new person takes the post, with traits drawn for its role."""
        traits = getattr(self.model.scenario.population, ROLES[self.level])
        drawn = {
            name: getattr(traits, f"{name}_mean")
            + getattr(traits, f"{name}_sd") * rng.standard_normal()
            for name in TRAITS
        }
        if self.level < LEADER_LEVELS:
            drawn["compassion"] += self.model.org.trust_leadership[self.trust]
        self.reset()
        self.occupied = True
        self.person_id = person_id
        for name, value in drawn.items():
            setattr(self, name, min(max(value, 0.0), 1.0))

    # --- what one person does in the phases of a week -----------------------------------

    def feel_workload(self) -> None:
        """Eq. 2: demand over funding times the staffed share of one's team (with a floor)."""
        m = self.model
        floor = m.scenario.workload.staffing_floor
        funding = m.trust_funding[self.trust]
        self.workload = m.drivers["demand"] / (funding * max(m.team_staffed[self.team], floor))

    def feel_pressure(self) -> None:
        """Eq. 3: the board feels the regulator; a leader passes last week's pressure down."""
        m = self.model
        s = m.scenario
        boss = self.manager
        if boss is None:
            self.next_pressure = m.board_pressure[self.trust]
        else:
            shield = boss.compassion if boss.occupied else 0.0
            self.next_pressure = (
                s.pressure.transmission * boss.pressure * (1 - s.pressure.leader_buffering * shield)
            )

    def suffer_aggression(self) -> None:
        """Eq. 4: patient and public aggression, a Poisson event."""
        self.bullied_now = False
        self.aggressed = False
        if not self.occupied:
            return
        m = self.model
        a = m.scenario.aggression
        rate = a.weekly_rate * m.drivers["public_aggression"] * m.drivers["demand"] * self.exposure
        self.aggressed = m.streams["aggression"].random() < 1 - math.exp(-rate)

    def choose(self) -> None:
        """Eq. 6-7: bully with p_bully, else be compassionate with p_kind, else neutral."""
        m = self.model
        s = m.scenario
        self.newness = math.exp(-self.tenure_weeks / s.socialisation.newcomer_weeks)
        self.persistent = self.persistently_bullied
        if not self.occupied:
            self.next_behaviour = NEUTRAL
            return
        b = s.behaviour
        self.victimised = m.week - self.bullied_week <= s.cascades.conversion_window_weeks
        learning = 1 + b.newcomer_norm_boost * self.newness
        p_bully = logistic(
            b.bullying_baseline_logit
            + (b.leader_logit_offset if self.reports else 0.0)
            + b.strain_weight * self.strain
            + (b.victimisation_weight if self.persistent else 0.0)
            + b.habit_weight * self.bullying_norm
            + b.norm_weight * learning * self.seen("bullying_norm")
            - b.compassion_weight * (self.compassion - 0.5)
            - b.support_weight * self.support
        )
        p_kind = logistic(
            b.compassion_baseline_logit
            + b.compassion_disposition_weight * (self.compassion - 0.5)
            - b.compassion_strain_weight * self.strain
            + b.compassion_norm_weight * learning * (self.seen("compassion_norm") - 0.5)
        )
        draw = m.streams["behaviour"].random()
        if draw < p_bully:
            self.next_behaviour = BULLYING
        elif draw < p_bully + (1 - p_bully) * p_kind:
            self.next_behaviour = COMPASSIONATE
        else:
            self.next_behaviour = NEUTRAL
        self.kind_now = 1.0 if self.next_behaviour == COMPASSIONATE else 0.0

    def pick_target(self) -> tuple[ReferencePerson, int] | None:
        """Eq. 8: one's last target again, or a report, a colleague or one's manager, weighted.

        The last target counts only while the same person holds their post. Otherwise only
        relations the bully has count. An empty post picked means no act this week.
        """
        w = self.model.scenario.targets
        rng = self.model.streams["targets"]
        if self.target_post >= 0:
            last = self.model.people[self.target_post]
            if last.occupied and last.person_id == self.target_person:
                if rng.random() < w.repeat_probability:
                    if last.manager is self:
                        return last, MANAGER_TO_REPORT
                    if self.manager is last:
                        return last, REPORT_TO_MANAGER
                    return last, COLLEAGUE
        down = w.downward_weight if self.reports else 0.0
        side = w.sideways_weight if self.peers else 0.0
        up = w.upward_weight if self.manager is not None else 0.0
        total = down + side + up
        if total == 0:
            return None
        draw = rng.random() * total
        if draw < down:
            victim, relation = self.reports[int(rng.random() * len(self.reports))], 0
        elif draw < down + side:
            victim, relation = self.peers[int(rng.random() * len(self.peers))], 1
        else:
            victim, relation = self.manager, 2
        if not victim.occupied:
            return None
        return victim, relation

    def adapt(self) -> None:
        """Compassion received, strain (eq. 5), norms, disposition (eq. 9), staged."""
        if not self.occupied:
            return
        s = self.model.scenario
        st = s.strain
        self.next_support = self.seen("kind_now")
        target = logistic(
            st.baseline_logit
            + st.workload_weight * (self.workload - 1)
            + st.pressure_weight * self.next_pressure
            + (st.bullied_weight if self.bullied_now else 0.0)
            + (st.persistent_weight if self.persistent else 0.0)
            + (st.aggression_weight if self.aggressed else 0.0)
            - st.support_weight * self.next_support
            - st.resilience_weight * (self.resilience - 0.5)
        )
        self.next_strain = self.strain + (target - self.strain) / st.time_constant_weeks
        memory = 1 / s.behaviour.norm_memory_weeks
        bullied = 1.0 if self.next_behaviour == BULLYING else 0.0
        self.next_bullying_norm = self.bullying_norm + memory * (bullied - self.bullying_norm)
        self.next_compassion_norm = self.compassion_norm + memory * (
            self.kind_now - self.compassion_norm
        )
        pull = s.socialisation.rate + s.socialisation.newcomer_rate * self.newness
        self.next_compassion = self.compassion + pull * (self.seen("compassion") - self.compassion)

    def commit(self) -> None:
        """Make the staged values this week's state (after everyone has computed theirs)."""
        self.pressure = self.next_pressure
        self.behaviour = self.next_behaviour
        if not self.occupied:
            return
        self.support = self.next_support
        self.strain = self.next_strain
        self.bullying_norm = self.next_bullying_norm
        self.compassion_norm = self.next_compassion_norm
        self.compassion = self.next_compassion
        if self.aggressed:
            self.aggressed_week = self.model.week

    def consider_leaving(self) -> bool:
        """Eq. 11: leave with a chance that rises with strain, bullying and newness."""
        u = self.model.scenario.turnover
        chance = logistic(
            u.baseline_logit
            + self.model.leaving_shift[self.trust]
            + (u.ceo_logit_offset if self.is_chief_executive else 0.0)
            + u.strain_weight * self.strain
            + (u.bullied_weight if self.persistently_bullied else 0.0)
            + u.newcomer_weight * self.newness
        )
        return self.model.streams["turnover"].random() < chance

    def __repr__(self) -> str:
        return f"ReferencePerson(post={self.post}, level={ROLES[self.level]})"


def _plain(value: object) -> object:
    """A numpy scalar as the Python number a per-person agent holds."""
    return value.item() if isinstance(value, np.generic) else value


class ReferenceModel(mesa.Model):
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
        self.recorder = Recorder(scenario, org)
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

    def _count_sources(self) -> None:
        """Eq. 16, staged: the look-back slides a week; acts from the counted source mark it;
        another's act replaces a source with at most one week left (the first such act, in
        post order of the perpetrators)."""
        p = self.scenario.persistence
        mask = (1 << p.window_weeks) - 1
        for person in self.people:
            person.next_source_person = person.source_person
            person.next_source_weeks = (person.source_weeks << 1) & mask
        counted = set()
        for bully, victim, _ in self.acts:
            if victim.source_person == bully.person_id:
                victim.next_source_weeks |= 1
                counted.add(victim.post)
        replaced = set()
        for bully, victim, _ in self.acts:
            if victim.source_person == bully.person_id or victim.post in counted:
                continue
            if victim.post in replaced or victim.next_source_weeks.bit_count() > 1:
                continue
            victim.next_source_person = bully.person_id
            victim.next_source_weeks = 1
            replaced.add(victim.post)

    def phase_adaptation(self, week: Week) -> None:
        """Support, strain, norms, dispositions; then everything is committed at once."""
        t = week.t
        for person in self.people:
            person.adapt()
        self._challenge_persistent_bullying()
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

    def _challenge_persistent_bullying(self) -> None:
        """Eq. 9b, per persistent act in act order: challenged, the perpetrator's habit resets."""
        s, persistence = self.scenario.speaking_up, self.scenario.persistence
        rng = self.streams["speaking_up"]
        for bully, victim, _ in self.acts:
            counted = victim.next_source_person == bully.person_id
            if not counted or victim.next_source_weeks.bit_count() < persistence.min_weeks:
                continue
            boss = bully.manager
            compassion = boss.compassion if boss is not None and boss.occupied else 0.5
            chance = logistic(
                s.challenge_logit
                + s.stance_weight * (self.stance - 0.5)
                + s.manager_compassion_weight * (compassion - 0.5)
            )
            if rng.random() < chance:
                bully.next_bullying_norm = 0.0

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
            self.recorder.record_week(self._observe(week))

    def _log_episodes(self, acts: list, t: int) -> None:
        """A bully idle for more than W weeks starts an episode; a recent victim's is a child."""
        window = self.scenario.cascades.conversion_window_weeks
        started = conversions = 0
        for bully, _, _ in acts:
            if t - bully.bullied_others_week <= window:
                continue
            parent = -1
            if bully.victimised and bully.bullied_in_episode >= 0:
                parent = bully.bullied_in_episode
            episode = len(self.episode_table)
            if parent >= 0:
                root, generation = self.episode_table[parent][1], self.episode_table[parent][2] + 1
                self._offspring[parent] += 1
                conversions += 1
            else:
                root, generation = episode, 0
            self.episode_table.append((parent, root, generation, bully.post, bully.person_id, t))
            self._offspring.append(0)
            bully.episode = episode
            started += 1
        self._new_by_week.append(started)
        self._conversions_by_week.append(conversions)

    # --- measures ------------------------------------------------------------------------

    def state(self) -> People:
        """The agents' state gathered into arrays, attribute by attribute (`ATTRIBUTES`)."""
        return People(
            **{
                a.name: np.array([getattr(p, a.name) for p in self.people], dtype=a.dtype)
                for a in ATTRIBUTES
            }
        )

    def _observe(self, week: Week) -> Observed:
        window = self.scenario.cascades.conversion_window_weeks
        reproduction = float("nan")
        if len(self._new_by_week) == 2 * window:
            earlier = sum(list(self._new_by_week)[:window])
            if earlier:
                reproduction = sum(self._conversions_by_week) / earlier
        return Observed(
            t=week.t,
            scenario=self.scenario,
            org=self.org,
            people=self.state(),
            drivers=week.drivers,
            board=week.board,
            workload=np.array([p.workload for p in self.people]),
            bullies=np.array([b.post for b, _, _ in self.acts], dtype=np.int64),
            victim=np.array([v.post for _, v, _ in self.acts], dtype=np.int64),
            relation=np.array([r for _, _, r in self.acts], dtype=np.int8),
            leavers=week.leavers,
            ceo_exits=week.ceo_exits,
            leaving=week.leaving,
            removed=week.removed,
            rated_quality=week.rated_quality,
            trust_quality=np.array(self.trust_quality),
            harm=week.harm,
            expected_harm=week.expected_harm,
            new_episodes=self._new_by_week[-1],
            conversions=self._conversions_by_week[-1],
            reproduction_number=reproduction,
            agency_share=sum(
                share * len(members)
                for share, members in zip(self.temporary_share, self.trust_posts, strict=True)
            )
            / len(self.people),
            special_measures=sum(self.special_measures),
            special_measures_entries=week.special_measures_entries,
        )

    @property
    def records(self) -> list[dict[str, float]]:
        return self.recorder.records

    def timeseries(self) -> pd.DataFrame:
        """One row per recorded week, with the same columns as CultureModel.timeseries()."""
        return self.recorder.timeseries()

    def episodes(self) -> pd.DataFrame:
        """Every perpetrator episode so far (burn-in included), as CultureModel.episodes()."""
        columns = ["parent", "root", "generation", "post", "person_id", "start_week"]
        table = pd.DataFrame(self.episode_table, columns=columns, dtype=np.int64)
        table["offspring"] = np.asarray(self._offspring, dtype=np.int64)
        table.insert(0, "episode", np.arange(len(table)))
        return table


ReferenceModel.phases = Loop(
    Phase(
        phase.name, phase.equations, phase.summary, getattr(ReferenceModel, f"phase_{phase.name}")
    )
    for phase in PHASES
)
"""The same phases, in the same order, as CultureModel's, each run person by person."""
