"""Eq. 1 (what a person sees around them), numpy formulation vs the compiled kernel, one process.

    python benchmarks/bench_ties.py [--sizes 10000 100000 1390653] [--rounds 5]

A week computes Eq. 1 twice: norms and dispositions seen (three quantities) and support (one).
This times that pair with the numpy formulation the engine used before issue 11 (kept here
as the baseline: sparse products with scipy and whole-array arithmetic around them) and with
`culturesim.engine.rules` (numba kernels in culturesim.engine.ties), interleaved round by round
in one process, in CPU time, and checks that both give the same bits. The largest size is
the nhs-england organisation (a seventh of posts vacant). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from culturesim.engine import rules
from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import load_scenario

NHS_POSTS = 1_390_653


def numpy_formulation(peers, manager, occupied, leader_weight, *quantities):
    """Eq. 1 as the engine computed it before the kernels (the baseline)."""
    present = occupied.astype(float)
    peer_count = peers @ present
    has_manager = manager >= 0
    boss = np.where(has_manager, manager, 0)
    w_peer = (1 - leader_weight) * (peer_count > 0)
    w_boss = leader_weight * (has_manager & occupied[boss])
    total = w_peer + w_boss
    alone = np.flatnonzero(total == 0)
    total[alone] = 1.0
    peer_scale, boss_scale = w_peer / np.maximum(peer_count, 1) / total, w_boss / total
    peer_sums = peers @ np.column_stack([q * present for q in quantities])
    seen = []
    for column, quantity in enumerate(quantities):
        view = peer_scale * peer_sums[:, column] + boss_scale * quantity[boss]
        view[alone] = quantity[alone]
        seen.append(view)
    return seen


def organisation(posts: int):
    if posts == NHS_POSTS:
        scenario = load_scenario("nhs-england")
    else:
        trusts = math.ceil(posts / 50_000)
        scenario = load_scenario("baseline").with_overrides(
            {"organisation.trusts": trusts, "organisation.staff_per_trust": posts // trusts}
        )
    model = CultureModel(scenario, seed=1, burn_in=False)
    model.people.occupied[::7] = False
    return model.org, model.people


def both_ways(org, p):
    """The week's two uses of Eq. 1, computed the numpy way and the kernel way."""
    three = (p.bullying_norm, p.compassion_norm, p.compassion)
    peers = org.peers.astype(np.float64)  # the baseline's float ties

    def before():
        return numpy_formulation(peers, org.manager, p.occupied, 0.3, *three) + (
            numpy_formulation(peers, org.manager, p.occupied, 0.3, p.strain)
        )

    def after():
        hood = rules.neighbourhood(org.peers, org.manager, p.occupied, 0.3)
        return rules.neighbour_mean(hood, *three) + rules.neighbour_mean(hood, p.strain)

    return before, after


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, NHS_POSTS])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print("| posts | numpy CPU ms | kernel CPU ms | numpy / kernel (median of rounds) |")
    print("|---:|---:|---:|---:|")
    for posts in args.sizes:
        org, p = organisation(posts)
        before, after = both_ways(org, p)
        for old, new in zip(before(), after(), strict=True):
            assert np.array_equal(old, new), "the kernel's results differ from numpy's"
        repeats = max(1, 2_000_000 // posts)
        times = {before: [], after: []}
        for _ in range(args.rounds):
            for way in (before, after):
                started = time.process_time()
                for _ in range(repeats):
                    way()
                times[way].append((time.process_time() - started) / repeats * 1e3)
        ratio = statistics.median(b / a for b, a in zip(times[before], times[after], strict=True))
        print(
            f"| {org.n_posts:,} | {statistics.median(times[before]):.2f} "
            f"| {statistics.median(times[after]):.2f} | {ratio:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
