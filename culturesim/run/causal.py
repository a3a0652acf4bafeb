"""Causal conversions: a run against its twin without the victimisation channel (ODD 7.13).

An observed conversion is a victim who starts bullying within W weeks of being bullied; some of
them would have bullied anyway (strain, norms, chance). The twin is the same scenario run with
the same seed, hence the same random streams (common random numbers), but with
`behaviour.victimisation_weight` = 0, so being bullied no longer raises anyone's chance of
bullying. Conversions the twin still records are coincidences; the rest are caused by the
channel: excess conversions = observed − twin, and the causal reproduction number is the
excess per perpetrator episode, R_causal = R_observed − (twin's conversions in the window) /
(observed episodes in the window), over the episodes R itself counts.
"""

from __future__ import annotations

from culturesim.engine.scenario import Scenario

TWIN_SETTING = {"behaviour.victimisation_weight": 0.0}
CAUSAL_MEASURES = (
    "twin_conversions", "excess_conversions", "twin_perpetrator_episodes",
    "excess_perpetrator_episodes", "causal_reproduction_number", "coincidental_share",
)  # fmt: skip
"""What a causal measurement adds to a run's summary (`culturesim run --causal`)."""
OBSERVED_LABEL = "observed episode trees: temporal, not causal"


def twin_of(scenario: Scenario) -> Scenario:
    """The counterfactual twin: the same scenario with the victimisation channel off."""
    return scenario.with_overrides(TWIN_SETTING, "causal twin")


def cascade_counts(result) -> dict:
    """A run's conversions and episodes: all recorded ones and those in R's window."""
    episodes = result.episodes
    steps = len(result.timeseries)
    window = result.scenario.cascades.conversion_window_weeks
    counted = episodes[(episodes.start_week >= 0) & (episodes.start_week < steps - window)]
    return {
        "conversions": result.summary["conversions"],
        "perpetrator_episodes": result.summary["perpetrator_episodes"],
        "reproduction_number": result.summary["reproduction_number"],
        "window_episodes": int(len(counted)),
        "window_conversions": int(counted.offspring.sum()),
    }


def causal_measures(observed: dict, twin: dict) -> dict:
    """Excess conversions and the causal R of one run, from its and its twin's cascade_counts."""
    episodes = observed["window_episodes"]
    excess_in_window = observed["window_conversions"] - twin["window_conversions"]
    conversions = observed["conversions"]
    return {
        "twin_conversions": twin["conversions"],
        "excess_conversions": conversions - twin["conversions"],
        "twin_perpetrator_episodes": twin["perpetrator_episodes"],
        "excess_perpetrator_episodes": observed["perpetrator_episodes"]
        - twin["perpetrator_episodes"],
        "causal_reproduction_number": excess_in_window / episodes if episodes else float("nan"),
        "coincidental_share": twin["conversions"] / conversions if conversions else float("nan"),
    }
