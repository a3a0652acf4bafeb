"""Replicates side by side: several runs of one scenario, each with its own seed, in one model.

A sweep's replicates of a design point differ only in their seed. Nothing in a week couples
trusts but bookkeeping (ODD 7), so the replicates' trusts can sit side by side as the trusts of
one model: each phase's numpy passes then cover every replicate at once, and the fixed cost of
a week (about 550 numpy calls) is paid once for all of them. What belongs to a run stays its
own (`Replicate`): its random streams, its organisation as built, its person and episode
numbers, and what it records (its weekly measures are worked out for all replicates at once,
each to the bits it would have alone: culturesim.engine.recorder.Recording). Each replicate
draws from its own streams exactly the numbers it
would draw alone (`uniform`, `poisson_per_trust`: one draw per replicate, in the same order),
so its outputs are bit for bit those of a run of its own (`tests/test_replicates.py`). A
model of one replicate is the ordinary model; `CultureModel(scenario, seeds=[...])` and
`culturesim.run.simulate.simulate_replicates` make one of several.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from culturesim.engine.cascades import EpisodeLog
from culturesim.engine.organisation import Organisation
from culturesim.engine.recorder import Recorder
from culturesim.engine.state import ATTRIBUTES, ID_LIMIT, POST_VALUED, People
from culturesim.engine.threads import uniform_on_threads

STREAMS = (
    "organisation",
    "traits",
    "aggression",
    "behaviour",
    "targets",
    "turnover",
    "hiring",
    "regulator",
    "interventions",
    "harm",
    "trusts",
    "speaking_up",
)
"""A run's random streams, one per mechanism, spawned in this order from its seed (new streams
go at the end, so the others keep their draws)."""


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """The run's random streams (`STREAMS`) from its seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }


@dataclass
class Replicate:
    """One run's own part of a model: its seed and streams, where its posts and trusts sit in
    the model, its organisation as built (posts numbered from 0), and what it records."""

    seed: int
    streams: dict[str, np.random.Generator]
    org: Organisation
    posts: slice
    trusts: slice
    recorder: Recorder
    episodes_log: EpisodeLog
    next_person_id: int
    """The next unused person id: people are numbered per run, in the order they are hired."""

    @property
    def first_post(self) -> int:
        return self.posts.start

    def new_person_ids(self, count: int) -> np.ndarray:
        """Ids for `count` people hired now."""
        if self.next_person_id + count > ID_LIMIT:
            raise OverflowError(f"more than {ID_LIMIT:,} people in one run: person ids are int32")
        ids = self.next_person_id + np.arange(count)
        self.next_person_id += count
        return ids


def parts(replicates: Sequence[Replicate], posts: np.ndarray) -> list[slice]:
    """Where each replicate's posts lie in `posts`, a sorted array of the model's posts: a
    slice of it per replicate (which also cuts arrays aligned with `posts`)."""
    if len(replicates) == 1:
        return [slice(0, len(posts))]
    bounds = np.searchsorted(posts, [r.posts.start for r in replicates[1:]]).tolist()
    edges = [0, *bounds, len(posts)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def joined(pieces: list) -> Any:
    """Per-replicate pieces as one: arrays end to end, dicts of arrays name by name."""
    if len(pieces) == 1:
        return pieces[0]
    if isinstance(pieces[0], dict):
        return {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}
    return np.concatenate(pieces)


def uniform(
    replicates: Sequence[Replicate], stream: str, posts: np.ndarray | int, times: int = 1
) -> np.ndarray:
    """One uniform number in [0, 1) per post of `posts` (sorted; an int: every post), each
    replicate's from its own `stream`, as many as it would draw alone; with `times`, that many
    such draws one after another, a row each (each replicate takes them in one call: a
    stream's numbers come in order, so they are the same)."""
    if len(replicates) == 1:
        count = posts if isinstance(posts, int | np.integer) else len(posts)
        drawn = uniform_on_threads(replicates[0].streams[stream], int(count) * times)
        return drawn if times == 1 else drawn.reshape(times, -1)
    if isinstance(posts, int | np.integer):
        pieces = [r.posts for r in replicates]
        drawn = np.empty((times, posts))
    else:
        pieces = parts(replicates, posts)
        drawn = np.empty((times, len(posts)))
    for replicate, piece in zip(replicates, pieces, strict=True):
        if times == 1:
            replicate.streams[stream].random(out=drawn[0, piece])
        else:
            count = piece.stop - piece.start
            drawn[:, piece] = replicate.streams[stream].random(count * times).reshape(times, -1)
    return drawn[0] if times == 1 else drawn


def uniform_per_trust(replicates: Sequence[Replicate], stream: str) -> np.ndarray:
    """One uniform number per trust, each replicate's from its own `stream`."""
    return np.concatenate(
        [r.streams[stream].random(r.trusts.stop - r.trusts.start) for r in replicates]
    )


def poisson_per_trust(
    replicates: Sequence[Replicate], stream: str, expected: np.ndarray
) -> np.ndarray:
    """A Poisson count per trust with these means, each replicate's from its own `stream`."""
    if len(replicates) == 1:
        return _poisson(replicates[0].streams[stream], expected)
    return np.concatenate([_poisson(r.streams[stream], expected[r.trusts]) for r in replicates])


def _poisson(stream: np.random.Generator, means: np.ndarray) -> np.ndarray:
    """`stream.poisson(means)`, drawn mean by mean for a few: the same numbers (each mean's
    draw in turn), but a draw from an array of means costs about 4.5 µs and one from a number
    0.3 µs."""
    if len(means) > 8:
        return stream.poisson(means)
    return np.array([stream.poisson(mean) for mean in means.tolist()], dtype=np.int64)


def stack_organisations(orgs: Sequence[Organisation]) -> Organisation:
    """The replicates' organisations as one, each's posts and trusts after the last's.

    Posts keep their order, so a trust's posts stay contiguous and the colleague ties become
    one block-diagonal matrix: what a week computes per post, per team or per trust is
    unchanged."""
    if len(orgs) == 1:
        return orgs[0]
    post_offsets = np.cumsum([0, *(o.n_posts for o in orgs[:-1])])
    trust_offsets = np.cumsum([0, *(o.n_trusts for o in orgs[:-1])])
    tie_offsets = np.cumsum([0, *(o.peers.nnz for o in orgs[:-1])])

    def shifted(name: str, offsets: np.ndarray) -> np.ndarray:
        """A post-valued array with each replicate's posts moved by its offset (-1 stays)."""
        return np.concatenate(
            [
                np.where(getattr(o, name) >= 0, getattr(o, name) + k, -1)
                for o, k in zip(orgs, offsets, strict=True)
            ]
        ).astype(getattr(orgs[0], name).dtype)

    def end_to_end(name: str) -> np.ndarray:
        return np.concatenate([getattr(o, name) for o in orgs])

    n_posts = int(sum(o.n_posts for o in orgs))
    indices = np.concatenate(
        [o.peers.indices + np.int32(k) for o, k in zip(orgs, post_offsets, strict=True)]
    ).astype(np.int32)
    indptr = np.concatenate(
        [[0], *(o.peers.indptr[1:] + k for o, k in zip(orgs, tie_offsets, strict=True))]
    ).astype(orgs[0].peers.indptr.dtype)
    peers = sp.csr_matrix(
        (np.concatenate([o.peers.data for o in orgs]), indices, indptr), shape=(n_posts, n_posts)
    )
    return Organisation(
        trust=np.concatenate(
            [o.trust + k for o, k in zip(orgs, trust_offsets, strict=True)]
        ).astype(orgs[0].trust.dtype),
        level=end_to_end("level"),
        manager=shifted("manager", post_offsets),
        first_report=shifted("first_report", post_offsets),
        n_reports=end_to_end("n_reports"),
        peers=peers,
        trust_start=np.concatenate(
            [[0], *(o.trust_start[1:] + k for o, k in zip(orgs, post_offsets, strict=True))]
        ).astype(np.int64),
        trust_funding=end_to_end("trust_funding"),
        trust_case_mix=end_to_end("trust_case_mix"),
        trust_leadership=end_to_end("trust_leadership"),
        trust_hiring=end_to_end("trust_hiring"),
        trust_leaving=end_to_end("trust_leaving"),
        trust_care=end_to_end("trust_care"),
    )


def stack_people(peoples: Sequence[People], orgs: Sequence[Organisation]) -> People:
    """The replicates' people as one `People`, in the order of `stack_organisations`."""
    if len(peoples) == 1:
        return peoples[0]
    post_offsets = np.cumsum([0, *(o.n_posts for o in orgs[:-1])])
    stacked = {}
    for attribute in ATTRIBUTES:
        values = [getattr(p, attribute.name) for p in peoples]
        if attribute.name in POST_VALUED:
            values = [np.where(v >= 0, v + k, v) for v, k in zip(values, post_offsets, strict=True)]
        stacked[attribute.name] = np.concatenate(values).astype(attribute.dtype)
    return People(**stacked)
