"""The people's state: one numpy array per attribute, indexed by post.

Every attribute is listed here with its dtype and meaning; nothing else in the model keeps
per-person state. A vacant post has `occupied == False` and its other values are meaningless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from culturesim.engine.organisation import Organisation
from culturesim.engine.scenario import ROLES, Scenario

NEVER = -(10**6)
"""The week stored for 'has never happened' (far enough back to fall outside every window)."""

NEUTRAL, COMPASSIONATE, BULLYING = 0, 1, 2


@dataclass
class People:
    occupied: np.ndarray  # bool: someone holds the post
    person_id: np.ndarray  # int64: who (new id at every hire)
    tenure_weeks: np.ndarray  # int32: weeks in post
    compassion: np.ndarray  # float64 0-1: compassion disposition (trait, socialised)
    resilience: np.ndarray  # float64 0-1: personal resilience (trait)
    trained: np.ndarray  # bool: took part in a compassionate-leadership programme
    strain: np.ndarray  # float64 0-1
    pressure: np.ndarray  # float64 >= 0: pressure felt from above this week
    support: np.ndarray  # float64 0-1: compassion received this week
    behaviour: np.ndarray  # int8: NEUTRAL, COMPASSIONATE or BULLYING this week
    bullying_norm: np.ndarray  # float64 0-1: own recent share of weeks bullying (smoothed)
    compassion_norm: np.ndarray  # float64 0-1: own recent share of weeks compassionate
    bullied_by_manager_week: np.ndarray  # int32: last week bullied by one's manager
    bullied_by_colleague_week: np.ndarray  # int32: ... by a colleague or a report
    aggressed_week: np.ndarray  # int32: ... aggression from a patient or the public
    bullied_others_week: np.ndarray  # int32: last week this person bullied someone
    episode: np.ndarray  # int64: current perpetrator episode (cascade node), -1 none
    bullied_in_episode: np.ndarray  # int64: episode of the last staff member who bullied them

    @property
    def bullied_week(self) -> np.ndarray:
        """Last week bullied by any member of staff."""
        return np.maximum(self.bullied_by_manager_week, self.bullied_by_colleague_week)


def draw_traits(
    scenario: Scenario, level: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Compassion and resilience for people at these levels, normal per role clipped to 0-1."""
    compassion = np.empty(len(level))
    resilience = np.empty(len(level))
    for depth, role in enumerate(ROLES):
        here = level == depth
        traits = getattr(scenario.population, role)
        compassion[here] = traits.compassion_mean + traits.compassion_sd * rng.standard_normal(
            here.sum()
        )
        resilience[here] = traits.resilience_mean + traits.resilience_sd * rng.standard_normal(
            here.sum()
        )
    return np.clip(compassion, 0, 1), np.clip(resilience, 0, 1)


def initial_people(scenario: Scenario, org: Organisation, rng: np.random.Generator) -> People:
    """Every post filled, tenures spread as in a settled workforce, strain at its resting level."""
    n = org.n_posts
    compassion, resilience = draw_traits(scenario, org.level, rng)
    resting = 1 / (1 + np.exp(-scenario.strain.baseline_logit))
    never = np.full(n, NEVER, dtype=np.int32)
    return People(
        occupied=np.ones(n, dtype=bool),
        person_id=np.arange(n, dtype=np.int64),
        tenure_weeks=rng.geometric(1 / 400, n).astype(np.int32),
        compassion=compassion,
        resilience=resilience,
        trained=np.zeros(n, dtype=bool),
        strain=np.full(n, resting),
        pressure=np.zeros(n),
        support=np.full(n, 0.5),
        behaviour=np.zeros(n, dtype=np.int8),
        bullying_norm=np.zeros(n),
        compassion_norm=np.full(n, 0.5),
        bullied_by_manager_week=never.copy(),
        bullied_by_colleague_week=never.copy(),
        aggressed_week=never.copy(),
        bullied_others_week=never.copy(),
        episode=np.full(n, -1, dtype=np.int64),
        bullied_in_episode=np.full(n, -1, dtype=np.int64),
    )


def hire(
    people: People,
    posts: np.ndarray,
    scenario: Scenario,
    org: Organisation,
    next_person_id: int,
    rng: np.random.Generator,
) -> int:
    """Put new people into these vacant posts; returns the next unused person id."""
    compassion, resilience = draw_traits(scenario, org.level[posts], rng)
    reset_person(people, posts, scenario)
    people.occupied[posts] = True
    people.person_id[posts] = next_person_id + np.arange(len(posts))
    people.compassion[posts] = compassion
    people.resilience[posts] = resilience
    return next_person_id + len(posts)


def reset_person(people: People, posts: np.ndarray, scenario: Scenario) -> None:
    """Clear a post's personal history when its holder leaves."""
    people.occupied[posts] = False
    people.tenure_weeks[posts] = 0
    people.trained[posts] = False
    people.strain[posts] = 1 / (1 + np.exp(-scenario.strain.baseline_logit))
    people.support[posts] = 0.5
    people.behaviour[posts] = 0
    people.bullying_norm[posts] = 0.0
    people.compassion_norm[posts] = 0.5
    for name in (
        "bullied_by_manager_week",
        "bullied_by_colleague_week",
        "aggressed_week",
        "bullied_others_week",
    ):
        getattr(people, name)[posts] = NEVER
    people.episode[posts] = -1
    people.bullied_in_episode[posts] = -1
