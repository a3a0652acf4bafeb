"""A sweep's fixed costs per run (dispatch, result transfer, journal); a projection to 16 cores.

    python benchmarks/bench_sweep_overhead.py [--runs 120 480] [--workers 2] [--no-dask]

Every run here is instant (a run function that returns a stored result: 30 summary figures and
a 52-week time series of two measures, which the sweep keeps, as a real sweep would), so all the
time a sweep spends is overhead. Measured as CPU seconds, not wall time, so that a shared, loaded
machine gives usable figures:

- parent: the sweep's own process (submitting, pickling, receiving, journaling, committing
  shards; with Dask also the scheduler, which `LocalCluster` runs in this process);
- workers: every worker process (and Dask's nannies), read with psutil before the pool closes.

Each sweep is run at two sizes; the slope over the number of runs is the cost per run, the
intercept the cost per sweep. With `--runs-per-task` values, the same is measured for each.
Results are appended to benchmarks/results/sweep.md; the projection to 16 workers is written
there by hand from these figures (see that file for the model).
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

import numpy as np
import pandas as pd
import psutil

from culturesim.batch.executors import local_executor
from culturesim.batch.experiment import experiment_from_table
from culturesim.batch.sweep import load_results, sweep
from culturesim.engine.measures import SUMMARY_MEASURES
from culturesim.engine.scenario import SCENARIO_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "sweep.md"
KEPT_SERIES = ["bullied_by_staff", "mean_strain"]
STORED = SimpleNamespace(
    summary={name: 0.125 for name in SUMMARY_MEASURES},
    timeseries=pd.DataFrame(
        {"week": range(52)} | {name: np.linspace(0, 1, 52) for name in KEPT_SERIES}
    ),
)


def instant_run(scenario, seed):
    """A run that costs nothing: whatever the sweep spends around it is overhead."""
    return STORED


def experiment(runs: int):
    return experiment_from_table(
        {
            "name": "overhead",
            "base": str(SCENARIO_DIR / "baseline.toml"),
            "seed": 5,
            "replicates": 1,
            "parameters": [{"path": "drivers.funding.value", "range": [0.6, 1.4], "levels": runs}],
            "design": {"kind": "grid"},
            "outputs": {"timeseries": KEPT_SERIES, "every": 1},
        },
        "overhead",
    )


def cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure(runs: int, where: str, workers: int, options: dict) -> tuple[float, float, float]:
    """(parent CPU s, workers' CPU s, wall s) of one sweep of `runs` instant runs."""
    me = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as folder:
        out = Path(folder) / "out"
        if where == "local":
            handle = local_executor(workers)
            handle.executor.submit(int).result()  # start the pool (and its fork server) first
            list(handle.executor.map(time.sleep, [0.2] * workers))
            kwargs = {"executor": handle.executor, "in_flight": 2 * workers}
        else:
            kwargs = {"scheduler": where}
        others = [p for p in me.children(recursive=True)]
        before = (time.process_time(), cpu(others), time.perf_counter())
        report = sweep(experiment(runs), out, progress=False, run=instant_run, **kwargs, **options)
        after = (time.process_time(), cpu(others), time.perf_counter())
        if where == "local":
            handle.close()
        assert report.failed == 0 and len(load_results(out)) == runs
    return tuple(b - a for a, b in zip(before, after, strict=True))


def per_run(small: tuple, large: tuple, sizes: tuple[int, int]) -> list[tuple[float, float]]:
    """(per run, per sweep) for each measured quantity: slope and intercept over the sizes."""
    n1, n2 = sizes
    fitted = []
    for a, b in zip(small, large, strict=True):
        slope = (b - a) / (n2 - n1)
        fitted.append((slope, a - slope * n1))
    return fitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs=2, default=(120, 480))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs-per-task", type=int, nargs="*", default=None)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()

    cluster = None
    places = ["local"]
    if not args.no_dask:
        from distributed import LocalCluster

        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        places.append(cluster.scheduler_address)
    batching = args.runs_per_task or [None]
    lines = []
    try:
        for where in places:
            for chunk in batching:
                options = {} if chunk is None else {"runs_per_task": chunk}
                measure(20, where, args.workers, options)  # warm: imports, first tasks
                small, large = (measure(n, where, args.workers, options) for n in args.runs)
                (parent, parent_fixed), (workers, _), (wall, wall_fixed) = per_run(
                    small, large, args.runs
                )
                name = "local pool" if where == "local" else "Dask LocalCluster"
                lines.append(
                    f"| {name} | {chunk or 'default'} | {parent * 1e3:.2f} | "
                    f"{workers * 1e3:.2f} | {parent_fixed:.2f} | {wall * 1e3:.2f} |"
                )
                print(lines[-1], file=sys.stderr)
    finally:
        if cluster is not None:
            cluster.close()

    header = (
        f"\n## {datetime.date.today()}: `python benchmarks/bench_sweep_overhead.py "
        f"{' '.join(sys.argv[1:])}`\n\n"
        f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average before {os.getloadavg()[0]:.1f}; {args.workers} workers; instant runs, "
        f"sweeps of {args.runs[0]} and {args.runs[1]} runs (per run = slope between them).\n\n"
        "| executor | runs per task | parent CPU ms / run | workers' CPU ms / run "
        "| parent CPU s / sweep | wall ms / run |\n|---|---|---|---|---|---|\n"
    )
    text = header + "\n".join(lines) + "\n"
    print(text)
    with RESULTS.open("a") as results:
        results.write(text)
    print(f"appended to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
