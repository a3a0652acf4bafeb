"""A recorded week's counts and sums over posts, for every run of a model, in one compiled pass.

The weekly measures (culturesim.engine.measures) read about a dozen counts and three means over
the staff in post. Worked out one by one, each is a numpy pass or two over the model's arrays,
with its own temporary arrays: about 0.8 ms a week at 32,000 posts (issue 11). `tally` makes
them all in one pass over each run's block of posts, and one over the staff it gathered:

- counts of staff in post, of staff in post marked by each mask, and of staff in post whose
  week of something is after the survey's start;
- how many staff in post are the counted source of someone persistently bullied (person ids
  are a run's own, so each run is matched alone);
- the sum of each value over staff in post, added in the order numpy's `sum` adds them
  (`pairwise_sum`), so a mean has the same bits as `values[occupied].sum() / staff`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np

BLOCK = 128
"""numpy's pairwise summation adds runs of up to this many numbers in eight interleaved sums
(PW_BLOCKSIZE in numpy's loops_utils.h.src) and splits longer runs in two."""


@numba.njit(cache=True, nogil=True)
def _block_sum(values, first, count):
    """numpy's sum of at most `BLOCK` numbers: eight interleaved sums from eight on."""
    if count < 8:
        total = 0.0
        for i in range(first, first + count):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[first], values[first + 1], values[first + 2], values[first + 3]
    r4, r5, r6, r7 = values[first + 4], values[first + 5], values[first + 6], values[first + 7]
    i = 8
    whole = count - count % 8
    while i < whole:
        at = first + i
        r0 += values[at]
        r1 += values[at + 1]
        r2 += values[at + 2]
        r3 += values[at + 3]
        r4 += values[at + 4]
        r5 += values[at + 5]
        r6 += values[at + 6]
        r7 += values[at + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += values[first + i]
        i += 1
    return total


@numba.njit(cache=True, nogil=True)
def pairwise_sum(values: np.ndarray, first: int, count: int) -> float:
    """The sum of `values[first:first + count]` as numpy's `sum` makes it for a contiguous
    float64 array, to the same bits (`tests/test_tallies.py`): runs of over `BLOCK` numbers are
    split in two (the first half a multiple of eight) and the halves' sums added.

    The halving is walked with a stack of its own rather than by recursion, which numba's
    cache does not load back safely."""
    if count <= BLOCK:
        return _block_sum(values, first, count)
    depth = 64
    starts = np.empty(depth, dtype=np.int64)
    counts = np.empty(depth, dtype=np.int64)
    stage = np.zeros(depth, dtype=np.int8)  # 0: go left, 1: go right, 2: add the halves
    left = np.empty(depth)
    top, starts[0], counts[0] = 0, first, count
    total = 0.0
    while top >= 0:
        n = counts[top]
        half = n // 2
        half -= half % 8
        if n <= BLOCK:
            total = _block_sum(values, starts[top], n)
            top -= 1
        elif stage[top] == 0:
            stage[top] = 1
            top += 1
            starts[top], counts[top], stage[top] = starts[top - 1], half, 0
        elif stage[top] == 1:
            left[top], stage[top] = total, 2
            top += 1
            starts[top], counts[top], stage[top] = starts[top - 1] + half, n - half, 0
        else:
            total = left[top] + total
            top -= 1
    return total


@numba.njit(cache=True, nogil=True)
def _sum_in_post(values, occupied, gathered):
    """`values[occupied].sum()`, gathering into `gathered` (written for each post, kept for
    staff in post: no branch)."""
    n = 0
    for i in range(len(values)):
        gathered[n] = values[i]
        n += occupied[i]
    return 0.0 + pairwise_sum(gathered, 0, n)


@numba.njit(cache=True, nogil=True)
def _tally(edges, occupied, weeks, since, marks, values, person_id, source, persistent):
    """For each run: one pass for every count, one for the largest source, and one for each
    value's sum over staff in post, gathered into one buffer (a whole-NHS run's is 11 MB).
    Each pass reads views of the run's block from 0 and names each array: a loop from a
    block's first post, or one indexing a tuple, is not compiled to vector instructions (eight
    to ten times as long)."""
    runs = len(edges) - 1
    staff = np.zeros(runs, dtype=np.int64)
    counts = np.zeros((runs, 10), dtype=np.int64)
    sums = np.zeros((runs, 3))
    longest = np.max(np.diff(edges)) if runs else 0
    gathered = np.empty(longest + 1)
    for run in range(runs):
        a, b = edges[run], edges[run + 1]
        o = occupied[a:b]
        w0, w1, w2 = weeks[0][a:b], weeks[1][a:b], weeks[2][a:b]
        w3, w4 = weeks[3][a:b], weeks[4][a:b]
        m0, m1, m2, m3 = marks[0][a:b], marks[1][a:b], marks[2][a:b], marks[3][a:b]
        v0, v1, v2 = values[0][a:b], values[1][a:b], values[2][a:b]
        who, sourced, held = person_id[a:b], source[a:b], persistent[a:b]
        n = a0 = a1 = a2 = a3 = a4 = c0 = c1 = c2 = c3 = 0
        for i in range(len(o)):
            x = o[i]
            n += x
            a0 += x & (w0[i] > since)
            a1 += x & (w1[i] > since)
            a2 += x & (w2[i] > since)
            a3 += x & (w3[i] > since)
            a4 += x & (w4[i] > since)
            c0 += x & m0[i]
            c1 += x & m1[i]
            c2 += x & m2[i]
            c3 += x & m3[i]
        top = -1
        for i in range(len(o)):
            top = max(top, sourced[i] if held[i] else -1)
        staff[run] = n
        counts[run, 0], counts[run, 1], counts[run, 2], counts[run, 3] = a0, a1, a2, a3
        counts[run, 4], counts[run, 5], counts[run, 6], counts[run, 7] = a4, c0, c1, c2
        counts[run, 8] = c3
        sums[run, 0] = _sum_in_post(v0, o, gathered)
        sums[run, 1] = _sum_in_post(v1, o, gathered)
        sums[run, 2] = _sum_in_post(v2, o, gathered)
        if top >= 0:
            is_source = np.zeros(top + 1, dtype=np.bool_)
            for i in range(len(o)):
                if held[i] and sourced[i] >= 0:
                    is_source[sourced[i]] = True
            count = 0
            for i in range(len(o)):
                known = (who[i] >= 0) & (who[i] <= top)  # as `among`: no id below 0
                count += o[i] & known & is_source[max(min(who[i], top), 0)]
            counts[run, 9] = count
    per_staff = np.empty((runs, 13))
    for run in range(runs):
        at_least_one = max(staff[run], 1)
        for j in range(10):
            per_staff[run, j] = counts[run, j] / at_least_one
        for j in range(3):
            per_staff[run, 10 + j] = sums[run, j] / at_least_one
    return staff, counts, sums, per_staff


@dataclass(frozen=True)
class Tally:
    """Each run's counts and sums over its staff in post, a row per run: `counts` has a column
    for each week, then each mark, then "sources" (the staff in post who are the counted source
    of someone persistently bullied); `sums` a column for each value, each summed as numpy's
    `sum` adds it; `per_staff`, the counts then the sums, each divided by the run's staff in
    post (by 1 with nobody in post). `columns` gives each name's column of `per_staff`."""

    staff: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    per_staff: np.ndarray
    columns: dict[str, int]

    def count(self, name: str) -> np.ndarray:
        return self.counts[:, self.columns[name]]


@functools.cache
def _columns(names: tuple[str, ...]) -> dict[str, int]:
    return {name: column for column, name in enumerate(names)}


def tally(
    edges: np.ndarray,
    occupied: np.ndarray,
    weeks: dict[str, np.ndarray],
    since: int,
    marks: dict[str, np.ndarray],
    values: dict[str, np.ndarray],
    person_id: np.ndarray,
    source_person: np.ndarray,
    persistent: np.ndarray,
) -> Tally:
    """The counts and sums of `Tally` for each run, whose posts lie between successive
    `edges`: five `weeks`, int32 arrays compared with `since`; four `marks`, boolean masks;
    three `values`, float64 arrays; `persistent` marks whose counted source (`source_person`)
    is a persistent perpetrator."""
    if (len(weeks), len(marks), len(values)) != (5, 4, 3):
        raise ValueError("tally counts five weeks and four marks and sums three values")
    staff, counts, sums, per_staff = _tally(
        np.asarray(edges, dtype=np.int64),
        occupied,
        tuple(weeks.values()),
        since,
        tuple(marks.values()),
        tuple(np.ascontiguousarray(v, dtype=np.float64) for v in values.values()),
        person_id,
        source_person,
        persistent,
    )
    return Tally(staff, counts, sums, per_staff, _columns((*weeks, *marks, "sources", *values)))
