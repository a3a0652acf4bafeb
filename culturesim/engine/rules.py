"""The model's rules: one short vectorised function per mechanism of docs/ODD.md.

Each function is pure: it reads arrays of the state at week t and returns new arrays; the
model commits them all at the end of the step (synchronous updating). Equation numbers refer
to docs/ODD.md section 7 (Submodels).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from culturesim.engine.neighbours import Neighbourhood as Neighbourhood  # Eq. 1, re-exported
from culturesim.engine.neighbours import neighbour_mean as neighbour_mean
from culturesim.engine.neighbours import neighbour_share as neighbour_share
from culturesim.engine.neighbours import neighbourhood as neighbourhood
from culturesim.engine.scenario import (
    Aggression,
    Behaviour,
    Persistence,
    Pressure,
    Quality,
    Recruitment,
    Regulator,
    Socialisation,
    SpeakingUp,
    SpecialMeasures,
    Strain,
    Targets,
    TemporaryStaffing,
    Turnover,
    Workload,
)
from culturesim.engine.state import BULLYING, COMPASSIONATE, NEUTRAL
from culturesim.engine.threads import per_person

MANAGER_TO_REPORT, COLLEAGUE, REPORT_TO_MANAGER, PUBLIC = 0, 1, 2, 3


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


_compiling = threading.Lock()


def compiled(loop: Callable[..., None]) -> Callable[..., None]:
    """A rule's loop over people, compiled by numba on its first call (and cached on disk).

    The busiest rules (Eq. 2, 2a, 3, 5, 6-7, 6's norms, 8's choice of target, 9, 11 and
    newness) are written as one loop over people rather than as a dozen numpy expressions,
    each a pass over the population: the same operations in the same order, so the same bits
    (`tests/test_golden.py`), at a fraction of the cost (issue 11). Their `exp` stays numpy's,
    between two loops: numba's differs from it in the last bit for some arguments. Division is
    compiled without Python's zero check (`error_model="numpy"`), which lets the loops run on
    vectors: a division by zero gives inf or nan, as numpy's does, without its warning.
    """
    kernel = None

    @functools.wraps(loop)
    def run(*args: Any) -> None:
        nonlocal kernel
        if kernel is None:
            with _compiling:
                if kernel is None:
                    import numba

                    kernel = numba.njit(cache=True, nogil=True, error_model="numpy")(loop)
        kernel(*args)

    return run


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


@per_person(whole=("manager", "first_report", "n_reports"))
def pick_targets(
    perpetrators: np.ndarray,
    manager: np.ndarray,
    first_report: np.ndarray,
    n_reports: np.ndarray,
    peers: sp.csr_matrix,
    t: Targets,
    uniform_relation: np.ndarray,
    uniform_person: np.ndarray,
    last_target: np.ndarray,
    uniform_repeat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 8: a bully picks their last target again, or a report, a colleague or their manager.

    `last_target` is each bully's last target's post, -1 where that person is no longer in
    it; they are picked again with chance `repeat_probability`. Otherwise a relation is chosen
    with probability proportional to its weight, among the relations the bully has (reports,
    colleague ties, a manager), then one person in it. Power makes downward weight the largest.
    """
    victim = np.empty(len(perpetrators), dtype=np.int64)
    relation = np.empty(len(perpetrators), dtype=np.int8)
    weights = (t.downward_weight, t.sideways_weight, t.upward_weight, t.repeat_probability)
    _pick_targets(
        perpetrators, manager, first_report, n_reports, peers.indptr, peers.indices, weights,
        uniform_relation, uniform_person, last_target, uniform_repeat, victim, relation,
    )  # fmt: skip
    return victim, relation


@compiled
def _pick_targets(
    perpetrators, manager, first_report, n_reports, colleagues_from, colleague, weights,
    uniform_relation, uniform_person, last_target, uniform_repeat, victims, relations,
):  # fmt: skip
    downward, sideways, upward, repeat_probability = weights
    for k in range(len(perpetrators)):
        bully = perpetrators[k]
        first_colleague = colleagues_from[bully]
        colleagues = colleagues_from[bully + 1] - first_colleague
        down = downward * (n_reports[bully] > 0)
        down_or_side = down + sideways * (colleagues > 0)
        total = down_or_side + upward * (manager[bully] >= 0)
        scale = total if total > 0 else 1.0
        u = uniform_relation[k]
        relation = (u >= down / scale) + (u >= down_or_side / scale) + (u >= total / scale)
        victim = -1
        if total == 0:  # nobody to bully
            relation = -1
        elif relation == MANAGER_TO_REPORT:
            victim = first_report[bully] + np.int64(uniform_person[k] * n_reports[bully])
        elif relation == COLLEAGUE:
            victim = colleague[first_colleague + np.int64(uniform_person[k] * colleagues)]
        elif relation == REPORT_TO_MANAGER:
            victim = manager[bully]
        if last_target[k] >= 0 and uniform_repeat[k] < repeat_probability:  # the same again
            victim = last_target[k]
            if manager[victim] == bully:
                relation = MANAGER_TO_REPORT
            elif manager[bully] == victim:
                relation = REPORT_TO_MANAGER
            else:
                relation = COLLEAGUE
        victims[k] = victim
        relations[k] = relation


def count_sources(
    source_person: np.ndarray,
    source_weeks: np.ndarray,
    victim: np.ndarray,
    perpetrator_person: np.ndarray,
    p: Persistence,
) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 16: each person counts the weeks with negative acts from one source.

    `source_weeks` is a bit mask over the last `window_weeks` weeks (bit j: j weeks ago); it
    slides by a week. An act from the counted source marks this week. An act from anyone else
    makes that person the counted source when the old one has at most one week left in the
    look-back (of several such acts in a week, the first perpetrator's in post order).
    """
    from culturesim.engine.sums import first_of_each  # numba: compiled on first use

    weeks = (source_weeks << 1) & np.uint32((1 << p.window_weeks) - 1)
    person = source_person.copy()
    same = person[victim] == perpetrator_person
    weeks[victim[same]] |= np.uint32(1)
    counted = np.zeros(len(person), dtype=bool)
    counted[victim[same]] = True
    other = ~same & ~counted[victim]
    others = victim[other]
    first = first_of_each(others)  # each victim's first such act, in post order
    newly = others[first]
    replace = np.bitwise_count(weeks[newly]) <= 1
    person[newly[replace]] = perpetrator_person[other][first[replace]]
    weeks[newly[replace]] = 1
    return person, weeks


def attribute_parent(
    victim: np.ndarray, bullies: np.ndarray, from_source: np.ndarray, level: np.ndarray
) -> np.ndarray:
    """Eq. 15a: which of this week's acts on a victim their next episode would descend from.

    One act per victim, by a stated rule rather than by whichever write came last: the act of
    the victim's counted persistent source (Eq. 16) if it is among them; else the most senior
    perpetrator's (the lowest level, nearest the board: bullying runs downwards); else the
    perpetrator in the lowest post. Returns the indices of the chosen acts.
    """
    from culturesim.engine.sums import first_of_each  # numba: compiled on first use

    order = np.lexsort((bullies, level[bullies], ~from_source))
    return order[first_of_each(victim[order])]


def persistently_bullied(source_weeks: np.ndarray, p: Persistence) -> np.ndarray:
    """Persistent bullying: acts from one source in at least `min_weeks` of the look-back."""
    return np.bitwise_count(source_weeks) >= p.min_weeks


def persistent_perpetrators(
    person_id: np.ndarray, source_person: np.ndarray, persistent: np.ndarray
) -> np.ndarray:
    """Whoever is the counted source of someone persistently bullied (`person_id` is never
    negative; a source of -1, nobody, matches no one)."""
    from culturesim.engine.sums import among  # numba: compiled on first use

    return among(person_id, source_person[persistent])


def challenge_persistent_bullying(
    manager_compassion: np.ndarray, stance: float, s: SpeakingUp, uniform: np.ndarray
) -> np.ndarray:
    """Eq. 9b: a persistent perpetrator's bullying is raised and acted on with p_r.

    Whoever is challenged stops: their own recent bullying, the habit of Eq. 6, is reset, so no
    perpetrator is locked in for good. Staff speak up more under a supportive stance and
    managers act more when compassionate.
    """
    p_challenge = logistic(
        s.challenge_logit
        + s.stance_weight * (stance - 0.5)
        + s.manager_compassion_weight * (manager_compassion - 0.5)
    )
    return uniform < p_challenge


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


def expected_harm(
    harm_rate: float, demand: float, frontline_posts: np.ndarray, case_mix: np.ndarray
) -> np.ndarray:
    """Eq. 10b: each trust's expected harm events this week, from demand and case mix."""
    return harm_rate * demand * frontline_posts * case_mix


def harm_excess(trust_quality: np.ndarray, q: Quality) -> np.ndarray:
    """Eq. 10b: harm's multiplier over expected, 1 + k (Q_ref - Q), never below 0."""
    return np.maximum(1 + q.harm_excess_weight * (q.reference_quality - trust_quality), 0.0)


def team_quality(
    staffed_share: np.ndarray,
    mean_strain: np.ndarray,
    bullied_share: np.ndarray,
    compassion_climate: np.ndarray,
    q: Quality,
) -> np.ndarray:
    """Eq. 10: a team's care quality from staffing, strain, rudeness and compassion."""
    quality = (
        staffed_share**q.staffing_exponent
        * (1 - q.strain_penalty * mean_strain)
        * (1 - q.rudeness_penalty * bullied_share)
        * (1 + q.compassion_gain * (compassion_climate - 0.5))
    )
    return np.clip(quality, 0.0, 1.0)


@per_person(result=np.float64)
def leave_probability(
    strain: np.ndarray,
    persistent: np.ndarray,
    newness: np.ndarray,
    is_chief_executive: np.ndarray,
    u: Turnover,
    trust_shift: np.ndarray | float = 0.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Eq. 11: the weekly chance of leaving rises with strain, persistent bullying, newness.

    `trust_shift` is each post's trust effect on the logit (its local labour market).
    """
    weights = (
        u.baseline_logit,
        u.ceo_logit_offset,
        u.strain_weight,
        u.bullied_weight,
        u.newcomer_weight,
    )
    chance = np.empty(len(strain)) if out is None else out
    _leaving_minus_logit(
        strain, persistent, newness, is_chief_executive,
        np.broadcast_to(np.asarray(trust_shift, dtype=float), chance.shape), weights, chance,
    )  # fmt: skip
    np.exp(chance, out=chance)
    np.add(1.0, chance, out=chance)
    return np.divide(1.0, chance, out=chance)


@compiled
def _leaving_minus_logit(strain, persistent, newness, is_chief_executive, shift, weights, out):
    """-(Eq. 11's logit), for `np.exp`."""
    baseline, ceo_offset, strain_w, bullied_w, newcomer_w = weights
    for i in range(len(out)):
        out[i] = -(
            baseline
            + shift[i]
            + ceo_offset * is_chief_executive[i]
            + strain_w * strain[i]
            + bullied_w * persistent[i]
            + newcomer_w * newness[i]
        )


def recruitment_effort(
    trust_vacancy: np.ndarray,
    special_measures: np.ndarray,
    r: Recruitment,
    sm: SpecialMeasures,
) -> np.ndarray:
    """Eq. 12a: recruitment effort rises with vacancies above the usual rate (and in special
    measures), up to the labour market's limit `max_effort`."""
    effort = (
        1
        + r.effort_gain * np.maximum(trust_vacancy - r.usual_vacancy, 0.0)
        + sm.recruitment_boost * special_measures
    )
    return np.minimum(effort, r.max_effort)


@per_person
def hiring_probability(
    base_rate: np.ndarray,
    trust_funding: np.ndarray,
    trust_bullying: np.ndarray,
    u: Turnover,
    effort: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Eq. 12: a vacancy fills faster with money (up to `funding_cap`) and recruitment effort
    (Eq. 12a), and slower in a trust known for bullying.

    `base_rate` is the post's rate at funding 1: `executive_hiring_rate` for chief executives
    and directors (an interim is appointed within weeks), `weekly_hiring_rate` for the rest.
    """
    return np.clip(
        base_rate
        * effort
        * np.minimum(trust_funding, u.funding_cap)
        * np.exp(-u.reputation_penalty * trust_bullying),
        0.0,
        1.0,
    )


def regulator_feedback(
    trust_quality: np.ndarray,
    extra_pressure: np.ndarray,
    extra_support: np.ndarray,
    stance: float,
    r: Regulator,
    special_measures: np.ndarray | None = None,
    relief: float = SpecialMeasures.model_fields["pressure_relief"].default,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eq. 13: at each rating, shortfall becomes pressure (punitive) or support (supportive).

    A trust in special measures (Eq. 13a) gets no new blame: its extra pressure is cut by
    `relief` instead. Returns the new extra pressure, the new extra support (a share of
    funding) and each trust's chance that its chief executive is removed.
    """
    shortfall = np.maximum(r.quality_target - trust_quality, 0.0)
    pressure = np.minimum(
        r.feedback_decay * extra_pressure + r.pressure_gain * (1 - stance) * shortfall,
        r.max_extra_pressure,
    )
    if special_measures is not None:
        pressure = np.where(special_measures, (1 - relief) * extra_pressure, pressure)
    support = np.minimum(
        r.feedback_decay * extra_support + r.support_gain * stance * shortfall,
        r.max_extra_support,
    )
    removal = np.where(
        trust_quality < r.inadequate_quality, r.ceo_removal_probability * (1 - stance), 0.0
    )
    return pressure, support, removal


def special_measures_review(
    rated_inadequate: np.ndarray,
    inadequate_ratings: np.ndarray,
    in_special_measures: np.ndarray,
    weeks_in: np.ndarray,
    sm: SpecialMeasures,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eq. 13a: a trust rated inadequate `entry_ratings` times in a row enters special
    measures, under either stance; after `min_weeks` it exits at the first rating that is not
    inadequate.

    Returns each trust's run of inadequate ratings, and which trusts enter and exit now.
    """
    run = np.where(rated_inadequate, inadequate_ratings + 1, 0)
    entering = ~in_special_measures & (run >= sm.entry_ratings)
    exiting = in_special_measures & (weeks_in >= sm.min_weeks) & ~rated_inadequate
    return run, entering, exiting


def board_pressure(
    regulator_pressure: float, extra_pressure: np.ndarray, stance: float, r: Regulator
) -> np.ndarray:
    """Eq. 14: what a board feels: targets plus feedback, softened by a supportive stance."""
    return (regulator_pressure + extra_pressure) * (1 - r.stance_buffering * stance)
