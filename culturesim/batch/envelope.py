"""The envelope of plausible values: what no English NHS trust has been seen beyond.

Each bound is a trust-level figure read in a published source (docs/ODD.md section 8.1 has the
table with the sources). A sweep's outputs are checked against it point by point
(`experiments/envelope.py`, `tests/test_extremes.py`): a model that leaves the envelope inside
its own schema's ranges describes a trust that has never existed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Bound:
    """The plausible range of one summary measure across trusts, with where it comes from."""

    measure: str
    low: float
    high: float
    source: str
    estimate: bool = False
    enforced: bool = True


ENVELOPE: tuple[Bound, ...] = (
    Bound(
        "bullied_by_public",
        0.10,
        0.50,
        "NHS Staff Survey 2015: almost half of ambulance-trust staff, a fifth of acute "
        "specialist trusts' (Health Foundation chart); bounds widened to the best and worst "
        "single trusts",
        estimate=True,
    ),
    Bound(
        "bullied_by_colleagues",
        0.08,
        0.30,
        "NHS Staff Survey 2014-2018 benchmark tables: worst trust of its type 22.2-26.8%, "
        "best 9.4-16.2% (East of England Ambulance Service's published benchmarks)",
        estimate=True,
    ),
    Bound(
        "bullied_by_managers",
        0.04,
        0.32,
        "NHS Staff Survey 2014-2018 benchmark tables: worst trust of its type 20.9-31.2%, "
        "best 5.3-12.3% (East of England Ambulance Service's published benchmarks)",
        estimate=True,
    ),
    Bound(
        "bullied_by_staff",
        0.10,
        0.45,
        "union of the worst trusts' figures by managers (31%) and by colleagues (27%), which "
        "overlap; no published trust-level maximum for 'any staff'",
        estimate=True,
    ),
    Bound(
        "leaver_rate",
        0.05,
        0.33,
        "Health Foundation 2017 (Rising pressure): turnover as high as one in three nurses in "
        "some trusts; community trusts about twice acute teaching trusts' rate",
    ),
    Bound(
        "vacancy_rate",
        0.0,
        0.20,
        "NHS Improvement 2017/18: 8.4% of posts vacant nationally, nursing 14.4% in London and "
        "16.7% in London mental-health trusts; 79 of 212 trusts at 10% or more (NHS England, "
        "December 2021); the highest single trusts put at about 20%",
        estimate=True,
    ),
    Bound(
        "harm_excess",
        0.6,
        1.45,
        "mortality ratios of the worst trusts: SHMI up to 1.25 and HSMR up to 1.20 in the 14 "
        "Keogh trusts (2013); Mid Staffordshire 1.27-1.45 (Francis 2013). Reported, not "
        "enforced: the harm submodel is not calibrated (ODD 7.10)",
        enforced=False,
    ),
)
"""The envelope, one bound per summary measure (harm_excess: (1 - Q) over the baseline's)."""

MONOTONE_TOLERANCE = 0.03
"""Fall in bullying by staff (share) allowed, beyond 3 SE of the paired difference, when funding
falls a level at the same pressure (replicate noise of a tipping trust)."""

BOUNDS = {bound.measure: bound for bound in ENVELOPE}
ENFORCED = tuple(bound.measure for bound in ENVELOPE if bound.enforced)


def point_means(runs: pd.DataFrame, factors: list[str], measures: list[str]) -> pd.DataFrame:
    """Each design point's replicate mean of each measure, one row per point."""
    return runs.groupby(factors, as_index=False)[measures].mean()


def outside(points: pd.DataFrame, measures: tuple[str, ...] = ENFORCED) -> pd.DataFrame:
    """One row per (point, measure) outside its bound: the value and how far out it is."""
    rows = []
    for measure in measures:
        if measure not in points:
            continue
        bound = BOUNDS[measure]
        values = points[measure].to_numpy()
        beyond = np.maximum(bound.low - values, 0) + np.maximum(values - bound.high, 0)
        for index in np.flatnonzero(beyond > 0):
            rows.append(
                {**points.iloc[index].to_dict(), "measure": measure, "by": float(beyond[index])}
            )
    return pd.DataFrame(rows)


def funding_rises(runs: pd.DataFrame, measure: str, funding: str, fixed: list[str]) -> pd.DataFrame:
    """Paired change of `measure` as funding falls one level, at each level of `fixed`.

    Runs are paired by seed (common random numbers: replicate r has the same seed at every
    point). One row per (fixed levels, funding step): the mean over seeds of measure at the
    lower funding minus measure at the next higher funding, its standard error, and the seeds.
    A negative change is less bullying with less money.
    """
    rows = []
    levels = np.sort(runs[funding].unique())
    for key, group in runs.groupby(fixed):
        by_seed = group.pivot_table(index="seed", columns=funding, values=measure)
        for lower, higher in zip(levels[:-1], levels[1:], strict=True):
            change = (by_seed[lower] - by_seed[higher]).dropna()
            rows.append(
                {
                    **dict(zip(fixed, key if isinstance(key, tuple) else (key,), strict=True)),
                    "funding_from": float(higher),
                    "funding_to": float(lower),
                    "change": float(change.mean()),
                    "se": float(change.std(ddof=1) / np.sqrt(len(change)))
                    if len(change) > 1
                    else float("nan"),
                    "seeds": len(change),
                }
            )
    return pd.DataFrame(rows)
