"""Rules of care and oversight (docs/ODD.md Eq. 10, 10b, 13, 13a, 14): team care quality and
harm, the regulator's feedback, special measures, and the pressure a board feels.
Re-exported by culturesim.engine.rules.
"""

from __future__ import annotations

import numpy as np

from culturesim.engine.scenario import Quality, Regulator, SpecialMeasures


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
