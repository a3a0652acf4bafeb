"""Ctrl-C during a week takes effect when the week ends.

numba compiles a kernel the first time a run needs it (its disk cache keeps it for later
runs), in the middle of a week. A KeyboardInterrupt raised while it compiles is swallowed by
one of llvmlite's callbacks and leaves numba's state half made: the run then fails with a
traceback ("no compiled object yet") or the process aborts on a double free, instead of
stopping cleanly (seen on a fresh install, where every kernel compiles in the first weeks).
So while a model is built and while culturesim's run loop steps it, Ctrl-C asks the run to
stop, and it stops before the next week begins (`check`, called at the start of every week)
or, if no week follows, when the guarded work ends. A second Ctrl-C stops at once.

Only the main thread can handle signals; elsewhere (the page's server, a Dask worker) and
under a handler the user installed, nothing is changed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_requested = False


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C came during the last week."""
    global _requested
    if _requested:
        _requested = False
        raise KeyboardInterrupt


def _request(signum: int, frame: FrameType | None) -> None:
    global _requested
    if _requested:
        _requested = False
        raise KeyboardInterrupt  # asked twice: stop now
    _requested = True


@contextlib.contextmanager
def between_weeks() -> Iterator[None]:
    """Within this block, Ctrl-C stops the work at the next week's start (or the block's end)."""
    global _requested
    ours = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if not ours:
        yield
        return
    _requested = False
    signal.signal(signal.SIGINT, _request)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    check()
