"""Rules of bullying acts and their persistence (docs/ODD.md Eq. 8, 9b, 15a, 16): whom a bully
picks, the source each person counts, which act an episode descends from, and the challenge that
stops a persistent perpetrator. Re-exported by culturesim.engine.rules.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from culturesim.engine.rule_tools import compiled, logistic
from culturesim.engine.scenario import Persistence, SpeakingUp, Targets
from culturesim.engine.threads import per_person

MANAGER_TO_REPORT, COLLEAGUE, REPORT_TO_MANAGER, PUBLIC = 0, 1, 2, 3


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
