"""Sums per team and per trust (a weighted `np.bincount`), counts and membership, each in one
compiled pass over the population.

A week sums staff, strain, recent bullying and norms per team (Eq. 2, 10) and per trust (Eq.
12, the trusts table). `np.bincount(group, weights=value * present)` makes the product, casts
it to float and scans the group index for its largest value before adding: four passes over the
population where one will do. `sum_per_group` adds `value[i] * present[i]` to `out[group[i]]`
in post order, the same additions in the same order as `np.bincount`, so the sums are the same
bit for bit (`tests/test_sums.py`). A group's running sum stays in a register while its posts
follow one another (a team's posts are contiguous), rather than going back to memory after each
addition, which waited on the last store (issue 11, session 9). Every group lies inside one
trust and a trust's posts are contiguous, so a large model's trusts are shared out among
threads whole (`PARALLEL_FROM`, culturesim.engine.threads), and each group's sum is still made
by one thread in post order.
"""

from __future__ import annotations

import numba
import numpy as np

from culturesim.engine.threads import numba_threads, threads_for
from culturesim.engine.ties import threaded_twin


class OnWeekThreads:
    """A compiled pass and its threaded twin; called with the population's size first, it runs
    on the threads a week of that size gets (`threads_for`): the twin on several, else itself."""

    def __init__(self, kernel) -> None:
        self.serial, self.threaded = kernel, threaded_twin(kernel)

    def __call__(self, population: int, *args):
        threads = threads_for(population)
        if threads == 1:
            return self.serial(*args)
        with numba_threads(threads):
            return self.threaded(*args)


@OnWeekThreads
@numba.njit(cache=True, nogil=True)
def _sum_by_trust_blocks(group, value, present, trust_start, out):
    for trust in numba.prange(len(trust_start) - 1):
        first, end = trust_start[trust], trust_start[trust + 1]
        if first == end:
            continue
        # the trust's posts as views walked from 0: 1.9x faster than from `first` (session 11)
        groups, values, weights = group[first:end], value[first:end], present[first:end]
        current = groups[0]
        running = out[current]
        for i in range(len(groups)):
            if groups[i] != current:  # a run of one group's posts ends: its sum goes back
                out[current] = running
                current = groups[i]
                running = out[current]
            running += values[i] * weights[i]
        out[current] = running


@OnWeekThreads
@numba.njit(cache=True, nogil=True)
def _sum_by_trust(value, present, trust_start, out):
    for trust in numba.prange(len(trust_start) - 1):
        running = 0.0
        for i in range(trust_start[trust], trust_start[trust + 1]):
            running += value[i] * present[i]
        out[trust] = running


def sum_per_trust(value: np.ndarray, present: np.ndarray, trust_start: np.ndarray) -> np.ndarray:
    """`sum_per_group` with each trust as the group, bit for bit, without reading a group index:
    a trust's posts are the block `trust_start[t] : trust_start[t + 1]`."""
    out = np.zeros(len(trust_start) - 1)
    _sum_by_trust(len(value), value, present, trust_start, out)
    return out


def sum_per_group(
    group: np.ndarray,
    value: np.ndarray,
    present: np.ndarray,
    n_groups: int,
    trust_start: np.ndarray,
) -> np.ndarray:
    """`np.bincount(group, weights=value * present, minlength=n_groups)`, bit for bit.

    `group` gives each post's group (a team's leader post, or a trust), every group inside one
    trust; `trust_start` is the organisation's trust boundaries; `present` a mask or weights.
    """
    out = np.zeros(n_groups)
    _sum_by_trust_blocks(len(group), group, value, present, trust_start, out)
    return out


@OnWeekThreads
@numba.njit(cache=True, nogil=True)
def _among(ids, chosen, out):
    top = -1
    for c in chosen:
        top = max(top, c)
    marked = np.zeros(top + 1, dtype=np.bool_)
    for c in chosen:
        if c >= 0:
            marked[c] = True
    for i in numba.prange(len(ids)):
        out[i] = 0 <= ids[i] <= top and marked[ids[i]]


def among(ids: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """`np.isin(ids, chosen)` for non-negative ids (people's), in one pass over `ids` after
    marking `chosen` in a table as long as its largest id (a negative chosen id matches none)."""
    out = np.empty(len(ids), dtype=bool)
    _among(len(ids), ids, chosen, out)
    return out


@numba.njit(cache=True, nogil=True)
def _first_of_each(values, out):
    top = -1
    for value in values:
        top = max(top, value)
    seen = np.zeros(top + 1, dtype=np.bool_)
    found = 0
    for i in range(len(values)):
        if not seen[values[i]]:
            seen[values[i]] = True
            out[found] = i
            found += 1
    return found


def first_of_each(values: np.ndarray) -> np.ndarray:
    """Where each distinct value of `values` (non-negative: posts) first appears, in the order
    they appear: the indices `np.unique(values, return_index=True)` gives, not sorted by value,
    in one pass rather than a stable sort (a whole-NHS week's victims: about 4 ms a call)."""
    out = np.empty(len(values), dtype=np.int64)
    return out[: _first_of_each(values, out)]
