"""Replicates side by side in one model (culturesim.engine.replicates): each run's outputs are
bit for bit those of the run alone, and what belongs to a run stays its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from culturesim.batch.dispatch import MAX_SIDE_BY_SIDE, batch_size
from culturesim.batch.executors import ExecutorHandle
from culturesim.batch.worker import RunSpec, RunTask, side_by_side, side_by_side_size
from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import load_scenario
from culturesim.engine.state import draw_traits
from culturesim.run.simulate import simulate, simulate_replicates

SEEDS = [3, 8, 21]


@pytest.fixture(scope="module")
def eventful():
    """Several trusts of unequal size, an intervention, a shock, a regulator that puts trusts
    into special measures and removes chief executives, and agents snapshots: every path
    through which a run draws random numbers or keeps its own books."""
    return load_scenario("compassionate-leadership").with_overrides(
        {
            "organisation.trusts": 4,
            "organisation.staff_per_trust": 150,
            "organisation.trust_size_spread": 0.4,
            "regulator.inadequate_quality": 0.95,
            "regulator.inspection_weeks": 13,
            "run.steps": 130,
            "run.snapshot_every": 50,
            "run.figures": False,
        }
    )


@pytest.fixture(scope="module")
def side_and_alone(eventful):
    return simulate_replicates(eventful, SEEDS), [simulate(eventful, seed=s) for s in SEEDS]


def test_each_replicate_side_by_side_is_bit_for_bit_its_run_alone(side_and_alone):
    side, alone = side_and_alone
    for together, solo in zip(side, alone, strict=True):
        assert together.scenario == solo.scenario
        assert together.summary == solo.summary
        for table in ("timeseries", "events", "episodes", "agents", "trusts"):
            pd.testing.assert_frame_equal(
                getattr(together, table), getattr(solo, table), check_exact=True, obj=table
            )


def test_the_check_covers_interventions_special_measures_and_removals(side_and_alone):
    _, alone = side_and_alone
    series = pd.concat([run.timeseries for run in alone])
    assert series["leaders_trained"].max() > 0.2
    assert series["special_measures_entries"].sum() >= 1
    assert series["ceo_exits"].sum() >= 3
    assert len({run.summary["bullied_by_staff"] for run in alone}) == len(SEEDS)


def test_replicates_keep_their_own_people_episode_numbers_and_organisation(side_and_alone):
    side, alone = side_and_alone
    for together, solo in zip(side, alone, strict=True):
        assert together.episodes["post"].max() < solo.org.n_posts
        assert together.org.n_posts == solo.org.n_posts
        np.testing.assert_array_equal(together.org.manager, solo.org.manager)
    model = side[0].model
    assert model.org.n_posts == sum(run.org.n_posts for run in alone)
    for replicate in model.replicates:
        posts = np.arange(replicate.posts.start, replicate.posts.stop)
        managers = model.org.manager[posts]
        assert ((managers == -1) | np.isin(managers, posts)).all()
        ties = model.org.peers[posts].indices
        assert ((ties >= replicate.posts.start) & (ties < replicate.posts.stop)).all()


def test_a_model_of_several_replicates_refuses_the_single_run_accessors():
    model = CultureModel("baseline", seeds=[1, 2], burn_in=False, **{"run.steps": 2})
    with pytest.raises(AttributeError, match="2 replicates side by side"):
        _ = model.recorder
    with pytest.raises(ValueError, match="at least one"):
        CultureModel("baseline", seeds=[])
    with pytest.raises(ValueError, match="one or the other"):
        CultureModel("baseline", seed=5, seeds=[1, 2])


def _tasks(points: int, replicates: int) -> tuple[RunTask, ...]:
    return tuple(
        RunTask(p * replicates + r, p, r, 100 + r, {"drivers.funding.value": 0.8 + 0.1 * p})
        for p in range(points)
        for r in range(replicates)
    )


def test_a_worker_puts_a_points_consecutive_replicates_side_by_side():
    base = load_scenario("baseline")
    spec = RunSpec(base, None, (), 1)
    groups = side_by_side(spec, _tasks(points=2, replicates=3))
    assert [[t.run_id for t in g] for g in groups] == [[0, 1, 2], [3, 4, 5]]
    # as even as can be: 40 baseline runs (2,000 posts) in 3 models, each under 32,000 posts
    assert [len(g) for g in side_by_side(spec, _tasks(points=1, replicates=40))] == [14, 14, 12]
    # a run function of the user's runs each alone
    assert all(
        len(g) == 1 for g in side_by_side(RunSpec(base, None, (), 1, simulate), _tasks(2, 3))
    )
    # large models stay alone: 60 trusts of 2,000 posts is more than SIDE_BY_SIDE_POSTS
    big = RunSpec(base.with_overrides({"organisation.trusts": 60}), None, (), 1)
    assert all(len(g) == 1 for g in side_by_side(big, _tasks(1, 3)))
    # and the sweep does not batch what cannot share a model (a task is one run again)
    assert side_by_side_size(big.base, 10) == 1
    local = ExecutorHandle(executor=None, slots=2, where="here", close=lambda: None, local=True)
    assert batch_size(local, 400, side_by_side_size(big.base, 10)) == 1


@pytest.mark.parametrize(
    ("runs_left", "replicates", "expected"),
    [(1000, 10, 10), (1000, 100, 25), (40, 10, 5), (8, 10, 1), (1000, 1, 1)],
)
def test_local_batches_are_whole_or_even_shares_of_a_points_replicates(
    runs_left, replicates, expected
):
    local = ExecutorHandle(executor=None, slots=2, where="here", close=lambda: None, local=True)
    assert batch_size(local, runs_left, replicates) == expected <= MAX_SIDE_BY_SIDE


def test_paired_runs_side_by_side_report_what_each_pair_reports_alone():
    """`compare` and the causal twins run each arm's replicates side by side: the same numbers
    as each pair run alone, in groups spread over the workers."""
    from culturesim.batch.compare import headline_outcomes
    from culturesim.batch.paired import pair_groups, run_pair, run_pairs
    from culturesim.run.simulate import summary_only

    a = load_scenario("baseline").with_overrides({"organisation.staff_per_trust": 300})
    b = a.with_overrides({"drivers.funding.value": 0.8})
    seeds = [5, 6, 7]
    together = run_pairs(a, b, seeds, headline_outcomes)
    alone = [run_pair(summary_only(a), summary_only(b), s, headline_outcomes) for s in seeds]
    for index, arm in enumerate(("A", "B")):
        expected = pd.DataFrame([pair[index] for pair in alone])
        pd.testing.assert_frame_equal(together.measures[arm], expected, check_exact=True)
        np.testing.assert_array_equal(
            together.weekly[arm], np.stack([pair[2][index] for pair in alone])
        )
    assert [len(g) for g, _ in pair_groups(a, list(range(10)), 2, None)] == [5, 5]
    assert [g for g, _ in pair_groups(a, [1, 2], 2, ["d1", "d2"])] == [[1], [2]]


def test_hiring_draws_each_replicates_traits_from_its_own_stream_as_alone():
    """Traits for the hires of several replicates are drawn in one call: each replicate's are
    the numbers its own stream gives it alone, role by role, whatever the others hire."""
    scenario = load_scenario("baseline")
    rng = np.random.default_rng(9)
    runs = [7, 0, 12, 1]
    levels = [rng.integers(0, 5, n).astype(np.int8) for n in runs]
    shifts = [rng.random(n) * 0.1 for n in runs]
    together = draw_traits(
        scenario,
        np.concatenate(levels),
        [np.random.default_rng(seed) for seed in range(4)],
        np.concatenate(shifts),
        runs,
    )
    first = 0
    for seed, (level, shift) in enumerate(zip(levels, shifts, strict=True)):
        alone = draw_traits(scenario, level, np.random.default_rng(seed), shift)
        for name, values in alone.items():
            assert np.array_equal(together[name][first : first + len(level)], values)
        first += len(level)
    assert len(set(np.concatenate(levels[2:3]).tolist())) > 2  # several roles in one run


def test_a_side_by_side_result_keeps_its_tables_when_its_model_runs_on():
    """A side-by-side run's events are gathered when first read: stepping its model on
    afterwards does not add the later weeks to the run's tables."""
    scenario = load_scenario("baseline").with_overrides(
        {"organisation.staff_per_trust": 300, "run.steps": 20}
    )
    side = simulate_replicates(scenario, [1, 2])[0]
    for _ in range(8):
        side.model.step()
    alone = simulate(scenario, seed=1)
    assert side.events.week.max() == 19
    assert side.events.equals(alone.events)
    assert side.trusts.equals(alone.trusts)
