"""Imported by the local pool's fork server, before it forks any worker: one tiny run loads the
model's compiled kernels (numba's disk cache) and its lazy imports once, so that every worker
starts warm instead of paying about half a second on its first run (which would also show in
that run's recorded wall time)."""

from culturesim.engine.scenario import load_scenario
from culturesim.run.simulate import simulate

TINY = {"organisation.trusts": 1, "organisation.staff_per_trust": 20, "run.steps": 1}

simulate(load_scenario("baseline").with_overrides(TINY), seed=0)
