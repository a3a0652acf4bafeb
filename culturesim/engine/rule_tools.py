"""What the rule modules share: the logistic function, and compiling a rule's loop over
people with numba."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


_compiling = threading.Lock()


def compiled(loop: Callable[..., None]) -> Callable[..., None]:
    """A rule's loop over people, compiled by numba on its first call (and cached on disk).

    The busiest rules (Eq. 2, 2a, 3, 5, 6-7, 6's norms, 8's choice of target, 9, 11 and
    newness) are written as one loop over people rather than as a dozen numpy expressions,
    each a pass over the population: the same operations in the same order, so the same bits
    (`tests/test_golden.py`), at a fraction of the cost (issue 11). Their `exp` stays numpy's,
    between two loops: numba's differs from it in the last bit for some arguments. Division is
    compiled without Python's zero check (`error_model="numpy"`), which lets the loops run on
    vectors: a division by zero gives inf or nan, as numpy's does, without its warning.
    """
    kernel = None

    @functools.wraps(loop)
    def run(*args: Any) -> None:
        nonlocal kernel
        if kernel is None:
            with _compiling:
                if kernel is None:
                    import numba

                    kernel = numba.njit(cache=True, nogil=True, error_model="numpy")(loop)
        kernel(*args)

    return run
