"""What Mesa's own tools expect of a model, for `CultureModel`.

`mesa.batch_run(CultureModel, parameters={"scenario": "baseline", "drivers.funding.value":
[0.8, 1.0]}, iterations=3)` builds each model as `CultureModel(**kwargs)`: the scenario by name
or path, the other keywords as dotted-path settings (validated like a scenario file), then steps
it while `running` and reads `model.datacollector.model_vars`. Here that collector is a view of
the model's Recorder (which records every week anyway), so a run pays nothing for it.
"""

from __future__ import annotations

import itertools
import secrets
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from culturesim.engine.measures import TIMESERIES_COLUMNS
from culturesim.engine.recorder import Recorder
from culturesim.engine.scenario import Scenario, load_scenario

SEED_BITS = 63
"""A drawn seed is within run.seed's range (0 to 2**63 - 1)."""


class AgentNumbers(weakref.WeakKeyDictionary):
    """Mesa's per-model agent numbering, keyed weakly so that a finished model can be freed.

    Mesa 3.3 numbers agents in `mesa.Agent._ids`, a class-level defaultdict keyed by model,
    which keeps every model that ever made an agent alive for the life of the process: a sweep
    worker running thousands of models grew to 6 GB and was killed for memory. The numbering
    (from 1 within each model) is unchanged.
    """

    def __getitem__(self, model: Any) -> Any:
        try:
            return super().__getitem__(model)
        except KeyError:
            numbers = itertools.count(1)
            self[model] = numbers
            return numbers


def let_finished_models_go() -> None:
    """Put AgentNumbers in place of Mesa's numbering, keeping the counts of live models."""
    if not isinstance(mesa.Agent._ids, AgentNumbers):
        numbers = AgentNumbers()
        numbers.update(mesa.Agent._ids)
        mesa.Agent._ids = numbers


let_finished_models_go()


def model_scenario(
    scenario: Scenario | str | Path, seed: int | None, settings: dict[str, Any]
) -> tuple[Scenario, int]:
    """The scenario a model runs (with its settings applied) and the run's seed.

    A `Scenario` runs with its own `run.seed` unless `seed` is given. A scenario named by a
    bundled name or a file's path, as Mesa's `batch_run` passes it, follows Mesa's rule
    instead: without a seed (`seed=` or a `run.seed` setting) each model draws a fresh one from
    the operating system's entropy, so iterations differ; `model.seed` records it.
    """
    named = not isinstance(scenario, Scenario)
    origin = f"CultureModel({str(scenario)!r})" if named else "CultureModel"
    if named:
        scenario = load_scenario(scenario)
    settings = {path: _plain(value) for path, value in settings.items()}
    if seed is None and named and "run.seed" not in settings:
        seed = secrets.randbits(SEED_BITS)
    if settings or named:
        if seed is not None:
            settings["run.seed"] = int(seed)
        scenario = scenario.with_overrides(settings, origin)
    return scenario, scenario.run.seed if seed is None else int(seed)


def _plain(value: Any) -> Any:
    """A numpy scalar (from `np.linspace` in a batch_run grid) as the Python number it holds."""
    return value.item() if isinstance(value, np.generic) else value


class _Column(Sequence):
    """One measure over the recorded weeks, read from the Recorder's rows when asked."""

    def __init__(self, recorder: Recorder, value: Callable[[dict], Any]) -> None:
        self.recorder = recorder
        self.value = value

    @property
    def records(self) -> list[dict[str, float]]:
        return self.recorder.records  # settled: a week being recorded alongside is waited for

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, week: Any) -> Any:
        if isinstance(week, slice):
            return [self.value(row) for row in self.records[week]]
        return self.value(self.records[week])


class RecordedMeasures(mesa.DataCollector):
    """The model's DataCollector: every weekly measure and the seed, as the Recorder kept them.

    `model_vars[name][week]` is the measure at that recorded week (0 is the first after
    burn-in), so Mesa's `Step` is the week; `collect` is not needed (the Recorder records
    every week) and does nothing.
    """

    def __init__(self, recorder: Recorder, seed: int) -> None:
        self.recorder = recorder
        self.seed = seed
        super().__init__()

    @property
    def model_vars(self) -> dict[str, Sequence]:
        recorder = self.recorder
        columns = {
            name: _Column(recorder, lambda row, n=name: row[n]) for name in TIMESERIES_COLUMNS
        }
        return columns | {"seed": _Column(recorder, lambda row: self.seed)}

    @model_vars.setter
    def model_vars(self, value: dict) -> None:
        if value:  # mesa.DataCollector.__init__ sets it empty; it is a view, not a store
            raise AttributeError("model_vars is read from the model's Recorder")

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """One row per recorded week: every weekly measure, and the run's seed."""
        return self.recorder.timeseries().assign(seed=self.seed)
