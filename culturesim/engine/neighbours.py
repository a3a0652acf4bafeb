"""Eq. 1, what a person sees around them: their neighbourhood and the means over it.

One of the model's rules (culturesim.engine.rules re-exports it, so every rule is reachable
from there); it has its own module because it drives the compiled tie pass
(culturesim.engine.ties) and the choice of its serial or threaded kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from culturesim.engine.threads import numba_threads, threads_for


@dataclass(frozen=True)
class Neighbourhood:
    """Whom each person sees this week (Eq. 1): colleagues and manager, those in post counted."""

    peers: sp.csr_matrix
    manager: np.ndarray
    occupied: np.ndarray
    leader_weight: float


def neighbourhood(
    peers: sp.csr_matrix, manager: np.ndarray, occupied: np.ndarray, leader_weight: float
) -> Neighbourhood:
    return Neighbourhood(peers, manager, occupied, float(leader_weight))


def neighbour_mean(hood: Neighbourhood, *quantities: np.ndarray) -> list[np.ndarray]:
    """Eq. 1: what a person sees around them, (1 - w) x colleagues' mean + w x their manager's.

    Vacant posts are not counted: the weights are w and (1 - w) / (colleagues in post), over
    the total weight of the sides with someone in post. With nobody in post around, a person
    sees only themselves. Several quantities share one pass over the colleague ties
    (culturesim.engine.ties).
    """
    from culturesim.engine import ties  # numba: imported and compiled on first use

    threads = threads_for(len(hood.manager))
    of_three, of_one = (
        (ties.neighbour_means_of_three, ties.neighbour_mean_of_one)
        if threads == 1
        else (ties.neighbour_means_of_three_threaded, ties.neighbour_mean_of_one_threaded)
    )
    ties_of = (hood.peers.indptr, ties.tie_indices(hood.peers.indices), hood.manager, hood.occupied)
    quantities = [np.ascontiguousarray(q, dtype=np.float64) for q in quantities]
    seen = [np.empty(len(hood.manager)) for _ in quantities]
    with numba_threads(threads):
        for start in range(0, len(quantities), 3):
            group, out = quantities[start : start + 3], seen[start : start + 3]
            if len(group) == 3:
                of_three(*ties_of, hood.leader_weight, *group, *out)
            else:
                for quantity, view in zip(group, out, strict=True):
                    of_one(*ties_of, hood.leader_weight, quantity, view)
    return seen


BYTE_PASS_FROM = 400_000
"""Posts from which `neighbour_share` reads a byte a colleague rather than a float and a flag:
1.2x faster at 600,000 posts and 1.5x at nhs-england size, but 1.1-1.2x slower at 10,000 to
250,000 posts, where the floats are still in cache (issue 11, session 10)."""


def neighbour_share(hood: Neighbourhood, marked: np.ndarray) -> np.ndarray:
    """Eq. 1 for a yes/no quantity (`marked`, one bool a post): the share of those around a
    person that it marks, weighted as `neighbour_mean` weighs them, bit for bit its result for
    `marked` as floats; on a large model, in a pass that reads a byte a colleague."""
    if len(hood.manager) < BYTE_PASS_FROM:
        (seen,) = neighbour_mean(hood, marked.astype(np.float64))
        return seen
    from culturesim.engine import ties  # numba: imported and compiled on first use

    threads = threads_for(len(hood.manager))
    share_of_one = (
        ties.neighbour_share_of_one if threads == 1 else ties.neighbour_share_of_one_threaded
    )
    present_and_marked = hood.occupied.view(np.uint8) | (marked.view(np.uint8) << 1)
    seen = np.empty(len(hood.manager))
    with numba_threads(threads):
        share_of_one(
            hood.peers.indptr,
            ties.tie_indices(hood.peers.indices),
            hood.manager,
            present_and_marked,
            hood.leader_weight,
            seen,
        )
    return seen
