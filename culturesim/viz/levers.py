"""The page's levers, generated from the scenario schema so their ranges cannot drift from it.

A lever's bounds come from `DRIVER_RANGES` or a field's declared `ge`/`le`; its starting value
comes from the loaded scenario. Nothing here knows about Solara.
"""

from __future__ import annotations

from dataclasses import dataclass

from culturesim.engine.measures import WEEKLY, measure
from culturesim.engine.scenario import (
    DRIVER_RANGES,
    Drivers,
    LeadershipProgramme,
    Regulator,
    Scenario,
    parameter_bounds,
)

STANCE = "stance"
"""The key of the regulator's stance in `model.drivers_now`."""


@dataclass(frozen=True)
class Lever:
    """A slider over one of the model's live drivers (a key of `model.drivers_now`)."""

    name: str
    label: str
    lo: float
    hi: float
    help: str

    step: float = 0.01
    """Fine enough to show any two-decimal value a scenario gives without rounding it."""

    def clamp(self, value: float) -> float:
        return min(max(float(value), self.lo), self.hi)


def driver_levers() -> list[Lever]:
    """The four external drivers and the regulator's stance, in the order the page shows them."""
    levers = [
        Lever(
            name,
            measure(name, WEEKLY).label,
            lo,
            hi,
            Drivers.model_fields[name].description or "",
        )
        for name, (lo, hi) in DRIVER_RANGES.items()
    ]
    stance = Regulator.model_fields["stance"]
    lo, hi = parameter_bounds(stance)
    levers.insert(1, Lever(STANCE, measure(STANCE, WEEKLY).label, lo, hi, stance.description or ""))
    return levers


@dataclass(frozen=True)
class ProgrammeLever:
    """The share of leaders put through a compassionate-leadership programme, started live."""

    lo: float
    hi: float
    share: float
    strength: float
    help: str


def programme_lever(scenario: Scenario) -> ProgrammeLever:
    """Bounds from the schema; share and strength from the scenario's own programme, if any."""
    share_field = LeadershipProgramme.model_fields["share_of_leaders"]
    lo, hi = parameter_bounds(share_field)
    planned = [i for i in scenario.interventions if isinstance(i, LeadershipProgramme)]
    share = planned[0].share_of_leaders if planned else share_field.default
    strength = (
        planned[0].strength if planned else LeadershipProgramme.model_fields["strength"].default
    )
    return ProgrammeLever(lo, hi, share, strength, share_field.description or "")
