"""Where a sweep's runs happen: a local process pool, a Dask cluster, or any executor given.

The sweep is written against `concurrent.futures`; each function here returns an executor with
how many runs it can work on at once and how to close it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from culturesim.batch.experiment import plural
from culturesim.errors import SweepError


@dataclass
class ExecutorHandle:
    """An executor with how many runs it can work on at once, and how to close it."""

    executor: Executor
    slots: int
    where: str
    close: Callable[[], None]
    remake: Callable[[], ExecutorHandle] | None = None
    local: bool = False
    """Whether workers import the run function by reference (a local process pool)."""
    batches: bool = False
    """Whether several runs per task pay by default (a task costs milliseconds on a cluster)."""

    def renew(self) -> None:
        """Replace a broken pool by a fresh one (a worker died and took the pool with it)."""
        if self.remake is None:
            return
        self.close()
        fresh = self.remake()
        self.executor, self.close = fresh.executor, fresh.close


def local_executor(workers: int | None) -> ExecutorHandle:
    """A process pool over the machine's cores: no service needed.

    Workers exit when this process dies (see `worker.exit_with_parent`), killed or not, and
    share the cores among them for large models (`worker.start_worker`).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from culturesim.batch.worker import start_worker

    workers = workers or os.cpu_count() or 1
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        # The model and Mesa are imported, and its compiled kernels loaded, once by the fork
        # server, not by every worker.
        context.set_forkserver_preload(["culturesim.batch.worker", "culturesim.batch.warm_start"])
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=start_worker,
        initargs=(os.getpid(), workers),
    )
    return ExecutorHandle(
        pool,
        workers,
        f"local pool of {plural(workers, 'process', 'processes')}",
        lambda: pool.shutdown(wait=True, cancel_futures=True),
        lambda: local_executor(workers),
        local=True,
    )


def dask_executor(address: str) -> ExecutorHandle:
    """The same runs on a Dask distributed cluster, through its concurrent.futures executor."""
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("--scheduler needs Dask: pip install distributed") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise SweepError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    threads = sum(w["nthreads"] for w in client.scheduler_info(n_workers=-1)["workers"].values())
    executor = client.get_executor(pure=False)

    def close() -> None:
        executor.shutdown(wait=False)
        client.close()

    return ExecutorHandle(
        executor,
        max(threads, 1),
        f"Dask cluster at {address} ({plural(threads, 'worker thread')})",
        close,
        batches=True,
    )


def given_executor(executor: Executor, slots: int | None) -> ExecutorHandle:
    """An executor the caller made and closes."""
    return ExecutorHandle(
        executor, slots or os.cpu_count() or 1, type(executor).__name__, lambda: None
    )
