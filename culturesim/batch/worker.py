"""One run of a sweep, in a worker process: a design point's scenario and seed in, one record out.

A run that raises becomes a failed record, never a crash of the sweep. A worker of the local
pool also watches the sweep's process and exits when it dies, so a killed sweep leaves no
worker behind.
"""

from __future__ import annotations

import gc
import itertools
import math
import os
import pickle
import select
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from culturesim.engine.scenario import Scenario
from culturesim.engine.threads import process_threads, share_cores, week_threads
from culturesim.errors import SweepError
from culturesim.files import process_alive

RUN_COLUMNS = ("run_id", "point", "replicate", "seed")
STATUS_COLUMNS = ("status", "error", "wall_time_s")

RunFunction = Callable[[Scenario, int], Any]


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run; small, so that it pickles cheaply."""

    run_id: int
    point: int
    replicate: int
    seed: int
    values: dict[str, Any]
    fixed: dict[str, Any] | None = None
    """Values set beneath the design's (a posterior draw's parameters), or None."""


@dataclass(frozen=True)
class RunSpec:
    """What is the same for every run of a sweep: the base scenario and what to keep."""

    base: Scenario
    measures: tuple[str, ...] | None
    timeseries: tuple[str, ...]
    every: int
    function: RunFunction | None = None


SIDE_BY_SIDE_POSTS = 32_000
"""Replicates of a design point run side by side in one model up to about this many posts in
all (culturesim.engine.replicates): by then a week's fixed cost is small beside its work, and
larger models run slower per post as their arrays outgrow the processor's caches. Since the
weekly bookkeeping is shared by the replicates (issue 11, session 11), 16 baseline runs a
model (32,000 posts) take 65 ms of CPU a run against 70 ms at 8 (and, in an earlier
measurement, 70 against 76 at 8 and 73 at 32; benchmarks/results/side_by_side.md)."""


def default_run(scenario: Scenario, seed: int) -> Any:
    """culturesim's own simulation, imported in the worker, without the tables a sweep does
    not keep (`summary_only`: events and snapshots; the same run, summary and time series)."""
    from culturesim.run.simulate import simulate, summary_only

    return simulate(summary_only(scenario), seed=seed)


def default_runs(scenario: Scenario, seeds: list[int]) -> list[Any]:
    """`default_run` for each seed, the runs side by side in one model (the same results)."""
    from culturesim.run.simulate import simulate_replicates, summary_only

    return simulate_replicates(summary_only(scenario), seeds)


def scalar_measures(summary: dict) -> dict[str, float]:
    """The summary's single numbers (as floats); lists and names are left out."""
    kept = {}
    for name, value in summary.items():
        if name in RUN_COLUMNS or name in STATUS_COLUMNS:
            continue  # the run's own seed is already a column
        if value is None:
            kept[name] = float("nan")
        elif isinstance(value, bool | int | float | np.integer | np.floating | np.bool_):
            kept[name] = float(value)
    return kept


def scenario_of(spec: RunSpec, task: RunTask) -> Scenario:
    return spec.base.with_overrides({**(task.fixed or {}), **task.values}, f"run {task.run_id}")


def execute_run(spec: RunSpec, task: RunTask) -> dict:
    """Run one design point's replicate; an exception becomes a failed record, never a crash."""
    started = time.perf_counter()
    record = record_of(
        spec, task, lambda: (spec.function or default_run)(scenario_of(spec, task), task.seed)
    )
    return record | {"wall_time_s": time.perf_counter() - started}


def execute_side_by_side(spec: RunSpec, tasks: list[RunTask]) -> list[dict]:
    """Replicates of one design point side by side in one model (culturesim.engine.
    replicates), each with the record it would have alone; its wall time is its share of the
    model's. If the model fails, each run is tried alone, so that a failure names its run."""
    started = time.perf_counter()
    try:
        results = default_runs(scenario_of(spec, tasks[0]), [task.seed for task in tasks])
    except Exception:  # noqa: BLE001 - the runs alone say which failed and why
        return [execute_run(spec, task) for task in tasks]
    share = {"wall_time_s": (time.perf_counter() - started) / len(tasks)}
    return [
        record_of(spec, task, lambda result=result: result) | share
        for task, result in zip(tasks, results, strict=True)
    ]


def record_of(spec: RunSpec, task: RunTask, result: Callable[[], Any]) -> dict[str, Any]:
    """A run's record from what `result()` gives; an exception makes it a failed record."""
    record: dict[str, Any] = {"run_id": task.run_id, "status": "ok", "error": None}
    try:
        record |= kept_outputs(spec, result())
    except Exception as error:  # noqa: BLE001 - a failing run is data, the sweep goes on
        record.update(status="failed", error=describe_error(error), measures={})
    return record


def kept_outputs(spec: RunSpec, result: Any) -> dict[str, Any]:
    """What the sweep keeps of a run: its summary measures and, every `spec.every` weeks, its
    time series (ValueError for a name the run does not have)."""
    summary = scalar_measures(result.summary)
    names = spec.measures if spec.measures is not None else tuple(summary)
    unknown = [name for name in names if name not in summary]
    if unknown:
        raise ValueError(
            f"no summary measure {', '.join(map(repr, unknown))} (outputs.summary);"
            f" measures: {', '.join(summary)}"
        )
    missing = [name for name in spec.timeseries if name not in result.timeseries]
    if missing:
        raise ValueError(
            f"no time series {', '.join(map(repr, missing))} (outputs.timeseries);"
            f" series: {', '.join(map(str, result.timeseries.columns))}"
        )
    kept: dict[str, Any] = {"measures": {name: summary.get(name, float("nan")) for name in names}}
    if spec.timeseries:
        frame = result.timeseries
        rows = frame[frame["week"] % spec.every == 0]
        kept["timeseries"] = {"week": [int(w) for w in rows["week"]]} | {
            name: [float(v) for v in rows[name]] for name in spec.timeseries
        }
    return kept


def execute_runs(spec: RunSpec, tasks: tuple[RunTask, ...]) -> list[dict]:
    """Several runs as one task: one dispatch, one transfer and one journal write for all.

    Consecutive replicates of one design point run side by side in one model when the sweep
    runs culturesim's own simulation (`side_by_side`). A large run uses this worker's share of
    the cores in a local pool, one thread on Dask."""
    records = []
    with week_threads(process_threads() or 1):
        for group in side_by_side(spec, tasks):
            if len(group) == 1:
                records.append(execute_run(spec, group[0]))
            else:
                records += execute_side_by_side(spec, group)
    return records


def side_by_side_size(scenario: Scenario, runs: int) -> int:
    """How many of `runs` replicates of this scenario share a model: all that fit in about
    `SIDE_BY_SIDE_POSTS` posts, as evenly as can be (40 baseline runs: models of 14, 14 and 12)."""
    posts = scenario.organisation.trusts * scenario.organisation.staff_per_trust
    models = math.ceil(runs / max(1, SIDE_BY_SIDE_POSTS // posts))
    return math.ceil(runs / models)


def side_by_side(spec: RunSpec, tasks: tuple[RunTask, ...]) -> list[list[RunTask]]:
    """The tasks in order, in groups that can share one model: consecutive runs of the same
    scenario (design values and posterior draw), up to `SIDE_BY_SIDE_POSTS` posts in all; each
    run alone under a run function of the user's."""
    if spec.function is not None:
        return [[task] for task in tasks]
    groups: list[list[RunTask]] = []
    for _, same in itertools.groupby(tasks, key=lambda task: (task.values, task.fixed)):
        same = list(same)
        try:
            size = side_by_side_size(scenario_of(spec, same[0]), len(same))
        except Exception:  # noqa: BLE001 - each run alone records why its scenario is refused
            size = 1
        groups += [same[start : start + size] for start in range(0, len(same), size)]
    return groups


def failed_record(task: RunTask, error: str) -> dict:
    """The record of a run whose worker was lost (no result came back)."""
    return {
        "run_id": task.run_id,
        "status": "failed",
        "measures": {},
        "error": error,
        "wall_time_s": None,
    }


def describe_error(error: BaseException) -> str:
    """One line: the exception and where it was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}{where}"


def check_importable(function: RunFunction) -> None:
    """Refuse, before any run, a run function that worker processes could not import.

    Workers receive the function by reference (module and name) and import it, so it must be
    defined at the top level of a module: not a lambda or a nested function, and not in the
    `__main__` of a notebook, `python -c` or an interactive session, which workers do not have.
    """
    name = getattr(function, "__qualname__", repr(function))
    module = getattr(function, "__module__", None)
    try:
        pickle.dumps(function)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise SweepError(
            f"run = {name}: worker processes cannot import it ({' '.join(str(error).split())});"
            f" define it at the top level of a module (a .py file) and import it from there"
        ) from None
    main = sys.modules.get("__main__")
    if module == "__main__" and not getattr(main, "__file__", None):
        raise SweepError(
            f"run = {name}: defined in __main__ (a notebook, `python -c` or an interactive"
            f" session), which worker processes cannot import; put it in a module (a .py file)"
            f" and import it from there"
        )


def start_worker(parent: int, workers: int) -> None:
    """Pool initializer: exit with the sweep (`exit_with_parent`); share the cores among the
    pool's `workers` for large models (`culturesim.engine.threads.share_cores`); keep the
    garbage collector off the modules (`freeze_long_lived`)."""
    exit_with_parent(parent)
    share_cores(workers)
    freeze_long_lived()


def freeze_long_lived() -> None:
    """In a process that only runs culturesim: import what a run needs, then put every object
    alive (modules, their functions and classes) in the garbage collector's permanent
    generation (`gc.freeze`). They live as long as the process, yet each full collection walked
    all of them, about 200,000 objects and 0.1 s, a few times in every hundred baseline runs:
    3 ms a run side by side (issue 11, session 11)."""
    import culturesim.run.simulate  # noqa: F401  (the modules a run uses)

    gc.freeze()


def exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker as soon as the sweep's process `parent` is gone.

    A watchdog thread waits on the parent (a pidfd on Linux, else a one-second poll), so a
    SIGKILLed sweep leaves no worker blocked on its pipe.
    """
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="parent-watch").start()


def _watch(parent: int) -> None:
    try:
        handle = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # not Linux 5.3+: poll
        while process_alive(parent):
            time.sleep(1.0)
    else:
        select.select([handle], [], [])  # readable once the process has exited
    os._exit(1)
