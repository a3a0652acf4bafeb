"""Sweep speed: parallel efficiency, and culturesim's sweep against Mesa's `batch_run`.

    python benchmarks/bench_sweep.py [--workers 2] [--quick]

1. Parallel efficiency. A grid of many small runs (500 posts, 52 weeks) is run twice: in a
   plain loop in this process (`simulate(scenario, seed)` one after another, nothing else), and
   by `culturesim.batch.sweep` on `--workers` processes, which also writes every run to Parquet.
   Speed-up = loop time / sweep time. The first sweep in a process also starts the pool's
   process server (which imports culturesim once, about 2-3 s); a second sweep reuses it.
   Target: at least 1.7 on 2 workers.
2. Against Mesa's `batch_run`. One smaller design (the same grid for all three) is run by
   - `mesa.batch_run` driving the per-person reference model (`culturesim.engine.reference`), on
     `--workers` processes: the peer as researchers use it today;
   - `culturesim.batch.sweep` driving the same reference model: the same work, our sweep machinery;
   - `culturesim.batch.sweep` driving culturesim's vectorised model: what a user runs.
   Reported: seconds and the ratio of batch_run's time to each sweep's.

Results go to benchmarks/results/sweep.md (a table with the date, machine and command).
Timings are wall-clock on whatever else the machine is doing: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import mesa
import numpy as np

from culturesim.batch.experiment import experiment_from_table
from culturesim.batch.sweep import RUN_SETTINGS, load_results, sweep
from culturesim.engine.reference import ReferenceModel
from culturesim.engine.scenario import SCENARIO_DIR, RunSettings, load_scenario
from culturesim.run.simulate import simulate

RESULTS = Path(__file__).resolve().parent / "results" / "sweep.md"
SMALL = {"organisation.staff_per_trust": 500, "run.steps": 52}


def experiment_table(levels: tuple[int, int], replicates: int) -> dict:
    """A pressure x funding grid over a small trust."""
    return {
        "name": "bench",
        "base": str(SCENARIO_DIR / "baseline.toml"),
        "seed": 2024,
        "replicates": replicates,
        "scenario": {
            "organisation": {"staff_per_trust": SMALL["organisation.staff_per_trust"]},
            "run": {"steps": SMALL["run.steps"]},
        },
        "parameters": [
            {"path": "drivers.regulator_pressure.value", "range": [0.0, 3.0], "levels": levels[0]},
            {"path": "drivers.funding.value", "range": [0.6, 1.4], "levels": levels[1]},
        ],
        "design": {"kind": "grid"},
        "outputs": {"summary": ["bullied_by_staff", "reproduction_number", "mean_strain"]},
    }


def plain_loop(experiment) -> float:
    """Every run of the design, one after another, in this process."""
    base = experiment.base.with_overrides(RUN_SETTINGS)
    design = experiment.design
    start = time.perf_counter()
    for run_id in range(experiment.n_runs):
        point, _ = experiment.locate(run_id)
        values = {path: design[path].iloc[point] for path in experiment.paths}
        simulate(base.with_overrides(values), seed=experiment.run_seed(run_id))
    return time.perf_counter() - start


def timed_sweep(experiment, workers: int, run=None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
        start = time.perf_counter()
        report = sweep(experiment, Path(folder) / "out", workers=workers, progress=False, run=run)
        seconds = time.perf_counter() - start
        assert len(load_results(Path(folder) / "out")) == experiment.n_runs
    return seconds, report.failed


# --- the reference model, for batch_run and for our sweep -----------------------------------


def reference_run(scenario, seed):
    """The per-person reference model as a sweep run function."""
    model = ReferenceModel(scenario, seed=seed)
    for _ in range(scenario.run.steps):
        model.step()
    series = model.timeseries()
    last = series.iloc[-1]
    summary = {
        "bullied_by_staff": float(last["bullied_by_staff"]),
        "reproduction_number": float(last["reproduction_number"]),
        "mean_strain": float(last["mean_strain"]),
    }
    return SimpleNamespace(summary=summary, timeseries=series)


def _latest(name: str):
    return lambda model: model.records[-1][name] if model.records else np.nan


class BatchReference(ReferenceModel):
    """ReferenceModel as batch_run wants it: keyword parameters and a DataCollector."""

    def __init__(self, regulator_pressure: float, funding: float, seed: int) -> None:
        scenario = load_scenario("baseline").with_overrides(
            {
                **SMALL,
                **RUN_SETTINGS,
                "drivers.regulator_pressure.value": regulator_pressure,
                "drivers.funding.value": funding,
            }
        )
        super().__init__(scenario, seed=seed)

    def step(self) -> None:
        """A week, then collect (burn-in weeks too: batch_run indexes the collector by step)."""
        super().step()
        if not hasattr(self, "datacollector"):
            self.datacollector = mesa.DataCollector(
                model_reporters={
                    name: _latest(name)
                    for name in ("bullied_by_staff", "reproduction_number", "mean_strain")
                }
            )
        self.datacollector.collect(self)


def mesa_batch_run(levels: tuple[int, int], replicates: int, workers: int) -> float:
    """Mesa's batch_run: full factorial over the same grid, `replicates` iterations each."""
    parameters = {
        "regulator_pressure": list(np.linspace(0.0, 3.0, levels[0])),
        "funding": list(np.linspace(0.6, 1.4, levels[1])),
        "seed": [1],  # batch_run has no per-replicate seeds: iterations share the seed given
    }
    start = time.perf_counter()
    results = mesa.batch_run(
        BatchReference,
        parameters,
        number_processes=workers,
        iterations=replicates,
        # batch_run counts burn-in weeks and runs max_steps + 1 steps
        max_steps=RunSettings().burn_in_weeks + SMALL["run.steps"] - 1,
        display_progress=False,
    )
    seconds = time.perf_counter() - start
    assert len(results) == levels[0] * levels[1] * replicates
    return seconds


# --- report ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="Smaller designs (a smoke run).")
    args = parser.parse_args()

    big = ((4, 3), 2) if args.quick else ((8, 5), 3)
    small = ((2, 2), 1) if args.quick else ((3, 2), 2)

    lines = []
    experiment = experiment_from_table(experiment_table(*big), "bench")
    print(f"1. parallel efficiency: {experiment.n_runs} runs", file=sys.stderr)
    cold_seconds, failed = timed_sweep(experiment, args.workers)
    warm_seconds, failed_warm = timed_sweep(experiment, args.workers)
    loop_seconds = plain_loop(experiment)
    assert failed == failed_warm == 0
    lines.append(("plain loop, 1 process", experiment.n_runs, loop_seconds, ""))
    lines.append(
        (
            f"culturesim sweep, {args.workers} workers, first in the process",
            experiment.n_runs,
            cold_seconds,
            f"speed-up {loop_seconds / cold_seconds:.2f}x (includes starting the process "
            "server, which imports culturesim once)",
        )
    )
    lines.append(
        (
            f"culturesim sweep, {args.workers} workers, again in the same process",
            experiment.n_runs,
            warm_seconds,
            f"speed-up {loop_seconds / warm_seconds:.2f}x (target 1.7x on 2 workers)",
        )
    )

    experiment = experiment_from_table(experiment_table(*small), "bench")
    print(f"2. against mesa.batch_run: {experiment.n_runs} runs", file=sys.stderr)
    batch_seconds = mesa_batch_run(*small, args.workers)
    reference_seconds, failed_reference = timed_sweep(experiment, args.workers, reference_run)
    vector_seconds, failed_vector = timed_sweep(experiment, args.workers)
    assert failed_reference == failed_vector == 0
    lines.append(
        (
            f"mesa.batch_run + reference model, {args.workers} processes",
            experiment.n_runs,
            batch_seconds,
            "",
        )
    )
    lines.append(
        (
            f"culturesim sweep + reference model, {args.workers} workers",
            experiment.n_runs,
            reference_seconds,
            f"batch_run / this = {batch_seconds / reference_seconds:.2f}",
        )
    )
    lines.append(
        (
            f"culturesim sweep + vectorised model, {args.workers} workers",
            experiment.n_runs,
            vector_seconds,
            f"batch_run / this = {batch_seconds / vector_seconds:.2f}",
        )
    )

    header = (
        f"## {datetime.date.today()}: `python benchmarks/bench_sweep.py"
        f"{' --quick' if args.quick else ''} --workers {args.workers}`\n\n"
        f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average before {os.getloadavg()[0]:.1f}; runs of "
        f"{SMALL['organisation.staff_per_trust']} posts x {SMALL['run.steps']} weeks.\n\n"
        "| what | runs | seconds | |\n|---|---|---|---|\n"
    )
    table = "".join(
        f"| {what} | {runs} | {seconds:.1f} | {note} |\n" for what, runs, seconds, note in lines
    )
    print(header + table)
    RESULTS.parent.mkdir(exist_ok=True)
    previous = RESULTS.read_text() if RESULTS.is_file() else "# Sweep benchmarks\n\n"
    RESULTS.write_text(previous + header + table + "\n")
    print(f"appended to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
