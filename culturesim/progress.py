"""Progress bars on stderr (tqdm), one look for a run's weeks and a sweep's runs."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int, label: str, unit: str, *, done: int = 0, enabled: bool = True) -> tqdm:
    """A bar of `total` units with elapsed and remaining time; `done` were finished before.

    On a terminal it redraws in place; in a log file (a cluster job) it writes a line at most
    every 30 seconds.
    """
    terminal = sys.stderr.isatty()
    return tqdm(
        total=total,
        initial=done,
        desc=label,
        unit=unit,
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.2 if terminal else 30.0,
        dynamic_ncols=terminal,
        smoothing=0.1,
    )
