"""A run is a function of a scenario and a seed; `run_to_folder` also writes the run folder."""

from __future__ import annotations

import html
import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import Scenario
from culturesim.files import FolderLock, naming_failures, swap_in
from culturesim.run.causal import cascade_counts, causal_measures, twin_of
from culturesim.run.outputs import (
    headline_figures,
    prepare_folder,
    provenance,
    resolved_toml,
    summarise,
    write_json,
    write_tables,
)

Progress = Callable[[int], None]


@dataclass(repr=False)
class RunResult:
    scenario: Scenario
    timeseries: pd.DataFrame
    events: pd.DataFrame
    episodes: pd.DataFrame
    agents: pd.DataFrame
    trusts: pd.DataFrame
    summary: dict
    model: CultureModel

    def __repr__(self) -> str:
        return (
            f"<RunResult {self.scenario.name!r}, seed {self.scenario.run.seed}: "
            f"{self.summary['weeks']} weeks, {self.summary['staff_posts']:,} posts, "
            f"bullied by staff {self.summary['bullied_by_staff']:.1%}, "
            f"care quality {self.summary['care_quality']:.3f}>"
        )

    def _repr_html_(self) -> str:
        """A notebook shows a run as its headline figures, not its tables."""
        rows = "".join(
            f"<tr><td style='text-align:left'>{html.escape(label)}</td><td>{html.escape(value)}"
            "</td></tr>"
            for label, value in headline_figures(self.summary)
        )
        caption = html.escape(
            f"{self.scenario.name}, seed {self.scenario.run.seed}: "
            f"{self.summary['weeks']} weeks, {self.summary['staff_posts']:,} posts"
        )
        return f"<table><caption>{caption}</caption>{rows}</table>"


def settle(scenario: Scenario, seed: int | None = None, steps: int | None = None) -> Scenario:
    """The scenario as actually run: command-line seed and steps written into it."""
    changes = {}
    if seed is not None:
        changes["run.seed"] = seed
    if steps is not None:
        changes["run.steps"] = steps
    return scenario.with_overrides(changes, "command line") if changes else scenario


def summary_only(scenario: Scenario) -> Scenario:
    """The same run without the outputs a summary does not read (the trajectory is the same)."""
    return scenario.with_overrides(
        {"run.record_events": False, "run.figures": False, "run.snapshot_every": 0}, "internal"
    )


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    steps: int | None = None,
    progress: Progress | None = None,
    causal: bool = False,
) -> RunResult:
    """Run a scenario to its end and gather its tables and headline summary.

    With `causal`, a twin without the victimisation channel runs after it with the same seed,
    and the summary gains the causal measures of culturesim.run.causal (one pair: no interval).
    """
    scenario = settle(scenario, seed, steps)
    model = CultureModel(scenario)
    snapshots = []
    every = scenario.run.snapshot_every
    with quiet_empty_means():
        for week in range(scenario.run.steps):
            model.step()
            if every and (week + 1) % every == 0 and week + 1 < scenario.run.steps:
                snapshots.append(model.people_frame())
            if progress:
                progress(1)
    result = result_of(model, snapshots)
    if causal:
        twin = simulate(summary_only(twin_of(scenario)), progress=progress)
        result.summary.update(causal_measures(cascade_counts(result), cascade_counts(twin)))
    return result


def result_of(
    model: CultureModel, snapshots: list[pd.DataFrame] = (), scenario: Scenario | None = None
) -> RunResult:
    """A model's tables and headline summary as they stand now (the weeks run so far).

    `scenario` is the scenario to record as run (default: the model's own).
    """
    scenario = scenario or model.scenario
    with quiet_empty_means():
        timeseries = model.timeseries()
        episodes = model.episodes()
        agents = pd.concat([*snapshots, model.people_frame()], ignore_index=True)
        summary = summarise(timeseries, episodes, scenario)
    return RunResult(
        scenario=scenario,
        timeseries=timeseries,
        events=model.events(),
        episodes=episodes,
        agents=agents,
        trusts=model.trusts(),
        summary=summary,
        model=model,
    )


@contextmanager
def quiet_empty_means() -> Iterator[None]:
    """A week with no staff in post has no mean strain or climate: the model records NaN, which
    summary.json states as null with a reason; numpy's warnings about it are not for the user."""
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        yield


def default_run_folder(scenario: Scenario) -> Path:
    return Path("runs") / f"{scenario.name}-seed{scenario.run.seed}"


def write_run(
    folder: Path, result: RunResult, started: datetime, notes: dict | None = None
) -> None:
    """Write a run's tables, summary, resolved scenario, figures and provenance into `folder`.

    `notes` are added to provenance.json (the page records its live lever moves there).
    """
    scenario = result.scenario
    write_tables(
        folder,
        {
            "timeseries": result.timeseries,
            "events": result.events,
            "episodes": result.episodes,
            "agents": result.agents,
            "trusts": result.trusts,
        },
    )
    write_json(folder / "summary.json", result.summary)
    (folder / "scenario.resolved.toml").write_text(resolved_toml(scenario))
    if scenario.run.figures:
        # matplotlib loads only where figures are drawn: sweep workers never draw them
        from culturesim.run.figures import save_run_figures

        org = result.model.org
        team = org.team
        save_run_figures(
            folder / "figures",
            result.timeseries,
            result.events,
            result.episodes,
            team,
            np.bincount(team, minlength=org.n_posts),
            scenario.name,
        )
    record = provenance(scenario, started, datetime.now(UTC))
    write_json(folder / "provenance.json", {**record, **(notes or {})})


def run_to_folder(
    scenario: Scenario,
    out: Path | None = None,
    seed: int | None = None,
    steps: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    causal: bool = False,
) -> tuple[Path, RunResult]:
    """Run a scenario and write its complete run folder; returns the folder and the result."""
    scenario = settle(scenario, seed, steps)
    out = Path(out) if out is not None else default_run_folder(scenario)
    with FolderLock(out):
        temporary = prepare_folder(out, overwrite)
        try:
            started = datetime.now(UTC)
            result = simulate(scenario, progress=progress, causal=causal)
            with naming_failures(out):
                write_run(temporary, result, started)
            swap_in(temporary, out)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    return out, result
