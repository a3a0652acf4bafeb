"""Tipping defined by dynamics: where two stable states coexist, and the hysteresis loop.

A trust has tipped when an endemic bullying culture, once started, sustains itself after what
started it has gone. Two designs measure that (docs/ODD.md section 7.15):

- **Two starts** (`bistability`): at each design point, replicate runs from the ordinary start
  and from a temporary shock (`shock.weeks` > 0: regulator pressure and funding held at harsh
  values for the first weeks). Where most ordinary runs end low and most shocked runs end
  endemic, both states persist: two stable states coexist (bistable) at that point. A sweep
  crosses `shock.weeks` with its other parameters; `culturesim analyse` then draws the region.
- **Ramp** (`ramp`): one driver ramped slowly up and back down in each run; the endemic state
  appears at one value on the way up and disappears at another on the way down. Apart from the
  lag of a finite ramp, a gap between the two is hysteresis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from culturesim.batch.intervals import mean_interval
from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import DRIVER_RANGES, Scenario, ScenarioError

SHOCK_PATH = "shock.weeks"
"""The varied parameter that marks a sweep as a two-start (tipping) design."""
STATE = "perpetrator_share"
"""The state a run ends in: the share of staff in post bullying in a week, over its last year."""
ENDEMIC = 0.10
"""A run ends endemic when STATE is above this: one in ten staff bullying every week, about twice
the calibrated baseline's level (0.02-0.06 at the end of five years, trusts of 1,000 posts) and
below what a year's shock leaves at its end (0.14-0.17; docs/ODD.md 7.15)."""


def _share(hits: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """A share and its Wilson score interval (NaN with no runs)."""
    if n == 0:
        return (np.nan, np.nan, np.nan)
    low, high = stats.binomtest(hits, n).proportion_ci(level, method="wilson")
    return (hits / n, float(low), float(high))


def bistability(
    runs: pd.DataFrame, paths: list[str], measure: str = STATE, endemic: float = ENDEMIC
) -> pd.DataFrame:
    """One row per point of the other parameters: how runs end from each start.

    `runs` has one row per run with its varied parameters (one of them `shock.weeks`: 0 is the
    ordinary start, more is the shocked start), `status` and the measure. For each start the
    row gives the measure's mean with a 95% t interval, and the share of runs ending endemic
    (measure > `endemic`) with a 95% Wilson interval. `bistable` is True where both states
    persist: most runs from the ordinary start end low and most shocked runs end endemic.
    """
    if SHOCK_PATH not in paths:
        raise ScenarioError(f"a two-start design varies {SHOCK_PATH} (0 and a number of weeks)")
    others = [p for p in paths if p != SHOCK_PATH]
    ok = runs[runs["status"] == "ok"]
    rows = []
    for key, group in ok.groupby(others, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(others, key, strict=True))
        shocked = group[SHOCK_PATH] > 0
        for name, values in (("low_start", group[~shocked]), ("shocked_start", group[shocked])):
            value = values[measure].dropna().to_numpy()
            mean, lo, hi = mean_interval(value)
            share, s_lo, s_hi = _share(int((value > endemic).sum()), len(value))
            row |= {f"{name}_mean": mean, f"{name}_ci_low": lo, f"{name}_ci_high": hi,
                    f"{name}_runs": len(value), f"{name}_endemic": share,
                    f"{name}_endemic_ci_low": s_lo, f"{name}_endemic_ci_high": s_hi}  # fmt: skip
        row["bistable"] = bool(
            row["low_start_endemic"] < 0.5 and row["shocked_start_endemic"] > 0.5
        )
        rows.append(row)
    return pd.DataFrame(rows)


def ramp_scenario(
    scenario: Scenario, driver: str, low: float, high: float, ramp_weeks: int, hold_weeks: int
) -> Scenario:
    """The scenario with one driver held at `low`, ramped to `high`, held, and ramped back."""
    if driver not in DRIVER_RANGES:
        raise ScenarioError(f"unknown driver '{driver}'; drivers: {', '.join(DRIVER_RANGES)}")
    up = hold_weeks
    down = up + ramp_weeks + hold_weeks
    steps = down + ramp_weeks + hold_weeks
    changes = [
        {"week": up, "value": high, "over_weeks": ramp_weeks},
        {"week": down, "value": low, "over_weeks": ramp_weeks},
    ]
    return scenario.with_overrides(
        {
            f"drivers.{driver}.value": low,
            f"drivers.{driver}.changes": changes,
            "run.steps": steps,
            "run.record_events": False,
        },
        f"ramp of {driver}",
    )


def ramp(
    scenario: Scenario,
    driver: str,
    low: float,
    high: float,
    ramp_weeks: int = 260,
    hold_weeks: int = 104,
    seeds: list[int] | tuple[int, ...] = (1, 2, 3, 4),
    smooth_weeks: int = 13,
    endemic: float = ENDEMIC,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ramp `driver` from `low` to `high` and back in one run per seed.

    Returns the weekly trace (seed, week, leg 'up' or 'down', the driver's value and the state:
    the share of staff bullying in the week, smoothed over `smooth_weeks`) and one row per seed:
    the driver's value where the state first rises above `endemic` on the way up
    (`appears_at`; NaN if it never does) and where it last is above it on the way down
    (`disappears_at`; NaN if it never was), and whether it still is at the end
    (`endemic_at_end`: the endemic state outlived the whole ramp down).
    """
    ramped = ramp_scenario(scenario, driver, low, high, ramp_weeks, hold_weeks)
    traces, points = [], []
    for seed in seeds:
        model = CultureModel(ramped, seed)
        for _ in range(ramped.run.steps):
            model.step()
        series = model.timeseries()
        share = series.perpetrators / series.staff.clip(lower=1)
        state = share.rolling(smooth_weeks, min_periods=1).mean().to_numpy()
        week = series.week.to_numpy()
        value = series[driver].to_numpy()
        leg = np.where(week < hold_weeks + ramp_weeks + hold_weeks, "up", "down")
        traces.append(
            pd.DataFrame({"seed": seed, "week": week, "leg": leg, driver: value, "state": state})
        )
        up = (leg == "up") & (state > endemic)
        down = (leg == "down") & (state > endemic)
        last_down = len(down) - 1 - np.argmax(down[::-1])
        points.append(
            {
                "seed": seed,
                "appears_at": float(value[np.argmax(up)]) if up.any() else np.nan,
                "disappears_at": float(value[last_down]) if down.any() else np.nan,
                "endemic_at_end": bool(state[-1] > endemic),
            }
        )
    return pd.concat(traces, ignore_index=True), pd.DataFrame(points)


def ramp_summary(points: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """Where the endemic state appears and disappears, and the gap: mean and 95% interval.

    A finite ramp lags the state it drives, so a gap appears even without bistability: compare
    it with a slower ramp, or use the two-start design (`bistability`).
    """
    gap = points.appears_at - points.disappears_at
    return {
        "appears_at": mean_interval(points.appears_at.to_numpy()),
        "disappears_at": mean_interval(points.disappears_at.to_numpy()),
        "hysteresis_width": mean_interval(gap.to_numpy()),
    }
