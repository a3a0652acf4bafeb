"""The people's state: one numpy array per attribute, indexed by post.

Every person attribute is declared once, in `ATTRIBUTES` (name, dtype, start value, value when
the post falls vacant, meaning); `People`, the start of a run (`initial_people`), leaving
(`reset_person`), hiring (`hire`), the agents table and the reference engine's agents are all
made from it, so adding an attribute is one edit. Nothing else in the model keeps per-person
state. A vacant post has `occupied == False` and its other values are meaningless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, make_dataclass
from typing import Any

import numpy as np

from culturesim.engine.organisation import Organisation
from culturesim.engine.scenario import ROLES, Scenario

NEVER = -(10**6)
"""The week stored for 'has never happened' (far enough back to fall outside every window)."""

NEUTRAL, COMPASSIONATE, BULLYING = 0, 1, 2

ID_LIMIT = np.iinfo(np.int32).max
"""People and episodes are numbered in int32 while the run goes (half the memory of int64 at
1.4 million posts); the tables hold person and episode ids as int64."""


def resting_strain(scenario: Scenario) -> float:
    """Strain at rest: logistic(`strain.baseline_logit`)."""
    return 1 / (1 + np.exp(-scenario.strain.baseline_logit))


@dataclass(frozen=True)
class Start:
    """What a start value may depend on: drawn once, in `initial_people`."""

    scenario: Scenario
    org: Organisation
    rng: np.random.Generator
    traits: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return self.org.n_posts


TRAIT = "trait"
"""Start value of a trait: drawn per role from `population.<role>.<name>_mean` and `_sd`."""
KEPT = "kept"
"""Vacancy value of an attribute a vacant post keeps (it is overwritten at the next hire)."""


@dataclass(frozen=True)
class Attribute:
    """One per-person attribute: its array's dtype, start value and value on vacancy.

    `start` and `vacant` are a constant, a function (of a `Start`, or of the scenario), or
    `TRAIT` / `KEPT`. `table` is its dtype in the agents table, or None if it is not written.
    """

    name: str
    dtype: type
    start: Any
    vacant: Any
    doc: str
    table: type | None = None

    def start_values(self, start: Start) -> np.ndarray:
        if self.start == TRAIT:
            return start.traits[self.name]
        if callable(self.start):
            return np.asarray(self.start(start)).astype(self.dtype, copy=False)
        return np.full(start.n, self.start, dtype=self.dtype)

    def vacant_value(self, scenario: Scenario) -> Any:
        """The value a post takes when its holder leaves (KEPT: left as it was)."""
        return self.vacant(scenario) if callable(self.vacant) else self.vacant


def _starting_tenure(start: Start) -> np.ndarray:
    """Geometric, as in a settled workforce, with the scenario's mean."""
    return start.rng.geometric(1 / start.scenario.population.mean_start_tenure_weeks, start.n)


def _resting(start: Start | Scenario) -> np.ndarray | float:
    if isinstance(start, Start):
        return np.full(start.n, resting_strain(start.scenario))
    return resting_strain(start)


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("occupied", bool, True, False, "someone holds the post", bool),
    Attribute("person_id", np.int32, lambda s: np.arange(s.n), KEPT, "who (new at hire)", np.int64),
    Attribute("tenure_weeks", np.int32, _starting_tenure, 0, "weeks in post", np.int32),
    Attribute(
        "compassion", np.float64, TRAIT, KEPT, "compassion disposition 0-1 (socialised)", np.float32
    ),
    Attribute("resilience", np.float64, TRAIT, KEPT, "personal resilience 0-1", np.float32),
    Attribute("trained", bool, False, False, "took part in a leadership programme", bool),
    Attribute("strain", np.float64, _resting, _resting, "strain 0-1", np.float32),
    Attribute("pressure", np.float64, 0.0, KEPT, "pressure felt from above this week", np.float32),
    Attribute("support", np.float64, 0.5, 0.5, "compassion received this week, 0-1"),
    Attribute("behaviour", np.int8, NEUTRAL, NEUTRAL, "behaviour this week (0/1/2)", np.int8),
    Attribute("bullying_norm", np.float64, 0.0, 0.0, "own recent share of weeks bullying"),
    Attribute("compassion_norm", np.float64, 0.5, 0.5, "own recent share of weeks compassionate"),
    Attribute("bullied_by_manager_week", np.int32, NEVER, NEVER, "last week bullied by a manager"),
    Attribute("bullied_by_colleague_week", np.int32, NEVER, NEVER, "... by a colleague or report"),
    Attribute("aggressed_week", np.int32, NEVER, NEVER, "... by a patient or the public"),
    Attribute("bullied_others_week", np.int32, NEVER, NEVER, "last week they bullied someone"),
    Attribute("episode", np.int32, -1, -1, "current perpetrator episode (cascade node), -1 none"),
    Attribute("bullied_in_episode", np.int32, -1, -1, "episode a conversion descends from"),
    Attribute("source_person", np.int32, -1, -1, "the one source whose acts they count, -1 none",
              np.int64),
    Attribute("source_weeks", np.uint32, 0, 0, "weeks with acts from it (bit j: j weeks ago)"),
    Attribute("target_post", np.int32, -1, -1, "post of the person they last bullied, -1 none"),
    Attribute("target_person", np.int32, -1, -1, "who that was (a repeat needs the same person)"),
)  # fmt: skip
"""Every per-person attribute, in the order of `People`'s fields (docs/ODD.md section 2)."""

POST_VALUED = ("target_post",)
"""Attributes whose values are posts (-1 for none): they move with the posts when replicates
sit side by side (culturesim.engine.replicates)."""

TRAITS = tuple(a.name for a in ATTRIBUTES if a.start == TRAIT)
"""Attributes drawn per role at the start and at every hire (compassion, resilience)."""


def _bullied_week(self) -> np.ndarray:
    """Last week bullied by any member of staff."""
    return np.maximum(self.bullied_by_manager_week, self.bullied_by_colleague_week)


People = make_dataclass(
    "People",
    [(a.name, np.ndarray) for a in ATTRIBUTES],
    namespace={"bullied_week": property(_bullied_week), "__module__": __name__},
)
People.__doc__ = "The people's state, one array per attribute of `ATTRIBUTES`, indexed by post."


class PostsView:
    """The people at some posts (a replicate's, `posts` a slice): each attribute, when first
    read, a view of the whole state's array at those posts. A week's measures read about a
    third of the attributes, so a replicate side by side no longer makes views of them all
    (issue 11)."""

    _names = frozenset(a.name for a in ATTRIBUTES)

    def __init__(self, people: People, posts: slice) -> None:
        self._people, self._posts = people, posts

    def __getattr__(self, name: str) -> np.ndarray:
        if name not in PostsView._names:
            raise AttributeError(name)
        view = getattr(self._people, name)[self._posts]
        self.__dict__[name] = view
        return view

    bullied_week = property(_bullied_week)


def draw_traits(
    scenario: Scenario,
    level: np.ndarray,
    rng: np.random.Generator | Sequence[np.random.Generator],
    compassion_shift: np.ndarray | float = 0.0,
    runs: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """Each trait for people at these levels: normal per role, clipped to 0-1.

    `compassion_shift` moves the mean compassion of each post (its trust's leadership effect).
    Replicates side by side (culturesim.engine.replicates) draw together: `level` holds each
    run's people in turn, `runs` how many are each's and `rng` each's stream. A run draws from
    its stream role by role, each trait in turn for everyone of that role, in post order.
    """
    if len(level) == 0:
        return {name: np.empty(0) for name in TRAITS}  # nobody to draw for: nothing drawn
    streams = [rng] if isinstance(rng, np.random.Generator) else list(rng)
    runs = [len(level)] if runs is None else runs
    roles = len(ROLES)
    group = level  # a run's role
    if len(streams) > 1:
        group = np.repeat(np.arange(len(streams)) * roles, runs) + level
    order = np.argsort(group, kind="stable")
    sizes = np.bincount(group, minlength=len(streams) * roles)
    normals = np.empty((len(TRAITS), len(level)))
    first = 0
    for at in np.flatnonzero(sizes).tolist():  # an empty draw would take nothing either way
        stream, size = streams[at // roles], int(sizes[at])
        for drawn in normals[:, first : first + size]:
            stream.standard_normal(out=drawn)
        first += size
    mean, sd = trait_tables(scenario.population)  # read each time: a scenario can be changed
    role = level[order]
    values = np.empty_like(normals)
    values[:, order] = mean[:, role] + sd[:, role] * normals
    values[TRAITS.index("compassion")] += compassion_shift
    np.clip(values, 0, 1, out=values)
    return dict(zip(TRAITS, values, strict=True))


_TRAIT_FIELDS = [[f"{t}_{what}" for t in TRAITS] for what in ("mean", "sd")]


def trait_tables(population: Any) -> np.ndarray:
    """Each trait's mean and sd in a scenario's population (`draw_traits`): a table each, a row
    per trait, a column per role."""
    of_role = [getattr(population, role) for role in ROLES]
    return np.array([[[getattr(r, f) for r in of_role] for f in row] for row in _TRAIT_FIELDS])


def initial_people(scenario: Scenario, org: Organisation, rng: np.random.Generator) -> People:
    """Every post filled, tenures spread as in a settled workforce, strain at its resting level.

    Traits are drawn first, then the other start values in `ATTRIBUTES` order.
    """
    traits = draw_traits(scenario, org.level, rng, org.compassion_shift())
    start = Start(scenario, org, rng, traits)
    return People(**{a.name: a.start_values(start) for a in ATTRIBUTES})


def hire(
    people: People,
    posts: np.ndarray,
    scenario: Scenario,
    traits: dict[str, np.ndarray],
    person_ids: np.ndarray,
) -> None:
    """Put new people, with these traits (`draw_traits`) and ids, into these vacant posts."""
    reset_person(people, posts, scenario)
    people.occupied[posts] = True
    people.person_id[posts] = person_ids
    for name, values in traits.items():
        getattr(people, name)[posts] = values


def reset_person(people: People, posts: np.ndarray, scenario: Scenario) -> None:
    """Clear a post's personal history when its holder leaves (values from `ATTRIBUTES`)."""
    if len(posts) == 0:
        return
    for attribute in ATTRIBUTES:
        if attribute.vacant != KEPT:
            getattr(people, attribute.name)[posts] = attribute.vacant_value(scenario)


def agents_columns(people: People) -> dict[str, np.ndarray]:
    """The attributes written to the agents table, in registry order and table dtype: copies,
    never the live state (a snapshot is written while the run goes on)."""
    return {
        a.name: getattr(people, a.name).astype(a.table) for a in ATTRIBUTES if a.table is not None
    }
