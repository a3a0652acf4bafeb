"""Intervals over replicates, and how they are printed: one definition for every table."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

UNBOUNDED = (-math.inf, math.inf)


def mean_interval(
    values: np.ndarray, level: float = 0.95, within: tuple[float, float] = UNBOUNDED
) -> tuple[float, float, float]:
    """The mean and its Student-t `level` interval over the non-NaN values; NaN if n < 2.

    `within` is where the mean can possibly lie (0-1 for a share: `possible_values`); the
    interval is cut to it, which keeps its coverage, since the true mean lies there too. With
    few replicates a t interval of a share near 0 would otherwise reach below 0.
    Identical replicates give a point (scipy's t distribution needs a positive scale).
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if not within[0] <= mean <= within[1]:
        raise ValueError(f"a mean of {mean:g} outside the measure's possible values {within}")
    if len(values) < 2:
        return (mean, np.nan, np.nan)
    spread = stats.sem(values)
    if spread == 0:
        return (mean, mean, mean)
    low, high = stats.t.interval(level, len(values) - 1, loc=mean, scale=spread)
    return (mean, float(max(low, within[0])), float(min(high, within[1])))


def possible_values(name: str) -> tuple[float, float]:
    """Where a measure's values lie: 0-1 for shares and 0-1 scales; every other measure
    counts or rates something, so is at least 0 (a leaver rate, leavers a year over staff,
    can exceed 1)."""
    from culturesim.engine.measures import measure

    try:
        unit = measure(name).unit
    except KeyError:
        return UNBOUNDED
    return (0.0, 1.0) if unit in ("share", "0-1") else (0.0, math.inf)


def difference_range(name: str) -> tuple[float, float]:
    """Where a difference of two means of the measure can lie."""
    low, high = possible_values(name)
    return (low - high, high - low)


def ratio_range(name: str) -> tuple[float, float]:
    """Where a ratio of two means of the measure can lie: from 0 when it is never below 0."""
    return (0.0, math.inf) if possible_values(name)[0] >= 0 else UNBOUNDED


def format_number(value: float, digits: int = 4) -> str:
    """A value to `digits` significant figures, 'n/a' where undefined."""
    return "n/a" if value != value else f"{value:.{digits}g}"


def format_interval(low: float, high: float, digits: int = 4) -> str:
    """An interval as [low, high], 'n/a' where undefined."""
    return "n/a" if low != low else f"[{low:.{digits}g}, {high:.{digits}g}]"
