"""The model's rules: one short function per mechanism of docs/ODD.md.

Each function is pure: it reads arrays of the state at week t and returns new arrays; the
model commits them all at the end of the step (synchronous updating). Equation numbers refer
to docs/ODD.md section 7 (Submodels). This module holds what each person feels and does in a
week (Eq. 2-7, 9); the other rules live by job in `neighbours` (Eq. 1), `bullying` (Eq. 8, 9b,
15a, 16), `oversight` (Eq. 10, 13, 14) and `workforce` (Eq. 11, 12), and are re-exported here,
so that every rule is reachable as `rules.NAME`.
"""

from __future__ import annotations

import numpy as np

from culturesim.engine.bullying import COLLEAGUE as COLLEAGUE
from culturesim.engine.bullying import MANAGER_TO_REPORT as MANAGER_TO_REPORT
from culturesim.engine.bullying import PUBLIC as PUBLIC
from culturesim.engine.bullying import REPORT_TO_MANAGER as REPORT_TO_MANAGER
from culturesim.engine.bullying import attribute_parent as attribute_parent
from culturesim.engine.bullying import (
    challenge_persistent_bullying as challenge_persistent_bullying,
)
from culturesim.engine.bullying import count_sources as count_sources
from culturesim.engine.bullying import persistent_perpetrators as persistent_perpetrators
from culturesim.engine.bullying import persistently_bullied as persistently_bullied
from culturesim.engine.bullying import pick_targets as pick_targets
from culturesim.engine.neighbours import Neighbourhood as Neighbourhood
from culturesim.engine.neighbours import neighbour_mean as neighbour_mean
from culturesim.engine.neighbours import neighbour_share as neighbour_share
from culturesim.engine.neighbours import neighbourhood as neighbourhood
from culturesim.engine.oversight import board_pressure as board_pressure
from culturesim.engine.oversight import expected_harm as expected_harm
from culturesim.engine.oversight import harm_excess as harm_excess
from culturesim.engine.oversight import regulator_feedback as regulator_feedback
from culturesim.engine.oversight import special_measures_review as special_measures_review
from culturesim.engine.oversight import team_quality as team_quality
from culturesim.engine.rule_tools import compiled
from culturesim.engine.rule_tools import logistic as logistic
from culturesim.engine.scenario import (
    Aggression,
    Behaviour,
    Pressure,
    Socialisation,
    Strain,
    TemporaryStaffing,
    Workload,
)
from culturesim.engine.state import BULLYING, COMPASSIONATE, NEUTRAL
from culturesim.engine.threads import per_person
from culturesim.engine.workforce import hiring_probability as hiring_probability
from culturesim.engine.workforce import leave_probability as leave_probability
from culturesim.engine.workforce import recruitment_effort as recruitment_effort


@per_person(people="trust_funding", result=np.float64)
def workload(
    demand: float,
    trust_funding: np.ndarray,
    staffed_share: np.ndarray,
    staffing_floor: float = Workload.model_fields["staffing_floor"].default,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Eq. 2: workload = demand / (funding x staffed share of one's team); 1 is sustainable.

    The staffed share counts as at least `workload.staffing_floor`.
    """
    load = np.empty(len(trust_funding)) if out is None else out
    _divide_demand(demand, trust_funding, staffed_share, staffing_floor, load)
    return load


@compiled
def _divide_demand(demand, trust_funding, staffed_share, staffing_floor, out):
    for i in range(len(out)):
        out[i] = demand / (trust_funding[i] * max(staffed_share[i], staffing_floor))


def temporary_cover(trust_vacancy: np.ndarray, t: TemporaryStaffing) -> np.ndarray:
    """Eq. 2a: the share of each trust's posts held by bank and agency staff.

    A trust covers `cover` of its vacancies, up to `max_share` of its posts.
    """
    return np.minimum(t.cover * trust_vacancy, t.max_share)


@per_person(result=np.float64)
def covered_staffing(
    staffed_share: np.ndarray,
    vacancies_covered: np.ndarray,
    t: TemporaryStaffing,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Eq. 2a: a team's staffed share with the covered part of its gaps filled by temporary
    staff, each worth `effectiveness` of a substantive member."""
    covered = np.empty(len(staffed_share)) if out is None else out
    _cover_gaps(staffed_share, vacancies_covered, t.effectiveness, covered)
    return covered


@compiled
def _cover_gaps(staffed_share, vacancies_covered, effectiveness, out):
    for i in range(len(out)):
        out[i] = staffed_share[i] + effectiveness * vacancies_covered[i] * (1 - staffed_share[i])


def temporary_staffing_cost(temporary_share: np.ndarray, t: TemporaryStaffing) -> np.ndarray:
    """Eq. 2a: the share of a trust's funding the temporary staff's premium takes."""
    return t.premium * t.pay_share * temporary_share


@per_person(whole=("last_pressure", "compassion", "occupied"), result=np.float64)
def felt_pressure(
    board_pressure: np.ndarray,
    last_pressure: np.ndarray,
    manager: np.ndarray,
    compassion: np.ndarray,
    occupied: np.ndarray,
    p: Pressure,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Eq. 3: the board feels the regulator; each leader passes last week's pressure down.

    pressure_i = transmission x pressure_m(t-1) x (1 - leader_buffering x compassion_m),
    where m is i's manager (an empty manager's post buffers nothing).
    """
    pressure = np.empty(len(board_pressure)) if out is None else out
    _pass_pressure_down(
        board_pressure, last_pressure, manager, compassion, occupied,
        p.transmission, p.leader_buffering, pressure,
    )  # fmt: skip
    return pressure


@compiled
def _pass_pressure_down(
    board_pressure, last_pressure, manager, compassion, occupied, transmission, buffering, out
):
    for i in range(len(out)):
        m = manager[i]
        if m < 0:
            out[i] = board_pressure[i]
        else:
            shield = compassion[m] * occupied[m]
            out[i] = transmission * last_pressure[m] * (1 - buffering * shield)


@per_person(result=np.float64)
def newness(
    tenure_weeks: np.ndarray, newcomer_weeks: float, out: np.ndarray | None = None
) -> np.ndarray:
    """n_i = exp(-tenure_i / `socialisation.newcomer_weeks`): how new someone still is (1 on
    arrival), which every newcomer effect scales with (Eq. 6, 9, 11)."""
    newness = np.empty(len(tenure_weeks)) if out is None else out
    _minus_weeks_over(tenure_weeks, newcomer_weeks, newness)
    return np.exp(newness, out=newness)


@compiled
def _minus_weeks_over(tenure_weeks, newcomer_weeks, out):
    for i in range(len(out)):
        out[i] = -tenure_weeks[i] / newcomer_weeks


@per_person(result=np.float64)
def update_norm(
    norm: np.ndarray, acted: np.ndarray, memory: float, out: np.ndarray | None = None
) -> np.ndarray:
    """Eq. 6's local norms: norm <- norm + (1 / tau)(indicator - norm), tau the memory."""
    updated = np.empty(len(norm)) if out is None else out
    _adjust(norm, acted, float(memory), updated)
    return updated


@compiled
def _adjust(value, target, share, out):
    """value + share x (target - value), a partial adjustment."""
    for i in range(len(out)):
        out[i] = value[i] + share * (target[i] - value[i])


@per_person(result=np.bool_)
def suffer_aggression(
    exposure: np.ndarray,
    level_of_aggression: float,
    demand: float,
    a: Aggression,
    uniform: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Eq. 4: patient and public aggression, a Poisson event at rate x aggression x demand."""
    chance = np.exp(-a.weekly_rate * level_of_aggression * demand * exposure)
    np.subtract(1, chance, out=chance)
    return np.less(uniform, chance, out=out)


@per_person(result=np.float64)
def update_strain(
    strain: np.ndarray,
    workload_now: np.ndarray,
    pressure: np.ndarray,
    bullied: np.ndarray,
    persistent: np.ndarray,
    aggressed: np.ndarray,
    support: np.ndarray,
    resilience: np.ndarray,
    s: Strain,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Eq. 5: strain moves a step towards a target set by load, mistreatment and support.

    A negative act raises the target in its week (acute); persistent bullying raises it for as
    long as it lasts (chronic, the construct of Nielsen & Einarsen 2012).
    """
    weights = (
        s.baseline_logit,
        s.workload_weight,
        s.pressure_weight,
        s.bullied_weight,
        s.persistent_weight,
        s.aggression_weight,
        s.support_weight,
        s.resilience_weight,
    )
    new_strain = np.empty(len(strain)) if out is None else out
    _strain_minus_logit(
        workload_now, pressure, bullied, persistent, aggressed, support, resilience, weights,
        new_strain,
    )  # fmt: skip
    np.exp(new_strain, out=new_strain)
    _step_strain(strain, new_strain, s.time_constant_weeks, new_strain)
    return new_strain


@compiled
def _strain_minus_logit(
    workload_now, pressure, bullied, persistent, aggressed, support, resilience, weights, out
):
    """-(the logit of Eq. 5's target), for `np.exp`."""
    (
        baseline,
        workload_w,
        pressure_w,
        bullied_w,
        persistent_w,
        aggression_w,
        support_w,
        resilience_w,
    ) = weights
    for i in range(len(out)):
        out[i] = -(
            baseline
            + workload_w * (workload_now[i] - 1)
            + pressure_w * pressure[i]
            + bullied_w * bullied[i]
            + persistent_w * persistent[i]
            + aggression_w * aggressed[i]
            - support_w * support[i]
            - resilience_w * (resilience[i] - 0.5)
        )


@compiled
def _step_strain(strain, exp_minus_logit, time_constant_weeks, out):
    """strain + (target - strain) / T, target the logistic of Eq. 5's logit."""
    for i in range(len(out)):
        target = 1.0 / (1.0 + exp_minus_logit[i])
        out[i] = strain[i] + (target - strain[i]) / time_constant_weeks


@per_person(result=np.int8)
def choose_behaviour(
    strain: np.ndarray,
    compassion: np.ndarray,
    persistent: np.ndarray,
    own_bullying: np.ndarray,
    support: np.ndarray,
    bullying_seen: np.ndarray,
    compassion_seen: np.ndarray,
    newness: np.ndarray,
    is_leader: np.ndarray,
    b: Behaviour,
    uniform: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Eq. 6-7: bully with p_b; otherwise act compassionately with p_c; else neutrally.

    Victimisation acts through persistent bullying (Hauge et al. 2009's construct); one's own
    recent bullying (habit) keeps a perpetrator at it.
    """
    weights = (
        b.bullying_baseline_logit,
        b.leader_logit_offset,
        b.strain_weight,
        b.victimisation_weight,
        b.habit_weight,
        b.norm_weight,
        b.compassion_weight,
        b.support_weight,
        b.compassion_baseline_logit,
        b.compassion_disposition_weight,
        b.compassion_strain_weight,
        b.compassion_norm_weight,
        b.newcomer_norm_boost,
    )
    minus_logits = np.empty((2, len(strain)))
    _behaviour_minus_logits(
        strain, compassion, persistent, own_bullying, support, bullying_seen, compassion_seen,
        newness, is_leader, weights, minus_logits[0], minus_logits[1],
    )  # fmt: skip
    np.exp(minus_logits, out=minus_logits)
    behaviour = np.empty(len(strain), dtype=np.int8) if out is None else out
    _pick_behaviour(minus_logits[0], minus_logits[1], uniform, behaviour)
    return behaviour


@compiled
def _behaviour_minus_logits(
    strain, compassion, persistent, own_bullying, support, bullying_seen, compassion_seen,
    newness, is_leader, weights, bully_out, kind_out,
):  # fmt: skip
    """-(Eq. 6's logits of p_b and p_c), for `np.exp`."""
    (
        bully_baseline, leader_offset, strain_w, victimisation_w, habit_w, norm_w,
        compassion_w, support_w,
        kind_baseline, disposition_w, kind_strain_w, kind_norm_w,
        newcomer_boost,
    ) = weights  # fmt: skip
    for i in range(len(strain)):
        learning = 1 + newcomer_boost * newness[i]
        bully_out[i] = -(
            bully_baseline
            + leader_offset * is_leader[i]
            + strain_w * strain[i]
            + victimisation_w * persistent[i]
            + habit_w * own_bullying[i]
            + norm_w * learning * bullying_seen[i]
            - compassion_w * (compassion[i] - 0.5)
            - support_w * support[i]
        )
        kind_out[i] = -(
            kind_baseline
            + disposition_w * (compassion[i] - 0.5)
            - kind_strain_w * strain[i]
            + kind_norm_w * learning * (compassion_seen[i] - 0.5)
        )


@compiled
def _pick_behaviour(exp_minus_bully, exp_minus_kind, uniform, behaviour):
    """Eq. 7: one draw u; bullying if u < p_b, else compassion if u < p_b + (1 - p_b) p_c."""
    for i in range(len(uniform)):
        p_bully = 1.0 / (1.0 + exp_minus_bully[i])
        p_kind = 1.0 / (1.0 + exp_minus_kind[i])
        bullies = uniform[i] < p_bully
        kind = uniform[i] < p_bully + (1 - p_bully) * p_kind
        # bullying if u < p_b, else compassion if u < p_b + (1 - p_b) p_c, else neutral
        behaviour[i] = (
            NEUTRAL
            + (COMPASSIONATE - NEUTRAL) * (kind | bullies)
            + (BULLYING - COMPASSIONATE) * bullies
        )


@per_person(result=np.float64)
def socialise(
    compassion: np.ndarray,
    compassion_around: np.ndarray,
    newness: np.ndarray,
    occupied: np.ndarray,
    s: Socialisation,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Eq. 9: disposition drifts towards that of one's colleagues and manager, with a pull of
    rate + newcomer_rate x newness; a vacant post's value stays as it is."""
    socialised = np.empty(len(compassion)) if out is None else out
    _socialise(
        compassion, compassion_around, newness, occupied, s.rate, s.newcomer_rate, socialised
    )
    return socialised


@compiled
def _socialise(compassion, compassion_around, newness, occupied, rate, newcomer_rate, out):
    for i in range(len(out)):
        if occupied[i]:
            pull = rate + newcomer_rate * newness[i]
            out[i] = compassion[i] + pull * (compassion_around[i] - compassion[i])
        else:
            out[i] = compassion[i]
