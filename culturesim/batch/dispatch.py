"""How a sweep's runs go to the workers: runs grouped into tasks (`Batching`, `batch_size`), at
most `in_flight` at a time, each finished task's runs journaled at once and shards committed
(`Dispatcher`), a broken local pool remade and its runs tried again.

A design point's replicates that can share a model (culturesim.batch.worker.side_by_side_size)
go to a worker together, in tasks that never span two points, so that the worker runs them side
by side (culturesim.engine.replicates). Grouping never changes a result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING

from culturesim.batch.executors import ExecutorHandle
from culturesim.batch.experiment import Experiment
from culturesim.batch.store import Manifest, ResultStore
from culturesim.batch.worker import (
    RunSpec,
    RunTask,
    describe_error,
    execute_runs,
    failed_record,
)

if TYPE_CHECKING:
    from culturesim.batch.sweep import SweepReport

WORKER_DIED = "worker process died during this run"

MAX_AUTO_RUNS_PER_TASK = 16
MAX_SIDE_BY_SIDE = 32
"""The most replicates auto batching gives a local worker at once to run side by side."""
TASKS_PER_SLOT = 4
"""Auto batching keeps at least this many tasks per worker, so that workers finish together."""


@dataclass
class Batching:
    """How runs are grouped into tasks and how many are submitted at once (None: choose)."""

    runs_per_task: int | None = None
    in_flight: int | None = None
    by_point: bool = False
    """Whether a task ends with its design point (its replicates can share a model)."""

    def settle(self, handle: ExecutorHandle, runs_left: int, replicates: int = 1) -> Batching:
        """The sizes for this session: given ones as they are, the others from `batch_size`;
        `replicates`: how many of a point's replicates can share a model."""
        per_task = self.runs_per_task or batch_size(handle, runs_left, replicates)
        in_flight = self.in_flight or 2 * handle.slots * per_task
        return Batching(per_task, in_flight, by_point=replicates > 1 and per_task > 1)

    @property
    def tasks_in_flight(self) -> int:
        return max(1, (self.in_flight or 1) // (self.runs_per_task or 1))


def batch_size(handle: ExecutorHandle, runs_left: int, replicates: int = 1) -> int:
    """Runs per task by default, keeping at least `TASKS_PER_SLOT` tasks per worker.

    On a cluster, where each task costs milliseconds of scheduling and transfer, up to 16
    (benchmarks/results/sweep.md). On a local pool, whose per-task cost is well under a
    millisecond, as many of the `replicates` of a design point that can share a model
    (`culturesim.batch.worker.side_by_side_size`) as that balance allows, up to
    `MAX_SIDE_BY_SIDE`, in tasks of nearly equal size (a task ends with its point: `Dispatcher`).
    """
    balanced = runs_left // (TASKS_PER_SLOT * handle.slots)
    if handle.batches:
        return max(1, min(MAX_AUTO_RUNS_PER_TASK, balanced))
    most = max(1, min(replicates, MAX_SIDE_BY_SIDE, balanced))
    return math.ceil(replicates / math.ceil(replicates / most))


@dataclass
class SweepPlan:
    """What a session works with: the folder, the runs left, where they go, what to report."""

    experiment: Experiment
    store: ResultStore
    manifest: Manifest
    run_spec: RunSpec
    handle: ExecutorHandle
    batching: Batching
    report: SweepReport


class Dispatcher:
    """Keeps at most `in_flight` runs submitted, `runs_per_task` to a task; journals each task's
    runs as it finishes; commits shards.

    A worker process that dies (killed, out of memory) breaks a local pool and loses every run
    in flight: the pool is remade and each such run tried again once; a run that breaks the pool
    twice is recorded as failed.
    """

    def __init__(self, plan: SweepPlan, bar: object) -> None:
        self.plan = plan
        self.bar = bar
        self.running: dict[Future, tuple[RunTask, ...]] = {}
        self.retry: list[RunTask] = []
        self.attempts: dict[int, int] = {}
        self.last_commit = time.monotonic()

    def run(self, tasks: Iterator[RunTask]) -> None:
        self.tasks = tasks
        self.submit_more()
        while self.running:
            completed, _ = wait(self.running, return_when=FIRST_COMPLETED)
            broken = False
            for future in completed:
                finished, lost = self.outcome(future, self.running.pop(future))
                broken |= lost
                self.keep(finished)
            if broken:
                self.restart_pool()
            self.commit_if_due()
            self.submit_more()

    def submit_more(self) -> None:
        executor, batching = self.plan.handle.executor, self.plan.batching
        while len(self.running) < batching.tasks_in_flight:
            batch = []
            while len(batch) < batching.runs_per_task:
                task = self.retry.pop() if self.retry else next(self.tasks, None)
                if task is None:
                    break
                if batch and batching.by_point and task.point != batch[-1].point:
                    self.retry.append(task)  # a task ends with its design point's replicates
                    break
                batch.append(task)
            if not batch:
                return
            future = executor.submit(execute_runs, self.plan.run_spec, tuple(batch))
            self.running[future] = tuple(batch)

    def outcome(
        self, future: Future, batch: tuple[RunTask, ...]
    ) -> tuple[list[tuple[RunTask, dict]], bool]:
        """(each finished run with its record, leaving out runs to try again; whether a worker
        died)."""
        try:
            return list(zip(batch, future.result(), strict=True)), False
        except BrokenProcessPool:
            finished = []
            for task in batch:
                self.attempts[task.run_id] = self.attempts.get(task.run_id, 0) + 1
                if self.attempts[task.run_id] < 2:
                    self.retry.append(task)
                else:
                    finished.append((task, failed_record(task, WORKER_DIED)))
            return finished, True
        except Exception as error:  # noqa: BLE001 - e.g. a Dask worker lost
            return [(task, failed_record(task, describe_error(error))) for task in batch], False

    def keep(self, finished: list[tuple[RunTask, dict]]) -> None:
        """Journal finished runs (one write) and count them."""
        if not finished:
            return
        plan, report = self.plan, self.plan.report
        for task, record in finished:
            if plan.manifest.measures is None and record["status"] == "ok":
                plan.manifest.measures = list(record["measures"])  # learned from the first run
                plan.store.write_manifest(plan.manifest)
            record |= {
                "point": task.point,
                "replicate": task.replicate,
                "seed": task.seed,
                "values": task.values,
            }
            report.ran += 1
            if record["status"] != "ok":
                report.failed += 1
                report.failed_total += 1
                if len(report.failures) < 20:
                    report.failures.append(f"run {task.run_id}: {record['error']}")
                self.bar.set_postfix_str(f"{report.failed_total} failed", refresh=False)
        plan.store.append(*(record for _, record in finished))
        self.bar.update(len(finished))

    def restart_pool(self) -> None:
        """Every run still in flight on a broken pool is lost: queue it again, remake the pool."""
        handle = self.plan.handle
        if handle.remake is None:
            return
        for future, batch in list(self.running.items()):
            future.cancel()
            self.retry.extend(batch)
        self.running.clear()
        handle.renew()

    def commit_if_due(self) -> None:
        store, executor = self.plan.store, self.plan.experiment.spec.executor
        overdue = time.monotonic() - self.last_commit > executor.shard_seconds
        if store.buffered >= executor.shard_runs or (store.buffered and overdue):
            store.commit(self.plan.manifest)
            self.last_commit = time.monotonic()
