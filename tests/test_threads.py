"""A large model's week on several threads gives the same outputs, bit for bit, as on one.

The threshold is lowered so that a short three-trust run takes the threaded path; the golden
record (every weekly measure, digests of every table) must match the single-threaded run's.
"""

import numpy as np
import pytest

from culturesim.engine import threads
from culturesim.engine.threads import blocks, per_person, threads_for, week_threads
from tests.golden import golden_record


@pytest.fixture
def threaded_from_any_size(monkeypatch):
    monkeypatch.setattr(threads, "PARALLEL_FROM", 0)


@pytest.mark.parametrize("count", [2, 3])
def test_threads_change_no_output_bit(threaded_from_any_size, count):
    with week_threads(1):
        one = golden_record("three-trusts-seed3")
    with week_threads(count):
        assert threads_for(1_800) == count  # the threaded path is the one under test
        several = golden_record("three-trusts-seed3")
    assert several == one


def test_small_models_and_sweep_workers_run_on_one_thread(monkeypatch):
    monkeypatch.setenv("CULTURESIM_THREADS", "4")
    assert threads_for(threads.PARALLEL_FROM - 1) == 1
    assert threads_for(threads.PARALLEL_FROM) == 4
    with week_threads(1):
        assert threads_for(10 * threads.PARALLEL_FROM) == 1


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
