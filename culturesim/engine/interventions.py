"""Interventions: each scenario intervention applies itself to a model (one dispatch).

The intervention classes are declared in the scenario schema (`LeadershipProgramme`,
`FundingChange`, `StanceChange`), each with an `apply(model)` method. Both engines expose the
same levers (`Levers`), so the vectorised model and the per-person reference run one and the
same code to decide what an intervention does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from culturesim.engine.scenario import Intervention


class Levers(Protocol):
    """What an intervention may change in a model."""

    funding_factor: float
    stance: float

    def start_leadership_programme(self, share: float, strength: float) -> int: ...


def apply_due(interventions: Sequence[Intervention], week: int, model: Levers) -> None:
    """Apply, in the scenario's order, every intervention scheduled for this week."""
    for intervention in interventions:
        if intervention.week == week:
            intervention.apply(model)
