"""A week's machinery: the working values passed from phase to phase (`Week`), a phase
(`Phase`), the ordered, printable loop of them (`Loop`), and a timer for each (`time_phases`).

The phases themselves, the model's week, are in culturesim.engine.phases.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from culturesim.engine import rules


@dataclass
class Week:
    """The working values of one week, passed from phase to phase (None until computed)."""

    t: int
    drivers: dict[str, float] | None = None
    newness: Any = None
    team_present: Any = None
    trust_vacancy: Any = None
    temporary_share: Any = None
    staffed: Any = None
    trust_funding: Any = None
    workload: Any = None
    board: Any = None
    pressure: Any = None
    aggressed: Any = None
    victimised: Any = None
    persistent: Any = None
    hood: rules.Neighbourhood | None = None
    compassion_around: Any = None
    behaviour: Any = None
    bullies: Any = None
    victim: Any = None
    relation: Any = None
    source_person: Any = None
    source_weeks: Any = None
    persistent_bullies: Any = None
    recently_bullied: Any = None
    harm: Any = None
    expected_harm: Any = None
    leavers: int = 0  # the reference engine's counts; the vectorised engine counts each
    ceo_exits: int = 0  # replicate's from `leaving`, `removed` and `entering` (phases.observe)
    leaving: Any = None
    removed: Any = None
    rated_quality: Any = None
    special_measures_entries: int = 0
    entering: Any = None  # trusts entering special measures at this week's rating


@dataclass(frozen=True)
class Phase:
    """One phase of the week: its name, the ODD equations it implements, and what it does."""

    name: str
    equations: str
    summary: str
    run: Callable[[Any, Week], None]

    def __call__(self, model: Any, week: Week) -> None:
        self.run(model, week)

    def __repr__(self) -> str:
        equations = f" ({self.equations})" if self.equations else ""
        return f"{self.name}{equations}: {self.summary}"


class Loop(tuple):
    """The ordered phases of a week; prints one numbered line per phase."""

    def __repr__(self) -> str:
        return "\n".join(f"{i:>2}. {phase!r}" for i, phase in enumerate(self, 1))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(phase.name for phase in self)


def time_phases(model: Any, weeks: int = 1) -> pd.Series:
    """Step a model `weeks` weeks, timing each phase; seconds per phase (summed)."""
    seconds = dict.fromkeys(model.phases.names, 0.0)
    for _ in range(weeks):
        week = Week(model.week)
        for phase in model.phases:
            started = time.perf_counter()
            phase(model, week)
            seconds[phase.name] += time.perf_counter() - started
        model.week += 1
    return pd.Series(seconds, name="seconds")
