"""What culturesim changes about Mesa's own machinery, and why."""

from __future__ import annotations

import gc
import weakref

from culturesim import load_scenario, simulate


def test_a_finished_model_is_freed():
    """Mesa 3.3 keeps every model that made an agent in a class-level dict (mesa.Agent._ids);
    culturesim keys it weakly, so a sweep worker running thousands of models does not grow."""
    scenario = load_scenario("baseline").with_overrides(
        {"organisation.staff_per_trust": 100, "run.steps": 2, "run.figures": False}
    )
    finished = [weakref.ref(simulate(scenario, seed=seed).model) for seed in (1, 2, 3)]
    gc.collect()
    assert [model() for model in finished] == [None, None, None]
