"""The organisation as arrays: trusts, a hierarchy of posts, teams and colleague ties.

A post is a position in a trust (chief executive, director, manager, team leader, frontline).
Posts never move; people come and go through them. Each post's reports are a contiguous block
of later posts, so a leader's team is `first_report[m] : first_report[m] + n_reports[m]`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from culturesim.engine.scenario import ROLES, TrustEffects
from culturesim.engine.scenario import Organisation as OrganisationSettings

LEVEL_NAMES = ROLES
FRONTLINE = len(ROLES) - 1
PATIENT_FACING_FROM = FRONTLINE - 1
LEADER_LEVELS = FRONTLINE
"""Levels below this one (chief executive to team leader) are the leaders a trust's
leadership effect shifts."""


@dataclass(frozen=True)
class Organisation:
    trust: np.ndarray  # int64 (numpy's index type) per post
    level: np.ndarray  # int8 per post, 0 chief executive .. 4 frontline
    manager: np.ndarray  # int64 per post, -1 for a chief executive
    first_report: np.ndarray  # int64 per post
    n_reports: np.ndarray  # int32 per post
    peers: sp.csr_matrix  # symmetric colleague ties (bool), int32 indices
    trust_start: np.ndarray  # int64, n_trusts + 1 boundaries of each trust's posts
    trust_funding: np.ndarray  # float per trust, relative to the national level
    # trust-level random effects (`draw_trust_effects`); neutral until drawn
    trust_case_mix: np.ndarray | None = None  # multiplies demand and expected harm, mean 1
    trust_leadership: np.ndarray | None = None  # shift of leaders' mean compassion
    trust_hiring: np.ndarray | None = None  # multiplies the staff hiring rate, mean 1
    trust_leaving: np.ndarray | None = None  # shift of the leaving logit
    trust_care: np.ndarray | None = None  # multiplies care quality, mean 1

    level_names = LEVEL_NAMES

    def __post_init__(self) -> None:
        n = len(self.trust_start) - 1
        for name, neutral in (
            ("trust_case_mix", 1.0),
            ("trust_leadership", 0.0),
            ("trust_hiring", 1.0),
            ("trust_leaving", 0.0),
            ("trust_care", 1.0),
        ):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(n, neutral))

    @property
    def n_posts(self) -> int:
        return len(self.level)

    @property
    def n_trusts(self) -> int:
        return len(self.trust_start) - 1

    def count_per_trust(self, mask: np.ndarray) -> np.ndarray:
        """How many posts of each trust `mask` marks: exact integer sums over each trust's
        block of posts (a trust's posts are contiguous), several times cheaper than a bincount
        weighted by the mask."""
        return np.add.reduceat(mask, self.trust_start[:-1], dtype=np.int64)

    def sum_per_trust(self, value: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Each trust's sum of `value` over the posts `present` marks (a float each)."""
        from culturesim.engine.sums import sum_per_trust  # numba: compiled on first use

        return sum_per_trust(value, present, self.trust_start)

    def sum_per_team(self, value: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Each team's sum of `value` over the posts `present` marks, indexed by the team
        leader's post (0 for posts that lead none)."""
        from culturesim.engine.sums import sum_per_group

        return sum_per_group(self.team, value, present, self.n_posts, self.trust_start)

    def count_per_team(self, mask: np.ndarray) -> np.ndarray:
        """How many posts of each team `mask` marks (a float each), indexed as `sum_per_team`."""
        from culturesim.engine.sums import sum_per_group

        return sum_per_group(self.team, mask, mask, self.n_posts, self.trust_start)

    def per_post(self, trust_value: np.ndarray) -> np.ndarray:
        """A value per trust spread to each of its posts (`trust_value[trust]`, without the
        gather: a trust's posts are contiguous)."""
        return np.repeat(trust_value, self.posts_per_trust)

    @cached_property
    def posts_per_trust(self) -> np.ndarray:
        return np.diff(self.trust_start)

    @cached_property
    def is_frontline(self) -> np.ndarray:
        return self.level == FRONTLINE

    @cached_property
    def frontline_per_trust(self) -> np.ndarray:
        """Frontline posts in each trust."""
        return np.bincount(self.trust[self.frontline], minlength=self.n_trusts)

    @cached_property
    def team(self) -> np.ndarray:
        """A post's team is its manager's post; a chief executive leads (and is in) the board."""
        return np.where(self.manager >= 0, self.manager, np.arange(self.n_posts))

    @cached_property
    def team_size(self) -> np.ndarray:
        """Posts in the team each post leads (indexed by the leader's post)."""
        return np.bincount(self.team, minlength=self.n_posts)

    @cached_property
    def leaders(self) -> np.ndarray:
        """Indices of posts that lead a team."""
        return np.flatnonzero(self.n_reports > 0)

    @cached_property
    def frontline(self) -> np.ndarray:
        """Indices of frontline posts."""
        return np.flatnonzero(self.level == FRONTLINE)

    @cached_property
    def is_leader(self) -> np.ndarray:
        return self.n_reports > 0

    def compassion_shift(self, posts: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Per post (of `posts`, all by default): its trust's leadership effect on leaders'
        posts, 0 on frontline posts. Worked out when needed (at hiring), not kept."""
        leads = self.level[posts] < LEADER_LEVELS
        return np.where(leads, self.trust_leadership[self.trust[posts]], 0.0)

    @cached_property
    def leaving_shift(self) -> np.ndarray:
        """Per post: its trust's shift of the leaving logit."""
        return self.trust_leaving[self.trust]


def draw_trust_effects(
    org: Organisation, settings: TrustEffects, rng: np.random.Generator
) -> Organisation:
    """Each trust's case mix, leadership, hiring, leaving and care effects (docs/ODD.md 5).

    One standard normal per trust and effect, drawn as a block, so changing one spread leaves
    the others' draws alone. Multipliers are log-normal with mean 1.
    """
    z = rng.standard_normal((5, org.n_trusts))

    def log_normal(sigma: float, draws: np.ndarray) -> np.ndarray:
        return np.exp(sigma * draws - sigma**2 / 2)

    return dataclasses.replace(
        org,
        trust_case_mix=log_normal(settings.case_mix_spread, z[0]),
        trust_leadership=settings.leadership_spread * z[1],
        trust_hiring=log_normal(settings.hiring_spread, z[2]),
        trust_leaving=settings.leaving_spread * z[3],
        trust_care=log_normal(settings.care_spread, z[4]),
    )


def leaders_over(count: int, spans: list[int]) -> list[int]:
    """The fewest leaders over `count` posts, level by level up to the chief executive, that the
    spans allow (`spans` of the levels above; directors capped at the board's size)."""
    counts = [count]
    for span in reversed(spans[1:]):
        counts.append(max(1, math.ceil(counts[-1] / span)))
    counts[-1] = min(counts[-1], spans[0])
    return [*counts[1:], 1]


def level_counts(posts: int, spans: list[int]) -> list[int]:
    """Posts per level (chief executive first) for a trust of exactly `posts` posts.

    Built up from the frontline: the largest frontline whose leaders, the fewest the spans
    allow, fit in `posts`. One more frontline post can need a leader at several levels at once,
    so up to three posts may be left over: they become team leaders (with the managers and
    directors those need), taking a post or two from the frontline where that is what makes
    the total exact. No leader ever has more reports than their span.
    """
    low, high = 1, posts
    while low < high:  # the total grows with the frontline: bisect for the largest that fits
        middle = (low + high + 1) // 2
        if middle + sum(leaders_over(middle, spans)) <= posts:
            low = middle
        else:
            high = middle - 1
    for frontline in range(low, max(low - len(spans) * 2, 0), -1):
        for team_leaders in range(math.ceil(frontline / spans[-1]), frontline + 1):
            counts = [*reversed(leaders_over(team_leaders, spans[:-1])), team_leaders, frontline]
            if sum(counts) >= posts:
                break
        if sum(counts) == posts:
            return counts
    leaders = leaders_over(low, spans)  # spans too narrow to fill exactly: a larger frontline
    return [*reversed(leaders), posts - sum(leaders)]


def trust_sizes(settings: OrganisationSettings, rng: np.random.Generator) -> np.ndarray:
    """Posts per trust: all equal, or log-normal around the mean when a spread is given."""
    mean = settings.staff_per_trust
    if settings.trust_size_spread == 0 or settings.trusts == 1:
        return np.full(settings.trusts, mean, dtype=np.int64)
    sigma = settings.trust_size_spread
    sizes = rng.lognormal(math.log(mean) - sigma**2 / 2, sigma, settings.trusts)
    return np.clip(np.round(sizes), 50, 50000).astype(np.int64)


def build_organisation(settings: OrganisationSettings, rng: np.random.Generator) -> Organisation:
    """Lay out every trust's hierarchy and tie colleagues inside and across teams."""
    sizes = trust_sizes(settings, rng)
    trust, level, manager, level_start_blocks = [], [], [], []
    offset = 0
    for index, size in enumerate(sizes):
        counts = level_counts(int(size), settings.spans_of_control)
        starts = offset + np.concatenate([[0], np.cumsum(counts)[:-1]])
        for depth, count in enumerate(counts):
            trust.append(np.full(count, index, dtype=np.intp))
            level.append(np.full(count, depth, dtype=np.int8))
            if depth == 0:
                manager.append(np.full(count, -1, dtype=np.int64))
            else:
                above = counts[depth - 1]
                manager.append(starts[depth - 1] + np.arange(count) * above // count)
            level_start_blocks.append((index, depth, starts[depth], count))
        offset += sum(counts)
    trust_arr = np.concatenate(trust)
    level_arr = np.concatenate(level)
    manager_arr = np.concatenate(manager).astype(np.int64)
    n_posts = offset

    n_reports = np.bincount(manager_arr[manager_arr >= 0], minlength=n_posts).astype(np.int32)
    first_report = np.full(n_posts, -1, dtype=np.int64)
    has_manager = np.flatnonzero(manager_arr >= 0)
    first_report[manager_arr[has_manager[::-1]]] = has_manager[::-1]

    peers = _colleague_ties(settings, rng, manager_arr, first_report, n_reports, level_start_blocks)
    trust_start = np.concatenate([[0], np.cumsum(np.bincount(trust_arr, minlength=len(sizes)))])
    trust_funding = np.clip(
        1 + settings.trust_funding_spread * rng.standard_normal(len(sizes)), 0.3, 2.0
    )
    return Organisation(
        trust_arr,
        level_arr,
        manager_arr,
        first_report,
        n_reports,
        peers,
        trust_start.astype(np.int64),
        trust_funding,
    )


def _colleague_ties(
    settings: OrganisationSettings,
    rng: np.random.Generator,
    manager: np.ndarray,
    first_report: np.ndarray,
    n_reports: np.ndarray,
    level_blocks: list[tuple[int, int, int, int]],
) -> sp.csr_matrix:
    """Each person ties to `peer_ties` random teammates and to a few same-level posts elsewhere."""
    n_posts = len(manager)
    with_team = np.flatnonzero(manager >= 0)
    boss = manager[with_team]
    team_size = n_reports[boss]
    has_mates = team_size > 1
    source = np.repeat(with_team[has_mates], settings.peer_ties)
    boss_r = np.repeat(boss[has_mates], settings.peer_ties)
    size_r = np.repeat(team_size[has_mates], settings.peer_ties)
    own_slot = source - first_report[boss_r]
    slot = np.floor(rng.random(len(source)) * (size_r - 1)).astype(np.int64)
    slot += slot >= own_slot
    target = first_report[boss_r] + slot

    cross_counts = rng.poisson(settings.cross_team_ties / 2, n_posts)
    cross_source = np.repeat(np.arange(n_posts), cross_counts)
    block_start = np.empty(n_posts, dtype=np.int64)
    block_size = np.empty(n_posts, dtype=np.int64)
    for _, _, start, count in level_blocks:
        block_start[start : start + count] = start
        block_size[start : start + count] = count
    cross_target = block_start[cross_source] + np.floor(
        rng.random(len(cross_source)) * block_size[cross_source]
    ).astype(np.int64)

    rows = np.concatenate([source, target, cross_source, cross_target]).astype(np.int32)
    cols = np.concatenate([target, source, cross_target, cross_source]).astype(np.int32)
    del source, target, cross_source, cross_target
    return _ties_matrix(rows, cols, n_posts)


def _ties_matrix(rows: np.ndarray, cols: np.ndarray, n_posts: int) -> sp.csr_matrix:
    """The canonical CSR matrix of these ties (sorted, each pair once, no self-ties), built
    in int32 with a one-byte data array: a tie is there or not."""
    keep = rows != cols
    ties = sp.csr_matrix(
        (np.ones(np.count_nonzero(keep), dtype=np.bool_), (rows[keep], cols[keep])),
        shape=(n_posts, n_posts),
    )
    ties.sum_duplicates()
    return ties
