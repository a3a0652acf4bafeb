"""culturesim: how organisational culture moves through a health system.

    from culturesim import load_scenario, simulate
    result = simulate(load_scenario("baseline"), seed=1)
    result.summary["bullied_by_managers"]

The model, Mesa and the sweep machinery (pandas, Dask) load on first use, so the command line
starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from culturesim.engine.scenario import Scenario, ScenarioError, load_scenario

_LAZY = {
    "CultureModel": "culturesim.engine.model",
    "load_results": "culturesim.batch.sweep",
    "sweep": "culturesim.batch.sweep",
    "causal_cascades": "culturesim.batch.causal",
    "compare": "culturesim.batch.compare",
    "RunResult": "culturesim.run.simulate",
    "run_to_folder": "culturesim.run.simulate",
    "simulate": "culturesim.run.simulate",
}

__all__ = ["Scenario", "ScenarioError", "load_scenario", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'culturesim' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
