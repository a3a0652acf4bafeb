"""A large model's week on several threads gives the same outputs, bit for bit, as on one.

The threshold is lowered so that a short three-trust run takes the threaded path; the golden
record (every weekly measure, digests of every table) must match the single-threaded run's.
"""

import numpy as np
import pandas as pd
import pytest

from culturesim.batch.worker import RunSpec, RunTask, execute_runs
from culturesim.engine import threads
from culturesim.engine.scenario import load_scenario
from culturesim.engine.threads import blocks, per_person, share_cores, threads_for, week_threads
from tests.golden import golden_record


@pytest.fixture
def threaded_from_any_size(monkeypatch):
    monkeypatch.setattr(threads, "PARALLEL_FROM", 0)


@pytest.mark.parametrize("count", [2, 3])
def test_threads_change_no_output_bit(threaded_from_any_size, count, monkeypatch):
    if count == 3:
        monkeypatch.setattr(threads, "BLOCK_POSTS", 256)  # many more blocks than threads
    with week_threads(1):
        one = golden_record("three-trusts-seed3")
    with week_threads(count):
        assert threads_for(1_800) == count  # the threaded path is the one under test
        several = golden_record("three-trusts-seed3")
    assert several == one


def test_small_models_run_on_one_thread_large_ones_on_the_setting(monkeypatch):
    monkeypatch.setenv("CULTURESIM_THREADS", "4")
    assert threads_for(threads.PARALLEL_FROM - 1) == 1
    assert threads_for(threads.PARALLEL_FROM) == 4
    with week_threads(1):
        assert threads_for(10 * threads.PARALLEL_FROM) == 1


class ThreadsSeen:
    """What a run function reports: the threads a large model would get in this worker."""

    def __init__(self) -> None:
        self.summary = {"threads": threads_for(10 * threads.PARALLEL_FROM)}
        self.timeseries = pd.DataFrame({"week": [0]})


def report_threads(scenario, seed):
    return ThreadsSeen()


def test_a_worker_of_a_local_pool_gets_its_share_of_the_cores_and_a_dask_worker_one(monkeypatch):
    monkeypatch.delenv("CULTURESIM_THREADS", raising=False)
    monkeypatch.setattr(threads, "_process_threads", None)
    spec = RunSpec(load_scenario("baseline"), ("threads",), (), 1, report_threads)
    task = RunTask(0, 0, 0, 1, {})
    [dask_like] = execute_runs(spec, (task,))  # no pool initializer ran: one thread
    assert dask_like["status"] == "ok" and dask_like["measures"]["threads"] == 1
    share_cores(1)  # the only worker of a local pool: every core
    [alone] = execute_runs(spec, (task,))
    assert alone["measures"]["threads"] == threads.available_cores()
    share_cores(10**6)  # more workers than cores: never fewer than one thread
    assert threads.process_threads() == 1


def test_numpy_error_state_reaches_the_blocks(threaded_from_any_size):
    @per_person
    def ratio(x, y):
        return x / y

    x, y = np.ones(1000), np.zeros(1000)
    with week_threads(2), np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        ratio(x, y)


def test_a_bad_thread_count_is_named(monkeypatch):
    monkeypatch.setenv("CULTURESIM_THREADS", "many")
    with pytest.raises(ValueError, match="CULTURESIM_THREADS = 'many'"):
        threads_for(threads.PARALLEL_FROM)


def test_per_person_rules_join_their_blocks_in_order(threaded_from_any_size):
    @per_person
    def shifted(x, y, scale):
        return scale * x + y

    x, y = np.arange(1001.0), np.linspace(0, 1, 1001)
    with week_threads(3):
        assert np.array_equal(shifted(x, y, 2.0), 2.0 * x + y)
        assert np.array_equal(shifted(y=y, scale=2.0, x=x), 2.0 * x + y)
    assert [(b.start, b.stop) for b in blocks(10, 3)] == [(0, 3), (3, 7), (7, 10)]

    @per_person
    def kept_and_flagged(x):
        return (x % 100).astype(np.int8), x > 500

    with week_threads(3):
        kept, flagged = kept_and_flagged(x)
    assert kept.dtype == np.int8 and np.array_equal(kept, (x % 100).astype(np.int8))
    assert np.array_equal(flagged, x > 500)


def test_levers_pulled_between_weeks_by_hand_change_no_record(threaded_from_any_size):
    """A model stepped by hand (the page, its replicate replays, a notebook) records each week
    before `step` returns, so a lever pulled between weeks cannot reach last week's measures;
    a copy (the page's branch) goes on like the original."""
    import copy

    from culturesim.engine.model import CultureModel

    def run(threads: int) -> tuple:
        with week_threads(threads):
            model = CultureModel("baseline", seed=4, **{"run.steps": 8})
            for _ in range(2):
                model.step()
            model.start_leadership_programme(1.0, 0.9)
            model.step()
            branch = copy.deepcopy(model)
            for run_ in (model, branch):
                for _ in range(3):
                    run_.step()
            assert branch.timeseries().equals(model.timeseries())
            return model.timeseries()

    one, two = run(1), run(2)
    assert one.equals(two)
    assert one.leaders_trained.iloc[1] == 0 < one.leaders_trained.iloc[2]


def test_a_week_that_fails_to_record_alongside_stops_the_run_naming_it(
    threaded_from_any_size, monkeypatch
):
    """`simulate` lets a large model record each week while the next begins: an error there is
    raised, with the week it was recording, not lost."""
    from culturesim.engine import recorder
    from culturesim.run.simulate import simulate

    record_rows = recorder.record_rows

    def fails_in_week_2(observed):
        if observed.t == 2:
            raise ArithmeticError("a measure failed")
        return record_rows(observed)

    monkeypatch.setattr(recorder, "record_rows", fails_in_week_2)
    scenario = load_scenario("baseline").with_overrides({"run.steps": 6}, "test")
    with week_threads(2), pytest.raises(ArithmeticError) as raised:
        simulate(scenario, seed=1)
    assert "(while recording week 2)" in raised.value.__notes__


def test_a_rule_reading_someone_elses_post_gets_that_array_whole(threaded_from_any_size):
    @per_person(whole=("value",))
    def managers_value(manager, value):
        return value[manager]

    manager = np.arange(1001)[::-1].copy()  # every block reads posts in another block
    value = np.linspace(0, 1, 1001)
    with week_threads(3):
        assert np.array_equal(managers_value(manager, value), value[manager])
        assert np.array_equal(managers_value(manager, value=value), value[manager])


def test_a_rule_that_writes_into_a_result_gets_its_blocks_parts_of_one_array(
    threaded_from_any_size, monkeypatch
):
    monkeypatch.setattr(threads, "BLOCK_POSTS", 100)  # eleven blocks on three threads
    seen_parts = []

    @per_person(result=np.float64)
    def halved(x, out=None):
        seen_parts.append(out)
        result = np.empty(len(x)) if out is None else out
        return np.divide(x, 2, out=result)

    x = np.arange(1001.0)
    with week_threads(3):
        whole = halved(x)
    assert np.array_equal(whole, x / 2)
    assert len(seen_parts) == 11
    assert all(part.base is whole for part in seen_parts)  # views of the one result: no join
    with week_threads(1):
        assert np.array_equal(halved(x), x / 2)  # run whole, the rule makes its own array
    assert seen_parts[-1] is None


@pytest.mark.parametrize("count", [100_001, 1_390_672])
def test_a_large_draw_on_threads_gives_the_streams_own_numbers(count):
    one, split = np.random.default_rng(4), np.random.default_rng(4)
    split.random(3)
    one.random(3)
    with week_threads(2):
        assert threads_for(count) == 2
        drawn = threads.uniform_on_threads(split, count)
    assert drawn.tobytes() == one.random(count).tobytes()
    assert split.bit_generator.state == one.bit_generator.state  # the stream goes on the same
    assert split.random(5).tobytes() == one.random(5).tobytes()
    kept_back = np.random.default_rng(4)
    kept_back.integers(0, 10, dtype=np.uint32)  # a 32-bit output kept back: drawn whole
    again = np.random.default_rng(4)
    again.integers(0, 10, dtype=np.uint32)
    with week_threads(2):
        assert (
            threads.uniform_on_threads(kept_back, count).tobytes() == again.random(count).tobytes()
        )
    assert kept_back.bit_generator.state == again.bit_generator.state  # kept back still


def test_a_rule_given_out_writes_there_and_one_that_ignores_out_is_refused(threaded_from_any_size):
    @per_person(result=np.float64)
    def halved(x, out=None):
        result = np.empty(len(x)) if out is None else out
        return np.divide(x, 2, out=result)

    @per_person(result=np.float64)
    def careless(x, out=None):
        return x / 2  # a new array: the whole result would be left unwritten

    x = np.arange(1001.0)
    mine = np.zeros(1001)
    with week_threads(3):
        assert halved(x, out=mine) is mine
        with pytest.raises(TypeError, match="careless returned a new array"):
            careless(x)
    assert np.array_equal(mine, x / 2)


def test_the_weeks_own_threads_run_whatever_they_are_given_whole():
    with week_threads(2):
        assert threads_for(10 * threads.PARALLEL_FROM) == 2
        inside = threads._pool(2).submit(threads_for, 10 * threads.PARALLEL_FROM).result()
    assert inside == 1  # waiting on its own pool could hang
