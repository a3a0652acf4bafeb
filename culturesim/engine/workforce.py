"""Rules of the workforce (docs/ODD.md Eq. 11, 12, 12a): who leaves, how hard a trust recruits,
and how fast a vacancy fills. Re-exported by culturesim.engine.rules.
"""

from __future__ import annotations

import numpy as np

from culturesim.engine.rule_tools import compiled
from culturesim.engine.scenario import Recruitment, SpecialMeasures, Turnover
from culturesim.engine.threads import per_person


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
