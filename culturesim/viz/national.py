"""The national view's numbers: one value per trust for a chosen measure, and its colour.

Computed from the people arrays with one `bincount` per measure, so the 210 trusts of
`nhs-england` (1.4 million posts) take milliseconds; the page draws them as clickable tiles.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex

from culturesim.engine.state import BULLYING
from culturesim.viz.session import VizModel


def _per_trust(model: VizModel, value: np.ndarray, among: np.ndarray) -> np.ndarray:
    trust, n = model.org.trust, model.org.n_trusts
    total = np.bincount(trust, among * value, minlength=n)
    count = np.bincount(trust, among.astype(float), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def bullying_share(model: VizModel) -> np.ndarray:
    people = model.people
    return _per_trust(model, (people.behaviour == BULLYING).astype(float), people.occupied)


def mean_strain(model: VizModel) -> np.ndarray:
    return _per_trust(model, model.people.strain, model.people.occupied)


def compassion(model: VizModel) -> np.ndarray:
    return _per_trust(model, model.people.compassion, model.people.occupied)


def vacancy_rate(model: VizModel) -> np.ndarray:
    people = model.people
    return _per_trust(model, (~people.occupied).astype(float), np.ones(len(people.occupied)))


def care_quality(model: VizModel) -> np.ndarray:
    return np.asarray(model.trust_quality, dtype=float)


TRUST_MEASURES: dict[str, tuple[Callable[[VizModel], np.ndarray], str]] = {
    "share of staff bullying this week": (bullying_share, "magma_r"),
    "mean strain": (mean_strain, "magma_r"),
    "vacancy rate": (vacancy_rate, "magma_r"),
    "compassion (mean disposition)": (compassion, "viridis"),
    "care quality": (care_quality, "viridis"),
}
"""Each measure, and a colour-blind-safe colour map (dark is worse for both)."""


def trust_tiles(model: VizModel, measure: str) -> tuple[np.ndarray, list[str], float, float]:
    """Each trust's value, its tile colour, and the range the colours span."""
    compute, cmap_name = TRUST_MEASURES[measure]
    values = compute(model)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    scaled = (values - lo) / (hi - lo) if hi > lo else np.full(len(values), 0.5)
    cmap = colormaps[cmap_name]
    colours = [to_hex(cmap(0.1 + 0.8 * s)) if np.isfinite(s) else "#ffffff" for s in scaled]
    return values, colours, lo, hi


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on the tile."""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"
