"""A run is a function of a scenario and a seed; `run_to_folder` also writes the run folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import Scenario
from culturesim.run.figures import save_run_figures
from culturesim.run.outputs import (
    finish_folder,
    prepare_folder,
    provenance,
    resolved_toml,
    summarise,
    write_json,
    write_tables,
)

Progress = Callable[[int], None]


@dataclass
class RunResult:
    scenario: Scenario
    timeseries: pd.DataFrame
    events: pd.DataFrame
    episodes: pd.DataFrame
    agents: pd.DataFrame
    trusts: pd.DataFrame
    summary: dict
    model: CultureModel


def settle(scenario: Scenario, seed: int | None = None, steps: int | None = None) -> Scenario:
    """The scenario as actually run: command-line seed and steps written into it."""
    changes = {}
    if seed is not None:
        changes["run.seed"] = seed
    if steps is not None:
        changes["run.steps"] = steps
    return scenario.with_overrides(changes, "command line") if changes else scenario


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    steps: int | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Run a scenario to its end and gather its tables and headline summary."""
    scenario = settle(scenario, seed, steps)
    model = CultureModel(scenario)
    snapshots = []
    every = scenario.run.snapshot_every
    for week in range(scenario.run.steps):
        model.step()
        if every and (week + 1) % every == 0 and week + 1 < scenario.run.steps:
            snapshots.append(model.people_frame())
        if progress:
            progress(1)
    timeseries = model.timeseries()
    episodes = model.episodes()
    agents = pd.concat([*snapshots, model.people_frame()], ignore_index=True)
    return RunResult(
        scenario=scenario,
        timeseries=timeseries,
        events=model.events(),
        episodes=episodes,
        agents=agents,
        trusts=model.trusts(),
        summary=summarise(timeseries, episodes, scenario),
        model=model,
    )


def default_run_folder(scenario: Scenario) -> Path:
    return Path("runs") / f"{scenario.name}-seed{scenario.run.seed}"


def run_to_folder(
    scenario: Scenario,
    out: Path | None = None,
    seed: int | None = None,
    steps: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> tuple[Path, RunResult]:
    """Run a scenario and write its complete run folder; returns the folder and the result."""
    scenario = settle(scenario, seed, steps)
    out = Path(out) if out is not None else default_run_folder(scenario)
    temporary = prepare_folder(out, overwrite)
    try:
        started = datetime.now(UTC)
        result = simulate(scenario, progress=progress)
        write_tables(
            temporary,
            {
                "timeseries": result.timeseries,
                "events": result.events,
                "episodes": result.episodes,
                "agents": result.agents,
                "trusts": result.trusts,
            },
        )
        write_json(temporary / "summary.json", result.summary)
        (temporary / "scenario.resolved.toml").write_text(resolved_toml(scenario))
        if scenario.run.figures:
            org = result.model.org
            team = org.team
            save_run_figures(
                temporary / "figures",
                result.timeseries,
                result.events,
                result.episodes,
                team,
                np.bincount(team, minlength=org.n_posts),
                scenario.name,
            )
        write_json(temporary / "provenance.json", provenance(scenario, started, datetime.now(UTC)))
        finish_folder(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return out, result
