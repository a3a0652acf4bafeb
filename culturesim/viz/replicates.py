"""Replicate pairs of the page's two arms, run in the background, for an interval on their
difference.

One twin pair shows what a lever move did in this run; replicate pairs show how much of that
is seed noise. Pair r replays the page's own run with seed S + r (`replicate_seeds`, so pair 0
is the page's run itself): the scenario built with that seed, every lever move of the main run
before the branch applied at its week, a twin made at the branch week, and each arm's own lever
moves from then on, to a chosen week. The intervals are the paired t intervals of
`culturesim compare` (`culturesim.batch.paired.weekly_differences`): seed noise only.

Pairs run in worker processes of lower priority (the page's own process keeps a core), and the
result is the same whatever the number of workers: pairs are gathered in order of seed.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd

from culturesim.batch.paired import (
    PairedRuns,
    pool_context,
    replicate_seeds,
    weekly_differences,
)
from culturesim.engine.scenario import Scenario
from culturesim.engine.threads import share_cores
from culturesim.run.simulate import summary_only
from culturesim.viz.levers import programme_lever
from culturesim.viz.plots import MEASURES
from culturesim.viz.session import PROGRAMME, LeverChange, Session, VizModel

WORKER_NICENESS = 10
"""How much lower the pairs' worker processes run than the page (os.nice)."""
MAX_PAIRS = 100
MAX_WEEKS_AHEAD = 520
"""How far beyond the page's week the pairs may run."""


@dataclass(frozen=True)
class PairPlan:
    """What each replicate pair replays: the page's scenario, seed, branch and lever moves."""

    scenario: Scenario
    seed: int
    branch_week: int
    to_week: int
    main_moves: tuple[LeverChange, ...]
    branch_moves: tuple[LeverChange, ...]


def plan_of(session: Session, to_week: int) -> PairPlan:
    """The plan of the session's branch, run to `to_week` (lever moves after it do not count)."""
    with session.lock:
        if session.branch is None:
            raise ValueError("branch the run before starting replicate pairs")
        if not session.branch_week < to_week <= session.week + MAX_WEEKS_AHEAD:
            raise ValueError(
                f"each to week {to_week}: must be after the branch week ({session.branch_week}) "
                f"and at most {MAX_WEEKS_AHEAD} weeks beyond this week ({session.week})"
            )
        return PairPlan(
            session.main.scenario,
            int(session.main.seed),
            int(session.branch_week),
            int(to_week),
            tuple(c for c in session.main.lever_log if c.week < to_week),
            tuple(c for c in session.branch.lever_log if c.week < to_week),
        )


def apply_moves(model: VizModel, moves: tuple[LeverChange, ...], week: int) -> None:
    """Apply, in the order made, the lever moves made at `week` (as the page did, before the
    week's step)."""
    strength = programme_lever(model.scenario).strength
    for change in moves:
        if change.week != week:
            continue
        if change.name == PROGRAMME:
            model.start_programme(change.value, strength)
        else:
            model.set_lever(change.name, change.value)


def replay_pair(plan: PairPlan, seed: int) -> np.ndarray:
    """One replicate pair with `seed`: both arms' plotted measures, (arm, week, measure)."""
    main = VizModel(summary_only(plan.scenario), seed)
    main.keep_strain = False
    while main.week < plan.branch_week:
        apply_moves(main, plan.main_moves, main.week)
        main.step()
    branch = main.twin()
    for model, moves in ((main, plan.main_moves), (branch, plan.branch_moves)):
        while model.week < plan.to_week:
            apply_moves(model, moves, model.week)
            model.step()
    return np.stack(
        [model.timeseries()[list(MEASURES)].to_numpy(float) for model in (main, branch)]
    )


def start_replay_worker(workers: int) -> None:
    """Pool initializer: below the page in priority, with a share of the cores."""
    os.nice(WORKER_NICENESS)
    share_cores(workers)


def default_workers() -> int:
    """All cores but one, for the page itself (at least one)."""
    return max(1, (os.cpu_count() or 2) - 1)


class ReplicatePairs:
    """Replicate pairs of a plan, running in a background thread that feeds a process pool.

    `done` and `total` report progress; `differences()` gives the interval so far (from two
    pairs on); `cancel()` stops those not yet started.
    """

    def __init__(self, plan: PairPlan, pairs: int, workers: int | None = None) -> None:
        self.plan = plan
        if pairs > MAX_PAIRS:
            raise ValueError(f"{pairs} replicate pairs: at most {MAX_PAIRS}")
        self.seeds = replicate_seeds(plan.seed, pairs)
        self.workers = min(workers or default_workers(), pairs)
        self.arms: dict[int, np.ndarray] = {}
        self.error: BaseException | None = None
        self.cancelled = False
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="replicate-pairs", daemon=True)
        self._thread.start()

    @property
    def total(self) -> int:
        return len(self.seeds)

    @property
    def done(self) -> int:
        with self._lock:
            return len(self.arms)

    def _run(self) -> None:
        pool = ProcessPoolExecutor(
            self.workers,
            mp_context=pool_context(),
            initializer=start_replay_worker,
            initargs=(self.workers,),
        )
        try:
            futures: dict[Future, int] = {
                pool.submit(replay_pair, self.plan, seed): seed for seed in self.seeds
            }
            for future in as_completed(futures):
                if self.cancelled:
                    break
                arms = future.result()
                with self._lock:
                    self.arms[futures[future]] = arms
        except BaseException as error:  # shown on the page in one line
            self.error = error
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            self.finished.set()

    def cancel(self) -> None:
        self.cancelled = True

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    def paired_runs(self) -> PairedRuns | None:
        """The pairs finished so far, in order of seed, as `culturesim compare` holds them."""
        with self._lock:
            seeds = sorted(self.arms)
            if len(seeds) < 2:
                return None
            stacked = np.stack([self.arms[s] for s in seeds])  # (pair, arm, week, measure)
        return PairedRuns(
            a=self.plan.scenario,
            b=self.plan.scenario,
            seeds=seeds,
            measures={},
            weekly={"A": stacked[:, 0], "B": stacked[:, 1]},
        )

    def differences(self) -> pd.DataFrame | None:
        """Per week and measure: the mean branch − main difference over the pairs so far and its
        95% paired t interval (None before two pairs)."""
        runs = self.paired_runs()
        if runs is None:
            return None
        frame = weekly_differences(runs, MEASURES)
        return frame.assign(pairs=len(runs.seeds))

    def matches(self, session: Session) -> bool:
        """Whether the session still shows the branch these pairs replay."""
        try:
            return plan_of(session, self.plan.to_week) == self.plan
        except ValueError:
            return False
