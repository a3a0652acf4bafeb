"""Will a run fit in memory? A rough estimate from the organisation's size, checked before any
array is built, so a run too big for the machine is refused in a line instead of dying minutes
later in a numpy allocation or at the hands of the kernel.

The figures were measured with `/usr/bin/time -f %M culturesim run FILE -q` (peak resident
memory) on baseline variants with figures off, in July 2025 (Python 3.11, numpy 2, Mesa 3.3):

- 1 trust of 50,000 posts, 20 weeks: 342 MB; 5 trusts (250,000 posts): 442 MB, so about
  510 bytes a post at the default 4 peer and 0.5 cross-team ties, and about 320 MB for Python
  and the libraries;
- the same 250,000 posts for 104 weeks: 460 MB, about 1 byte a post a week (episodes);
- events, since persistent bullying and repeat targeting (November 2026, `nhs-england`, 1.39 M
  posts): 0.95 GB for 52 weeks without events, 1.57 GB with them, 4.65 GB for 260 weeks with
  them (20.7 M events), so about 10 bytes a post a week while events are held in memory
  (`simulate`, the page); `culturesim run` streams them to the run folder instead (0.99 GB for
  the same 260 weeks, most of it the model itself), so for it they are not counted;
- with `peer_ties = 30`: 1,521 MB, about 170 bytes a post for each tie beyond the default
  (building the tie matrix);
- a snapshot (`run.snapshot_every`) keeps one row a post of 54 bytes in pandas; it is counted
  at 120 bytes for the copies made when the agents table is joined and written.

The estimate is meant to be within a factor of two; `--ignore-memory-check` overrides it.
"""

from __future__ import annotations

import ctypes
import sys

import psutil

from culturesim.engine.scenario import Scenario, ScenarioError

FIXED_BYTES = 320e6
BYTES_PER_POST = 512
BYTES_PER_EXTRA_TIE = 170
DEFAULT_TIES = 4.5
BYTES_PER_POST_WEEK = 1
BYTES_PER_POST_WEEK_OF_EVENTS = 10
BYTES_PER_POST_SNAPSHOT = 120


class TooBigError(ScenarioError):
    """A run estimated to need more memory than the machine has available."""


def estimate_run_bytes(scenario: Scenario, streamed: bool = False) -> float:
    """Rough peak memory of one run of `scenario`, in bytes (see the module docstring).

    `streamed`: the run writes its events and snapshots to its run folder as it goes
    (`culturesim run`), so they do not count; held in memory (`simulate`, the page), they do.
    """
    organisation = scenario.organisation
    posts = organisation.trusts * organisation.staff_per_trust
    ties = organisation.peer_ties + organisation.cross_team_ties
    every = scenario.run.snapshot_every
    snapshots = scenario.run.steps // every if every and not streamed else 0
    events = scenario.run.record_events and not streamed
    per_post = (
        BYTES_PER_POST
        + BYTES_PER_EXTRA_TIE * max(0.0, ties - DEFAULT_TIES)
        + BYTES_PER_POST_WEEK * scenario.run.steps
        + BYTES_PER_POST_WEEK_OF_EVENTS * scenario.run.steps * events
        + BYTES_PER_POST_SNAPSHOT * snapshots
    )
    return FIXED_BYTES + posts * per_post


def available_bytes() -> float:
    """Memory the machine can give a new process now, without swapping."""
    return float(psutil.virtual_memory().available)


def check_memory(
    scenario: Scenario, origin: str, runs_at_once: int = 1, streamed: bool = False
) -> None:
    """Refuse a scenario whose estimated memory (times `runs_at_once`) exceeds what is available
    (`streamed` as for `estimate_run_bytes`)."""
    needed = estimate_run_bytes(scenario, streamed) * runs_at_once
    available = available_bytes()
    if needed <= available:
        return
    organisation = scenario.organisation
    posts = organisation.trusts * organisation.staff_per_trust
    at_once = f" for {runs_at_once} runs at once" if runs_at_once > 1 else ""
    raise TooBigError(
        f"{origin}: needs about {gigabytes(needed)} of memory{at_once} ({posts:,} posts); "
        f"this machine has {gigabytes(available)} available; use a smaller organisation, "
        "or --ignore-memory-check on a machine with more"
    )


def gigabytes(count: float) -> str:
    return f"{count / 1e9:.1f} GB"


def release_freed_memory() -> None:
    """Give the pages of freed memory back to the operating system (Linux, glibc).

    glibc keeps freed blocks for reuse; a long run, allocating and freeing arrays of a million
    posts every week among longer-lived ones, leaves it holding 100-200 MB more than the run
    uses. `run_to_folder` calls this once a quarter and before writing the folder. Elsewhere
    (macOS, Windows, musl) it does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
