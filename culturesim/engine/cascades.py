"""Bullying cascades: perpetrator episodes linked by 'bullied become bullies' conversions.

An episode starts when a person bullies after W weeks without bullying. If they were bullied
by staff in the W weeks before, the episode is a conversion, child of the episode of whoever
bullied them last; otherwise it is a root. A cascade is a root with all its descendants.
"""

from __future__ import annotations

from collections import deque
from itertools import islice

import numba
import numpy as np
import pandas as pd

from culturesim.engine.state import ID_LIMIT


@numba.njit(cache=True, nogil=True)
def _open_episodes(
    parent_of, root, generation, post_of, person_of, start_week, offspring,
    count, parent, post, person_id, week,
):  # fmt: skip
    """Write new episodes from row `count` on: a conversion (parent >= 0, always an earlier
    episode) joins its parent's cascade one generation down; returns how many converted."""
    conversions = 0
    for k in range(len(parent)):
        i = count + k
        parent_of[i], post_of[i], person_of[i] = parent[k], post[k], person_id[k]
        start_week[i], offspring[i] = week, 0
        above = parent[k]
        if above >= 0:
            root[i], generation[i] = root[above], generation[above] + 1
            offspring[above] += 1
            conversions += 1
        else:
            root[i], generation[i] = i, 0
    return conversions


class EpisodeLog:
    """Grows the table of episodes as the run goes, in int32 arrays that grow by half when
    full (`frame` gives the int64 table)."""

    columns = ("parent", "root", "generation", "post", "person_id", "start_week", "offspring")

    def __init__(self, window_weeks: int, capacity: int = 1024) -> None:
        self.window_weeks = window_weeks
        self.count = 0
        self._arrays = {name: np.zeros(capacity, dtype=np.int32) for name in self.columns}
        self._new_by_week: deque[int] = deque(maxlen=2 * window_weeks)
        self._conversions_by_week: deque[int] = deque(maxlen=window_weeks)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name][: self.count]

    def start(
        self, parent: np.ndarray, post: np.ndarray, person_id: np.ndarray, week: int
    ) -> np.ndarray:
        """Open new episodes (parent -1 for a root); returns their ids."""
        n = len(parent)
        if self.count + n > ID_LIMIT:
            raise OverflowError(f"more than {ID_LIMIT:,} episodes in one run: ids are int32")
        if self.count + n > len(self._arrays["parent"]):
            capacity = max(self.count + n, len(self._arrays["parent"]) * 3 // 2)
            for name, values in self._arrays.items():
                grown = np.zeros(capacity, dtype=np.int32)
                grown[: self.count] = values[: self.count]
                self._arrays[name] = grown
        ids = np.arange(self.count, self.count + n, dtype=np.int32)
        a = self._arrays
        conversions = _open_episodes(
            a["parent"], a["root"], a["generation"], a["post"], a["person_id"], a["start_week"],
            a["offspring"], self.count, parent, post, person_id, week,
        )  # fmt: skip
        self.count += n
        self._new_by_week.append(n)
        self._conversions_by_week.append(conversions)
        return ids

    @property
    def new_this_week(self) -> int:
        return self._new_by_week[-1] if self._new_by_week else 0

    @property
    def conversions_this_week(self) -> int:
        return self._conversions_by_week[-1] if self._conversions_by_week else 0

    def reproduction_number(self) -> float:
        """Renewal estimate of R: conversions in the last W weeks / episodes begun W weeks before.

        A conversion happens within W weeks of its parent's act, so the episodes that could
        have caused this window's conversions are mostly those begun in the window before.
        """
        w = self.window_weeks
        if len(self._new_by_week) < 2 * w:
            return float("nan")
        earlier = sum(islice(self._new_by_week, w))
        return sum(self._conversions_by_week) / earlier if earlier else float("nan")

    def frame(self) -> pd.DataFrame:
        table = {"episode": np.arange(self.count)}
        table.update({name: self[name].astype(np.int64) for name in self.columns})
        return pd.DataFrame(table, copy=False)


def cascade_sizes(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per cascade: its root, size (episodes), depth (generations) and start week."""
    if episodes.empty:
        return pd.DataFrame(columns=["root", "size", "depth", "start_week"])
    grouped = episodes.groupby("root")
    return pd.DataFrame(
        {
            "size": grouped.size(),
            "depth": grouped["generation"].max(),
            "start_week": grouped["start_week"].min(),
        }
    ).reset_index()


def recorded_cascades(episodes: pd.DataFrame) -> pd.DataFrame:
    """Cascades whose root began in the recorded weeks (those rooted in the burn-in are left out,
    descendants included, rather than cut into pieces)."""
    cascades = cascade_sizes(episodes)
    return cascades[cascades.start_week >= 0]


def reproduction_by_period(
    episodes: pd.DataFrame, steps: int, window_weeks: int, period_weeks: int = 13
) -> pd.DataFrame:
    """Mean conversions per episode (R) for episodes begun in each period.

    Episodes begun in the last W weeks are left out: their conversions may not have happened.
    """
    observed = episodes[(episodes.start_week >= 0) & (episodes.start_week < steps - window_weeks)]
    period = observed.start_week // period_weeks
    grouped = observed.groupby(period)["offspring"]
    return pd.DataFrame(
        {
            "from_week": grouped.mean().index * period_weeks,
            "episodes": grouped.size().to_numpy(),
            "reproduction_number": grouped.mean().to_numpy(),
        }
    )


def cascade_statistics(episodes: pd.DataFrame, steps: int, window_weeks: int) -> dict:
    """Headline cascade figures of a run, over cascades rooted during the recorded weeks.

    A cascade is the episodes sharing a root, which is its earliest episode, so a cascade
    rooted in the recorded weeks is a root episode begun at week 0 or later (`cascade_sizes`,
    counted here with numpy: whole numbers, so the means are those of pandas)."""
    root = episodes["root"].to_numpy()
    start = episodes["start_week"].to_numpy()
    episode = episodes["episode"].to_numpy()
    roots = episode[(root == episode) & (start >= 0)]
    top = int(max(episode.max(), root.max())) + 1 if len(episode) else 0
    sizes = np.bincount(root, minlength=top)[roots]
    depth = np.zeros(top, dtype=np.int64)
    np.maximum.at(depth, root, episodes["generation"].to_numpy())
    recorded = start >= 0
    observed = recorded & (start < steps - window_weeks)
    offspring = episodes["offspring"].to_numpy()[observed]
    return {
        "cascades": len(roots),
        "cascade_mean_size": float(sizes.sum() / len(sizes)) if len(roots) else 0.0,
        "cascade_max_size": int(sizes.max()) if len(roots) else 0,
        "cascade_max_depth": int(depth[roots].max()) if len(roots) else 0,
        "conversions": int(np.count_nonzero(recorded & (episodes["parent"].to_numpy() >= 0))),
        "perpetrator_episodes": int(np.count_nonzero(recorded)),
        "reproduction_number": float(offspring.sum() / len(offspring))
        if len(offspring)
        else float("nan"),
    }


def largest_cascade(episodes: pd.DataFrame, window_weeks: int) -> pd.DataFrame:
    """The episodes of the biggest cascade, preferring those still growing in the last W weeks."""
    if episodes.empty:
        return episodes
    sizes = cascade_sizes(episodes)
    latest = episodes.groupby("root")["start_week"].max()
    recent = latest[latest >= episodes.start_week.max() - window_weeks].index
    candidates = sizes[sizes.root.isin(recent)] if len(recent) else sizes
    root = candidates.sort_values(["size", "root"], ascending=[False, True]).root.iloc[0]
    return episodes[episodes.root == root]


def size_ccdf(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each distinct size s: s, the number of cascades of size s, the share of size >= s."""
    values, counts = np.unique(np.asarray(sizes), return_counts=True)
    at_least = counts[::-1].cumsum()[::-1] / counts.sum()
    return values, counts, at_least
