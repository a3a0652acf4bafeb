"""The weekly measures' compiled tally gives numpy's counts and numpy's sums, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from culturesim.engine.bullying import persistent_perpetrators
from culturesim.engine.tallies import pairwise_sum, tally


@pytest.mark.parametrize(
    "size", [*range(0, 140), 255, 256, 257, 1000, 8191, 8192, 8193, 100_003, 1_234_567]
)
def test_pairwise_sum_adds_as_numpys_sum_does(size):
    """numpy sums a contiguous float64 array pairwise (blocks of 128 in eight interleaved
    sums): values spread over 16 orders of magnitude make any other order show in the bits."""
    rng = np.random.default_rng(size)
    values = rng.random(size + 3) * 10.0 ** rng.integers(-8, 8, size + 3)
    assert pairwise_sum(values, 3, size) == values[3:].sum()
    assert pairwise_sum(values, 0, size) == values[:size].sum()


def test_a_plain_left_to_right_sum_would_differ():
    """The check above can fail: the same numbers added one after another give other bits."""
    rng = np.random.default_rng(1)
    values = rng.random(1000) * 10.0 ** rng.integers(-8, 8, 1000)
    running = 0.0
    for value in values:
        running += value
    assert running != values.sum() == pairwise_sum(values, 0, 1000)


def test_tally_matches_numpy_run_by_run():
    rng = np.random.default_rng(3)
    edges = np.array([0, 0, 1, 600, 1_900, 1_910, 5_000])  # an empty run and a one-post run
    n = edges[-1]
    occupied = rng.random(n) < 0.85
    occupied[1_900:1_910] = False  # a run with nobody in post
    weeks = {f"w{j}": rng.integers(-300, 60, n).astype(np.int32) for j in range(5)}
    marks = {f"m{j}": rng.random(n) < 0.3 for j in range(4)}
    values = {f"v{j}": rng.random(n) * 10.0 ** rng.integers(-6, 6, n) for j in range(3)}
    person_id = rng.permutation(3 * n)[:n].astype(np.int32)  # ids are a run's own: they repeat
    person_id[600:1_900] = person_id[:1_300]
    person_id[np.flatnonzero(occupied)[::97]] = -1  # no id is negative; one there matches none
    source = np.where(rng.random(n) < 0.2, rng.choice(person_id, n), -1).astype(np.int32)
    persistent = occupied & (rng.random(n) < 0.3)

    counted = tally(edges, occupied, weeks, 10, marks, values, person_id, source, persistent)

    for run, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        here = occupied[a:b]
        assert counted.staff[run] == np.count_nonzero(here)
        for name, week in weeks.items():
            assert counted.count(name)[run] == np.count_nonzero(here & (week[a:b] > 10))
        for name, mark in marks.items():
            assert counted.count(name)[run] == np.count_nonzero(here & mark[a:b])
        for j, value in enumerate(values.values()):
            assert counted.sums[run, j] == value[a:b][here].sum()  # the same bits
        sources = persistent_perpetrators(person_id[a:b], source[a:b], persistent[a:b])
        assert counted.count("sources")[run] == np.count_nonzero(here & sources)
    assert counted.staff[0] == counted.staff[4] == 0
    assert counted.count("sources").sum() > 0


def test_tally_refuses_another_set_of_counts():
    n = np.zeros(4, dtype=np.int32)
    with pytest.raises(ValueError, match="five weeks and four marks"):
        tally(np.array([0, 4]), n > 0, {"w": n}, 0, {}, {}, n, n, n > 0)
