"""culturesim: how organisational culture moves through a health system.

    from culturesim import load_scenario, simulate
    result = simulate(load_scenario("baseline"), seed=1)
    result.summary["bullied_by_managers"]
"""

from culturesim.model import CultureModel
from culturesim.run import RunResult, run_to_folder, simulate
from culturesim.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["CultureModel", "RunResult", "Scenario", "ScenarioError", "load_scenario",
           "run_to_folder", "simulate"]
