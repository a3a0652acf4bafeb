"""Intervals over replicates, and how they are printed: one definition for every table."""

from __future__ import annotations

import numpy as np
from scipy import stats


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """The mean and its Student-t `level` interval over the non-NaN values; NaN if n < 2.

    Identical replicates give a point (scipy's t distribution needs a positive scale).
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if len(values) < 2:
        return (mean, np.nan, np.nan)
    spread = stats.sem(values)
    if spread == 0:
        return (mean, mean, mean)
    low, high = stats.t.interval(level, len(values) - 1, loc=mean, scale=spread)
    return (mean, float(low), float(high))


def format_number(value: float, digits: int = 4) -> str:
    """A value to `digits` significant figures, 'n/a' where undefined."""
    return "n/a" if value != value else f"{value:.{digits}g}"


def format_interval(low: float, high: float, digits: int = 4) -> str:
    """An interval as [low, high], 'n/a' where undefined."""
    return "n/a" if low != low else f"[{low:.{digits}g}, {high:.{digits}g}]"
