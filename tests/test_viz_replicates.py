"""The page's replicate pairs: each replays the page's branch with another seed, pair 0 is the
page's own run, and the interval is the same however many worker processes ran them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from culturesim.engine.scenario import load_scenario
from culturesim.viz.plots import MEASURES
from culturesim.viz.replicates import ReplicatePairs, plan_of, replay_pair
from culturesim.viz.session import LeverChange, Session, VizModel
from tests.conftest import write_tiny

BRANCH_WEEK, TO_WEEK = 4, 12


@pytest.fixture(scope="module")
def branched(tmp_path_factory) -> Session:
    """A small run branched at week 4: the stance softened and a programme on the branch, the
    funding moved on the main run after the branch, stepped to week 12."""
    scenario = load_scenario(write_tiny(tmp_path_factory.mktemp("pairs"), steps=52))
    run = Session(VizModel(scenario))
    run.main.set_lever("demand", 1.1)  # before the branch: both arms keep it
    for _ in range(BRANCH_WEEK):
        run.step()
    run.branch_here()
    run.branch.set_lever("stance", 0.1)
    run.branch.start_programme(0.5, 0.5)
    for week in range(BRANCH_WEEK, TO_WEEK):
        if week == 7:
            run.main.set_lever("funding", 0.8)
        run.step()
    return run


def arms_of(run: Session) -> np.ndarray:
    return np.stack(
        [m.timeseries()[list(MEASURES)].to_numpy(float) for m in (run.main, run.branch)]
    )


def test_pair_zero_replays_the_page_run_exactly(branched):
    replayed = replay_pair(plan_of(branched, TO_WEEK), branched.main.seed)
    np.testing.assert_array_equal(replayed, arms_of(branched))


def test_pairs_share_draws_before_the_branch_and_differ_by_seed(branched):
    plan = plan_of(branched, TO_WEEK)
    first, second = (replay_pair(plan, seed) for seed in (plan.seed, plan.seed + 1))
    for pair in (first, second):  # common random numbers: identical arms until the branch week
        np.testing.assert_array_equal(pair[0, :BRANCH_WEEK], pair[1, :BRANCH_WEEK])
    assert not np.array_equal(first, second)


@pytest.mark.slow  # two process pools: about 8 s
def test_interval_is_the_same_whatever_the_workers_and_covers_the_mean(branched):
    plan = plan_of(branched, TO_WEEK)
    frames = []
    for workers in (1, 2):
        pairs = ReplicatePairs(plan, 4, workers=workers)
        assert pairs.wait(120), "replicate pairs did not finish"
        assert pairs.error is None and pairs.done == 4
        assert pairs.seeds == [plan.seed + r for r in range(4)]
        frames.append(pairs.differences())
    pd.testing.assert_frame_equal(*frames)
    band = frames[0]
    assert set(band["measure"]) == set(MEASURES)
    defined = band.dropna()  # the cascade R is undefined in a week with no new episodes
    assert len(defined) > 0.9 * len(band)
    assert (defined["low"] <= defined["difference"] + 1e-12).all()
    assert (defined["difference"] <= defined["high"] + 1e-12).all()
    before = defined[defined["week"] < BRANCH_WEEK]
    assert (before[["difference", "low", "high"]] == 0).all().all()
    after = band[(band["week"] >= BRANCH_WEEK + 2) & (band["measure"] == "compassion_climate")]
    assert (after["high"] > after["low"]).all()  # the seeds disagree after the branch


def test_a_lever_moved_after_the_start_makes_the_pairs_stale(branched):
    pairs = ReplicatePairs(plan_of(branched, TO_WEEK), 2, workers=1)
    assert pairs.matches(branched)
    pairs.cancel()
    moved = Session(branched.main.twin())
    moved.branch, moved.branch_week = branched.branch.twin(), branched.branch_week
    assert pairs.matches(moved)
    moved.branch.set_lever("stance", 0.9)  # a move at week 12 counts for pairs to week 13 only
    assert pairs.matches(moved)
    assert plan_of(moved, TO_WEEK + 1) != plan_of(branched, TO_WEEK + 1)
    moved.branch.lever_log[-1] = LeverChange(5, "stance", 0.9)  # as if moved at week 5
    assert not pairs.matches(moved)


def test_bad_requests_are_refused_in_words(branched):
    with pytest.raises(ValueError, match="after the branch week"):
        plan_of(branched, BRANCH_WEEK)
    with pytest.raises(ValueError, match="at most 100"):
        ReplicatePairs(plan_of(branched, TO_WEEK), 101)
    with pytest.raises(Exception, match="at least 2"):
        ReplicatePairs(plan_of(branched, TO_WEEK), 1)
