"""Drive culturesim from the EMA Workbench: exploratory modelling and scenario discovery (PRIM).

    from ema_workbench import perform_experiments
    from culturesim.ema import ema_model

    model = ema_model(
        "baseline",
        uncertainties=["drivers.regulator_pressure.value", "drivers.funding.value"],
        levers=["regulator.stance"],
        outcomes=["bullied_by_staff", "reproduction_number"],
    )
    experiments, outcomes = perform_experiments(model, scenarios=100, policies=4)

Uncertainties and levers are named by their dotted scenario paths; their ranges come from the
scenario schema (the same declaration that validates files and writes the ODD's table), or are
narrowed with `(path, low, high)`. The Workbench's own names are flat (`regulator_stance`), and
each parameter carries its path as its `variable_name`, so the experiments table reads naturally
and every value lands where the schema says. See docs/ema.md. Needs the `ema` extra.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from culturesim.engine.scenario import (
    DRIVER_RANGES,
    Scenario,
    ScenarioError,
    iter_parameters,
    load_scenario,
    parameter_bounds,
    validate_scenario,
)

ParameterSpec = str | tuple[str, float, float]
"""A dotted scenario path (the schema's whole range), or (path, low, high) within it."""


def ema_model(
    scenario: Scenario | str | Path,
    uncertainties: Sequence[ParameterSpec] = (),
    levers: Sequence[ParameterSpec] = (),
    outcomes: Sequence[str] | None = None,
    timeseries: Sequence[str] = (),
    *,
    replications: int = 1,
    seed: int | None = None,
    name: str | None = None,
) -> Any:
    """A ready `ema_workbench.Model` that runs `scenario` with the sampled values set.

    `outcomes` are numeric summary measures (default: all of them); `timeseries` names weekly
    measures, each an outcome `NAME_weekly`. Every experiment runs with the same seeds (common
    random numbers, so differences between experiments come from the parameters): `seed`
    (default the scenario's), or with `replications` > 1 a `ReplicatorModel` whose outcomes are
    the means over seeds `seed`, `seed + 1`, ...
    """
    from ema_workbench import Constant, Model, ReplicatorModel, ScalarOutcome, TimeSeriesOutcome

    from culturesim.engine.model import TIMESERIES_COLUMNS  # imports mesa
    from culturesim.run.outputs import SUMMARY_MEASURES

    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    summary = tuple(SUMMARY_MEASURES if outcomes is None else outcomes)
    weekly = tuple(timeseries)
    _check_names(summary, SUMMARY_MEASURES, "summary measure")
    _check_names(weekly, [c for c in TIMESERIES_COLUMNS if c != "week"], "time series")
    if replications < 1:
        raise ScenarioError(f"replications = {replications}: must be at least 1")
    first_seed = base.run.seed if seed is None else seed
    varied = [*uncertainties, *levers]
    paths = [spec if isinstance(spec, str) else spec[0] for spec in varied]
    repeated = {p for p in paths if paths.count(p) > 1}
    if repeated:
        raise ScenarioError(f"{', '.join(sorted(repeated))}: named more than once")

    run = ScenarioRun(base.model_dump(mode="json"), summary, weekly)
    label = name or "".join(c for c in base.name if c.isalnum()) or "culturesim"
    if replications == 1:
        model = Model(label, function=run)
        model.constants = [Constant("seed", first_seed)]
    else:
        model = ReplicatorModel(label, function=run)
        model.replications = [{"seed": first_seed + i} for i in range(replications)]
    model.uncertainties = [ema_parameter(spec, base) for spec in uncertainties]
    model.levers = [ema_parameter(spec, base) for spec in levers]
    over_seeds = {} if replications == 1 else {"function": np.mean}
    series_over_seeds = (
        {} if replications == 1 else {"function": functools.partial(np.mean, axis=0)}
    )
    model.outcomes = [ScalarOutcome(measure, **over_seeds) for measure in summary] + [
        TimeSeriesOutcome(f"{column}_weekly", **series_over_seeds) for column in weekly
    ]
    return model


def ema_parameter(spec: ParameterSpec, scenario: Scenario) -> Any:
    """The Workbench parameter for one dotted path: flat name, schema range, path as variable."""
    from ema_workbench import BooleanParameter, IntegerParameter, RealParameter

    path, narrowed = (spec, None) if isinstance(spec, str) else (spec[0], tuple(spec[1:]))
    kind, low, high = schema_range(path)
    flat = path.replace(".", "_")
    if kind is bool:
        if narrowed:
            raise ScenarioError(f"{path}: is true/false; it takes no range")
        return BooleanParameter(flat, variable_name=path)
    if narrowed:
        if len(narrowed) != 2 or not narrowed[0] < narrowed[1]:
            raise ScenarioError(f"{path}: range {list(narrowed)}: must be (path, low, high)")
        if (low is not None and narrowed[0] < low) or (high is not None and narrowed[1] > high):
            raise ScenarioError(
                f"{path}: range {list(narrowed)} is outside what the schema allows "
                f"({low} to {high})"
            )
        low, high = narrowed
    if low is None or high is None:
        raise ScenarioError(f"{path}: the schema gives no range; name it as ({path!r}, low, high)")
    if kind is int:
        return IntegerParameter(flat, int(low), int(high), variable_name=path)
    return RealParameter(flat, float(low), float(high), variable_name=path)


def schema_range(path: str) -> tuple[type, float | None, float | None]:
    """(type, lowest, highest) the scenario schema allows for a scalar at a dotted path."""
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "drivers" and parts[2] == "value":
        if parts[1] in DRIVER_RANGES:
            return (float, *DRIVER_RANGES[parts[1]])
    for known, info in iter_parameters():
        if known == path:
            kind = info.annotation
            if kind not in (int, float, bool):
                raise ScenarioError(f"{path}: not a number or true/false; EMA cannot vary it")
            return (kind, *parameter_bounds(info))
    import difflib

    names = [known for known, _ in iter_parameters()]
    close = difflib.get_close_matches(path, names, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise ScenarioError(f"unknown parameter path '{path}'{hint}")


def _check_names(names: Sequence[str], known: Sequence[str], what: str) -> None:
    import difflib

    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"one of: {', '.join(known)}"
            raise ScenarioError(f"outcome {name!r}: not a {what} culturesim writes; {hint}")


@dataclass(frozen=True)
class ScenarioRun:
    """What the Workbench calls for one experiment: its values arrive by dotted path (each
    parameter's variable name) with `seed`; a plain object, so the Workbench's process pool
    can pickle it."""

    scenario: dict
    summary: tuple[str, ...]
    timeseries: tuple[str, ...]

    def __call__(self, seed: int, **values: Any) -> dict[str, Any]:
        from culturesim.run.simulate import simulate

        # A seed sampled as an uncertainty (`run.seed`) wins over the model's own seed.
        changes = {"run.seed": int(seed), "run.record_events": False}
        changes |= {path: _plain(value) for path, value in values.items()}
        scenario = validate_scenario(self.scenario, "EMA Workbench")
        result = simulate(scenario.with_overrides(changes, "EMA Workbench"))
        outcome: dict[str, Any] = {
            measure: _number(result.summary[measure]) for measure in self.summary
        }
        for column in self.timeseries:
            outcome[f"{column}_weekly"] = result.timeseries[column].to_numpy(dtype=float)
        return outcome


def _plain(value: Any) -> Any:
    """A sampled value as the scenario schema takes it (numpy scalars to Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def _number(value: Any) -> float:
    """A summary figure as a number; an undefined one (no chief-executive exits, no episode old
    enough for R) as NaN, which the Workbench's analyses accept."""
    return float("nan") if value is None else float(value)
