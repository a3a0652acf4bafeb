"""Threads for a large model's week: per-person rules and the tie pass split across cores.

A rule marked `@per_person` computes each person's value from that person's own inputs and, at
most, from what other posts hold (`whole=`, such as a manager's compassion) without changing
them (Eq. 2, 2a, 3, 4-7, the target of Eq. 8, 9, 11, 12), so the population can be cut into
contiguous blocks, shared among threads, and the blocks' results joined: each person's value
comes from the same operations on the same numbers, so the outputs are the same bit for bit
whatever the number of threads (`tests/test_threads.py`). numpy releases the interpreter lock
inside its array loops, so the blocks run at the same time. Below `PARALLEL_FROM` posts a week
is too short for threads to pay, and every rule runs whole.

The number of threads is `CULTURESIM_THREADS` if set, else the cores this process may use; a
worker of one of culturesim's process pools gets its share of the cores (`share_cores`), and a
run on a Dask worker one thread, since the pool already keeps every core busy. Bit-identity
relies on numpy's element-wise loops giving each element the same result wherever a block
starts (no reductions across people happen in these rules).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import functools
import inspect
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from culturesim.errors import UserError

PARALLEL_FROM = 100_000
"""Posts from which a week's per-person rules and tie pass use several threads."""

BLOCK_POSTS = 1 << 17
"""Most people in one block of a per-person rule: a rule's temporaries then stay near a megabyte
each rather than growing with the population (at nhs-england size, about 80 MB less at the
week's peak on two threads than with one block a thread, issue 11)."""

Rule = TypeVar("Rule", bound=Callable[..., Any])

_settings = threading.local()
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """CULTURESIM_THREADS if set, else this process's share of the cores (`share_cores`)."""
    requested = os.environ.get("CULTURESIM_THREADS", "").strip()
    if requested:
        try:
            return max(int(requested), 1)
        except ValueError:
            raise UserError(
                f"CULTURESIM_THREADS = {requested!r}: must be a whole number of threads, 1 or more"
            ) from None
    return _process_threads or available_cores()


_process_threads: int | None = None


def share_cores(workers: int) -> None:
    """Process-pool initializer: this worker is one of `workers` on the machine's cores, so a
    large model in it gets its share of them, at least one thread."""
    global _process_threads
    _process_threads = max(1, available_cores() // max(int(workers), 1))


def process_threads() -> int | None:
    """This worker's share of the cores, if a pool set it (None outside such a worker)."""
    return _process_threads


def threads_for(n_posts: int) -> int:
    """How many threads a model of `n_posts` posts uses for its week (1 below PARALLEL_FROM)."""
    if n_posts < PARALLEL_FROM:
        return 1
    return getattr(_settings, "threads", None) or default_threads()


@contextlib.contextmanager
def week_threads(threads: int) -> Iterator[None]:
    """Run the weeks of large models stepped in this block (in this thread) on `threads`
    threads; `week_threads(1)` in a sweep's worker, whose siblings use the other cores."""
    before = getattr(_settings, "threads", None)
    _settings.threads = max(int(threads), 1)
    try:
        yield
    finally:
        _settings.threads = before


def _forget_pools() -> None:
    """A forked child has none of the pools' threads: it makes its own when it needs them."""
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools)


def _pool(threads: int) -> ThreadPoolExecutor:
    """The process's thread pool for blocks of `threads` (made once, kept for later weeks)."""
    with _pools_lock:
        if threads not in _pools:
            _one_malloc_arena()
            _pools[threads] = ThreadPoolExecutor(
                threads, thread_name_prefix="culturesim-week", initializer=_one_thread_here
            )
        return _pools[threads]


def _one_malloc_arena() -> None:
    """Ask glibc to serve every thread from one heap (M_ARENA_MAX = 1).

    By default each thread that allocates gets its own arena, and the blocks' freed arrays
    stay in the workers' arenas: 40 MB more peak memory on a whole-NHS run with two threads
    (1,066 MB against 1,027 MB, `/usr/bin/time -v`). The arrays are large, so the shared
    heap's lock is taken rarely. Elsewhere than glibc this does nothing.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(ctypes.c_int(-8), ctypes.c_int(1))  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def _one_thread_here() -> None:
    """A pool thread runs whatever it is given whole: waiting on its own pool could hang."""
    _settings.threads = 1


def blocks(n: int, parts: int) -> list[slice]:
    """`parts` contiguous slices covering 0..n, as equal as can be."""
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def per_person(
    rule: Rule | None = None,
    *,
    whole: tuple[str, ...] = (),
    people: str | None = None,
    result: type | None = None,
) -> Any:
    """Mark a rule whose every array argument and result holds one value per person.

    The rule's first argument (or the one `people` names) is a per-person array: its length is
    the population's. Called on
    a population of at least PARALLEL_FROM, the rule runs on blocks of people in threads and
    the blocks are joined; arguments that are not arrays of the population's length (scalars,
    parameter blocks) are passed whole to every block, and so are those named in `whole`
    (`@per_person(whole=("compassion",))`): arrays a person's value reads at someone else's
    post, such as their manager's. A rule may return a tuple of per-person arrays.

    A rule that can write its result into an array it is given (`out=`, of dtype `result`:
    `@per_person(result=np.float64)`) gets, in each block, its block's part of one whole
    result, which is then returned as it is: no joining copy (at national size, about 9 ms a
    week on two threads, issue 11).
    """
    if rule is None:
        return functools.partial(per_person, whole=whole, people=people, result=result)
    parameters = list(inspect.signature(rule).parameters)
    sized_by = people or parameters[0]
    sized_at = parameters.index(sized_by)
    whole_positions = {parameters.index(name) for name in whole}

    @functools.wraps(rule)
    def by_blocks(*args: Any, **keywords: Any) -> Any:
        n = len(args[sized_at] if sized_at < len(args) else keywords[sized_by])
        if n < PARALLEL_FROM:  # the common case, kept to one comparison
            return rule(*args, **keywords)
        threads = threads_for(n)
        if threads == 1:
            return rule(*args, **keywords)

        def cut(value: Any, part: slice, kept_whole: bool) -> Any:
            per_post = isinstance(value, np.ndarray) and value.shape == (n,) and not kept_whole
            return value[part] if per_post else value

        def on_block(
            part: slice, context: contextvars.Context, out: np.ndarray | None = None
        ) -> Any:
            parts_of_args = [cut(a, part, i in whole_positions) for i, a in enumerate(args)]
            parts_of_keywords = {k: cut(v, part, k in whole) for k, v in keywords.items()}
            if out is not None:
                parts_of_keywords["out"] = out
            with week_threads(1):  # a rule called inside a block runs whole, in the block
                return context.run(rule, *parts_of_args, **parts_of_keywords)

        parts = blocks(n, max(threads, -(-n // BLOCK_POSTS)))
        # each block runs in the caller's context, so numpy's error state (np.errstate, a
        # context variable) applies in the pool's threads as it does in the caller's
        contexts = [contextvars.copy_context() for _ in parts]
        if result is not None:
            given = keywords.pop("out", None)
            joined = np.empty(n, dtype=result) if given is None else given
            outs = [joined[part] for part in parts]
            written = _pool(threads).map(on_block, parts, contexts, outs)
            for block, out in zip(written, outs, strict=True):
                if block is not out:
                    raise TypeError(f"{rule.__name__} returned a new array, not its `out`")
            return joined
        results = list(_pool(threads).map(on_block, parts, contexts))
        if isinstance(results[0], tuple):  # several per-person results: each joined
            return tuple(np.concatenate(joined) for joined in zip(*results, strict=True))
        return np.concatenate(results)

    return by_blocks  # type: ignore[return-value]


def uniform_on_threads(stream: np.random.Generator, count: int) -> np.ndarray:
    """`stream.random(count)`, the same numbers, drawn in two halves at once for a large model.

    Each double takes one 64-bit output of the stream's PCG64, so the second half is drawn by a
    copy of the generator advanced past the first half (`PCG64.advance`), at the same time as
    the first half, and the stream is then advanced past both: as if drawn in one call
    (`tests/test_threads.py`). A whole-NHS draw: 2.2 -> 1.7 ms on two threads (issue 11). Only
    for a PCG64 with no 32-bit output kept back, which advancing would drop.
    """
    threads = threads_for(count)
    generator = stream.bit_generator
    if threads == 1 or type(generator) is not np.random.PCG64 or generator.state["has_uint32"]:
        return stream.random(count)
    numbers = np.empty(count)
    half = count // 2
    ahead = np.random.PCG64(0)
    ahead.state = generator.state
    ahead.advance(half)
    later = _pool(threads).submit(
        np.random.Generator(ahead).random, count - half, out=numbers[half:]
    )
    stream.random(half, out=numbers[:half])
    later.result()
    generator.advance(count - half)
    return numbers


_numba_lock = threading.Lock()
_numba_threads_started = False


def _start_sleeping_numba_threads() -> None:
    """Start numba's threads with `OMP_WAIT_POLICY=PASSIVE`, unless the user set a policy.

    Its OpenMP threads then sleep between a week's parallel passes instead of spinning: the
    same wall time on a whole-NHS week, about 45 ms less CPU a week on two cores (issue 11),
    and no core taken from other work. OpenMP reads the variable once, when numba starts its
    threads (here, unless something in the process started them before); it is set for that
    moment only, so child processes and other libraries see the user's environment."""
    global _numba_threads_started
    if _numba_threads_started:
        return
    import numba

    ours = "OMP_WAIT_POLICY" not in os.environ
    if ours:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        numba.get_num_threads()  # starts the threading layer
    finally:
        if ours:
            del os.environ["OMP_WAIT_POLICY"]
    _numba_threads_started = True


@contextlib.contextmanager
def numba_threads(threads: int) -> Iterator[None]:
    """Let the compiled tie pass use `threads` threads (one caller at a time: numba's default
    thread pool does not take parallel work from two Python threads at once)."""
    if threads == 1:
        yield
        return
    import numba

    with _numba_lock:
        _start_sleeping_numba_threads()
        before = numba.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        try:
            yield
        finally:
            numba.set_num_threads(before)
