"""Sweep speed: parallel efficiency, and culturesim's sweep against Mesa's `batch_run`.

    python benchmarks/bench_sweep.py [--workers 2] [--quick]

1. Parallel efficiency. A grid of many small runs (500 posts, 52 weeks, 3 replicates a point)
   is run in a plain loop in this process (`simulate(scenario, seed)` one after another,
   nothing else), and by `culturesim.batch.sweep` on `--workers` processes, which also writes
   every run to Parquet: one run a task (parallel efficiency alone), then as by default, a
   point's replicates side by side in one model (culturesim.engine.replicates).
   Speed-up = loop time / sweep time. The first sweep in a process also starts the pool's
   process server (which imports culturesim once, about 2-3 s); later sweeps reuse it.
   Target: at least 1.7 on 2 workers.
2. Against Mesa's `batch_run`. One smaller design (the same grid for both) is run by
   - `mesa.batch_run(CultureModel, ...)` on `--workers` processes (no adapter: CultureModel
     takes the scenario by name and dotted-path settings as keywords), keeping each run's
     last week;
   - `culturesim.batch.sweep` driving the same model, writing every run to Parquet.
   Reported: seconds and the ratio of batch_run's time to the sweep's.

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

import mesa
import numpy as np

from culturesim.batch.experiment import experiment_from_table
from culturesim.batch.sweep import RUN_SETTINGS, load_results, sweep
from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import SCENARIO_DIR
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


def timed_sweep(
    experiment, workers: int, run=None, runs_per_task: int | None = None
) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
        start = time.perf_counter()
        report = sweep(
            experiment,
            Path(folder) / "out",
            workers=workers,
            progress=False,
            run=run,
            runs_per_task=runs_per_task,
        )
        seconds = time.perf_counter() - start
        assert len(load_results(Path(folder) / "out")) == experiment.n_runs
    return seconds, report.failed


def mesa_batch_run(levels: tuple[int, int], replicates: int, workers: int) -> float:
    """Mesa's batch_run driving CultureModel directly: the same grid, `replicates` iterations."""
    parameters = {
        "scenario": "baseline",
        **SMALL,
        "run.record_events": False,
        "drivers.regulator_pressure.value": list(np.linspace(0.0, 3.0, levels[0])),
        "drivers.funding.value": list(np.linspace(0.6, 1.4, levels[1])),
    }
    start = time.perf_counter()
    results = mesa.batch_run(
        CultureModel,
        parameters,
        number_processes=workers,
        iterations=replicates,
        max_steps=SMALL["run.steps"],  # the model stops itself after run.steps weeks
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
    cold_seconds, failed = timed_sweep(experiment, args.workers, runs_per_task=1)
    warm_seconds, failed_warm = timed_sweep(experiment, args.workers, runs_per_task=1)
    side_seconds, failed_side = timed_sweep(experiment, args.workers)
    loop_seconds = plain_loop(experiment)
    assert failed == failed_warm == failed_side == 0
    lines.append(("plain loop, 1 process", experiment.n_runs, loop_seconds, ""))
    lines.append(
        (
            f"culturesim sweep, {args.workers} workers, one run a task, first in the process",
            experiment.n_runs,
            cold_seconds,
            f"speed-up {loop_seconds / cold_seconds:.2f}x (includes starting the process "
            "server, which imports culturesim once)",
        )
    )
    lines.append(
        (
            f"culturesim sweep, {args.workers} workers, one run a task, again",
            experiment.n_runs,
            warm_seconds,
            f"speed-up {loop_seconds / warm_seconds:.2f}x (target 1.7x on 2 workers)",
        )
    )
    lines.append(
        (
            f"culturesim sweep, {args.workers} workers, a point's replicates side by side "
            "(the default)",
            experiment.n_runs,
            side_seconds,
            f"speed-up {loop_seconds / side_seconds:.2f}x",
        )
    )

    experiment = experiment_from_table(experiment_table(*small), "bench")
    print(f"2. against mesa.batch_run: {experiment.n_runs} runs", file=sys.stderr)
    batch_seconds = mesa_batch_run(*small, args.workers)
    vector_seconds, failed_vector = timed_sweep(experiment, args.workers)
    assert failed_vector == 0
    lines.append(
        (
            f"mesa.batch_run + CultureModel, {args.workers} processes",
            experiment.n_runs,
            batch_seconds,
            "",
        )
    )
    lines.append(
        (
            f"culturesim sweep + CultureModel, {args.workers} workers",
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
