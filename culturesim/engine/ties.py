"""A compiled pass over the colleague ties for Eq. 1 (what a person sees around them).

The numpy formulation needed about ten full-array passes and a stacked copy around each
sparse product; this numba kernel does the neighbourhood weights and every quantity's
colleague sum in one pass. It walks a post's ties in the tie matrix's order and adds from 0.0
one tie at a time, as scipy's CSR product does, and does the other floating-point operations
in the same order as `culturesim.engine.rules` states them, so results are bit for bit those
of the numpy formulation (`tests/test_golden.py`). The tie indices arrive as unsigned
(`tie_indices`, a view of the matrix's own int32 indices, which are never negative): numba
then reads a colleague's values without the check for a negative index that a signed index
costs, about 1.4x faster at nhs-england size and 2x at 10,000 posts (issue 11). The weights
are written out in each kernel rather than shared through an inlined helper function: with the
helper, the serial kernels ran the same arithmetic about 2.2x slower at 10,000 posts and 1.3x
at nhs-england size on one thread (the threaded twins were as fast either way; issue 11,
session 9, in `benchmarks/results/issue11.md`). Each post's
row is computed on its own, so the `threaded_twin`s, the same code compiled to share the rows
out among threads (large models, culturesim.engine.threads), give the same results bit for
bit. numba is imported when a model first needs it (not at `import culturesim`); the kernels
compile on first use and are cached on disk.
"""

import types

import numba
import numpy as np


def tie_indices(indices: np.ndarray) -> np.ndarray:
    """The tie matrix's column indices as uint32, without a copy (they are never negative)."""
    return indices.view(np.uint32) if indices.dtype == np.int32 else indices.astype(np.uint32)


@numba.njit(cache=True, nogil=True)
def neighbour_mean_of_one(indptr, indices, manager, occupied, leader_weight, x, seen_x):
    """Eq. 1 for one quantity, written into `seen_x`."""
    for i in numba.prange(len(manager)):
        count = a = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            present = np.float64(occupied[j])
            count += present
            a += x[j] * present
        boss = manager[i] if manager[i] >= 0 else 0
        w_peer = (1 - leader_weight) * (1.0 if count > 0 else 0.0)
        w_boss = leader_weight * (1.0 if manager[i] >= 0 and occupied[boss] else 0.0)
        total = w_peer + w_boss
        if total == 0:  # nobody in post around: a person sees only themselves
            seen_x[i] = x[i]
        else:
            seen_x[i] = (w_peer / max(count, 1.0) / total) * a + (w_boss / total) * x[boss]


@numba.njit(cache=True, nogil=True)
def neighbour_means_of_three(
    indptr, indices, manager, occupied, leader_weight, x, y, z, seen_x, seen_y, seen_z
):
    """Eq. 1 for three quantities in one pass (scalar sums: three times the speed of an array)."""
    for i in numba.prange(len(manager)):
        count = a = b = c = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            present = np.float64(occupied[j])
            count += present
            a += x[j] * present
            b += y[j] * present
            c += z[j] * present
        boss = manager[i] if manager[i] >= 0 else 0
        w_peer = (1 - leader_weight) * (1.0 if count > 0 else 0.0)
        w_boss = leader_weight * (1.0 if manager[i] >= 0 and occupied[boss] else 0.0)
        total = w_peer + w_boss
        if total == 0:
            seen_x[i], seen_y[i], seen_z[i] = x[i], y[i], z[i]
        else:
            peer_scale, boss_scale = w_peer / max(count, 1.0) / total, w_boss / total
            seen_x[i] = peer_scale * a + boss_scale * x[boss]
            seen_y[i] = peer_scale * b + boss_scale * y[boss]
            seen_z[i] = peer_scale * c + boss_scale * z[boss]


@numba.njit(cache=True, nogil=True)
def neighbour_share_of_one(indptr, indices, manager, present_and_marked, leader_weight, seen):
    """Eq. 1 for a 0/1 quantity, from one byte a post (bit 0: in post; bit 1: marked).

    The same additions as `neighbour_mean_of_one`'s (of 0s and 1s, in the same order), so the
    same bits, but a colleague costs one byte read instead of a float and a flag: about 1.5x
    faster at nhs-england size, as fast at 10,000 posts (issue 11). (Counting in integers
    instead measured slower at 10,000 and 100,000 posts.)
    """
    for i in numba.prange(len(manager)):
        count = marked = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            code = present_and_marked[indices[k]]
            count += np.float64(code & 1)
            marked += np.float64(code == 3)  # in post and marked
        boss = manager[i] if manager[i] >= 0 else 0
        boss_code = present_and_marked[boss]
        w_peer = (1 - leader_weight) * (1.0 if count > 0 else 0.0)
        w_boss = leader_weight * (1.0 if manager[i] >= 0 and boss_code & 1 else 0.0)
        total = w_peer + w_boss
        if total == 0:
            seen[i] = present_and_marked[i] >> 1
        else:
            seen[i] = (w_peer / max(count, 1.0) / total) * marked + (w_boss / total) * np.float64(
                boss_code >> 1
            )


def threaded_twin(kernel):
    """The same kernel compiled with its rows shared among threads (`prange`), under its own
    name so that numba's disk cache keeps the two compilations apart."""
    source = kernel.py_func
    twin = types.FunctionType(
        source.__code__, source.__globals__, source.__name__ + "_threaded", source.__defaults__
    )
    twin.__qualname__ = source.__qualname__ + "_threaded"
    return numba.njit(cache=True, nogil=True, parallel=True)(twin)


neighbour_mean_of_one_threaded = threaded_twin(neighbour_mean_of_one)
neighbour_means_of_three_threaded = threaded_twin(neighbour_means_of_three)
neighbour_share_of_one_threaded = threaded_twin(neighbour_share_of_one)
