"""ReferencePerson: one post of the per-person reference engine, its rules typed out as scalars.

Each method is an equation of docs/ODD.md section 7 for one person (`choose` is Eq. 6-7,
`pick_target` Eq. 8, `adapt` Eq. 1, 5 and 9, `leave_chance` Eq. 11); the model that owns the
people, runs the phases and keeps the books is `culturesim.engine.reference.ReferenceModel`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from culturesim.engine.organisation import (
    LEADER_LEVELS,
)
from culturesim.engine.scenario import ROLES
from culturesim.engine.state import (
    BULLYING,
    COMPASSIONATE,
    NEUTRAL,
    TRAITS,
)

if TYPE_CHECKING:
    from culturesim.engine.reference import ReferenceModel

MANAGER_TO_REPORT, COLLEAGUE, REPORT_TO_MANAGER = 0, 1, 2


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

    def persistently_bullied_by(self, bully: ReferencePerson) -> bool:
        """Eq. 16, staged: this week's act of `bully` makes or keeps them the counted source."""
        persistence = self.model.scenario.persistence
        return (
            self.next_source_person == bully.person_id
            and self.next_source_weeks.bit_count() >= persistence.min_weeks
        )

    def is_challenged(self, stance: float) -> bool:
        """Eq. 9b: this persistent perpetrator's bullying is raised and acted on."""
        s = self.model.scenario.speaking_up
        boss = self.manager
        compassion = boss.compassion if boss is not None and boss.occupied else 0.5
        chance = logistic(
            s.challenge_logit
            + s.stance_weight * (stance - 0.5)
            + s.manager_compassion_weight * (compassion - 0.5)
        )
        return self.model.streams["speaking_up"].random() < chance

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
