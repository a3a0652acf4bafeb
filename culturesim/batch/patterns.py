"""Empirical patterns at four levels and the functions that measure the model the same way.

The patterns (targets, sources, fitting or held out) are declared once, in the package's
`data/patterns.toml`; this module reads them and measures each on a run's outputs. A measure
that the model does not produce (an older model without the measure, a single-trust run for a
between-trust pattern) gives None, "not measured", never an error: the validation report says
so for that pattern.

A measure function takes a run's outputs (anything with `summary`, and where it needs them
`agents`, `trusts`) and returns a number, a dict of counts for the pooled statistics, or None.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from culturesim.engine.scenario import Scenario, load_scenario

PATTERNS_FILE = files("culturesim") / "data" / "patterns.toml"
LEVELS = ("individual", "team", "trust", "system")
USES = ("fitting", "held_out")
STATISTICS = ("mean", "pooled_tenure", "pooled_ratio", "excess_over")

Value = float | dict[str, float] | None


@dataclass(frozen=True)
class Setting:
    """The runs a pattern is measured on: a bundled scenario with fixed changes."""

    name: str
    scenario: str
    about: str
    changes: dict[str, Any]
    quick: dict[str, Any]

    def resolve(self, quick: bool = False) -> Scenario:
        """The scenario as run (figures, events and snapshots off: no measure reads them)."""
        changes = {**self.changes, **(self.quick if quick else {})}
        changes |= {"run.figures": False, "run.record_events": False, "run.snapshot_every": 0}
        return load_scenario(self.scenario).with_overrides(changes, f"setting {self.name}")


@dataclass(frozen=True)
class Pattern:
    name: str
    level: str
    label: str
    target: tuple[float, float]
    source: str
    measured: str
    setting: str
    measure: str
    use: str
    statistic: str = "mean"
    reference: str | None = None
    unit: str = "share"

    @property
    def fitting(self) -> bool:
        return self.use == "fitting"

    def met(self, value: float | None) -> bool | None:
        if value is None or not math.isfinite(value):
            return None
        low, high = self.target
        return low <= value <= high


@dataclass(frozen=True)
class Patterns:
    settings: dict[str, Setting]
    patterns: tuple[Pattern, ...] = field(default_factory=tuple)

    def fitting(self) -> tuple[Pattern, ...]:
        return tuple(p for p in self.patterns if p.fitting)

    def held_out(self) -> tuple[Pattern, ...]:
        return tuple(p for p in self.patterns if not p.fitting)

    def by_setting(self, patterns: Iterable[Pattern]) -> dict[str, list[Pattern]]:
        """The patterns grouped by the setting they run in (and the settings they refer to)."""
        grouped: dict[str, list[Pattern]] = {}
        for pattern in patterns:
            grouped.setdefault(pattern.setting, []).append(pattern)
            if pattern.reference:
                grouped.setdefault(pattern.reference, [])
        return grouped


def load_patterns(path: str | Path | None = None) -> Patterns:
    """The declared patterns and settings (the package's patterns.toml by default)."""
    text = Path(path).read_text() if path else PATTERNS_FILE.read_text()
    raw = tomllib.loads(text)
    settings = {
        name: Setting(
            name,
            table["scenario"],
            table.get("about", ""),
            dict(table.get("changes", {})),
            dict(table.get("quick", {})),
        )
        for name, table in raw["settings"].items()
    }
    patterns = []
    for table in raw["patterns"]:
        pattern = Pattern(**{**table, "target": tuple(table["target"])})
        problems = [
            pattern.level not in LEVELS and f"level {pattern.level!r}",
            pattern.use not in USES and f"use {pattern.use!r}",
            pattern.statistic not in STATISTICS and f"statistic {pattern.statistic!r}",
            pattern.setting not in settings and f"setting {pattern.setting!r}",
            pattern.reference not in (None, *settings) and f"reference {pattern.reference!r}",
            pattern.measure not in MEASURES and f"measure {pattern.measure!r}",
            not pattern.target[0] < pattern.target[1] and f"target {pattern.target}",
        ]
        bad = [problem for problem in problems if problem]
        if bad:
            raise ValueError(f"patterns.toml: pattern {pattern.name!r}: unknown {', '.join(bad)}")
        patterns.append(pattern)
    return Patterns(settings, tuple(patterns))


# --- measures on one run ----------------------------------------------------------------------


def _summary(*names: str) -> Callable[[Any], Value]:
    """The first of these summary measures the run has (None if it has none of them)."""

    def measure(outputs: Any) -> Value:
        for name in names:
            value = outputs.summary.get(name)
            if value is not None:
                return float(value)
        return None

    return measure


def _final_staff(outputs: Any) -> pd.DataFrame | None:
    agents = getattr(outputs, "agents", None)
    if agents is None or len(agents) == 0:
        return None
    final = agents[agents["week"] == agents["week"].max()]
    return final[final["occupied"]]


def self_labelled_perpetrators(outputs: Any) -> Value:
    """Share of staff in post who persistently bullied someone over the last 26 weeks.

    Matthiesen & Einarsen's perpetrators labelled themselves against a definition of bullying
    (repeated acts over time), so the like-for-like construct is the persistent perpetrator,
    not anyone with a single act in 12 months (docs/ODD.md 8).
    """
    if outputs.summary.get("persistent_perpetrators") is not None:
        return float(outputs.summary["persistent_perpetrators"])
    staff = _final_staff(outputs)
    if staff is None or "persistent_perpetrator" not in staff:
        return None
    return float(staff["persistent_perpetrator"].mean())


def victim_perpetrator_overlap(outputs: Any) -> Value:
    """Among staff in post who bullied in the last 12 months, the share bullied in it too."""
    staff = _final_staff(outputs)
    if staff is None or not {"bullied_others_last_year", "bullied_last_year"} <= set(staff):
        return None
    perpetrators = staff[staff["bullied_others_last_year"]]
    return float(perpetrators["bullied_last_year"].mean()) if len(perpetrators) else None


def strain_icc_by_team(outputs: Any) -> Value:
    """ICC(1) of strain over teams (one-way ANOVA estimator with unequal team sizes)."""
    staff = _final_staff(outputs)
    if staff is None or not {"team", "strain"} <= set(staff):
        return None
    groups = staff.groupby(["trust", "team"])["strain"]
    sizes = groups.size().to_numpy(float)
    keep = sizes >= 2
    if keep.sum() < 2:
        return None
    means = groups.mean().to_numpy(float)[keep]
    sizes = sizes[keep]
    within = (groups.var(ddof=1).to_numpy(float)[keep] * (sizes - 1)).sum()
    n, k = sizes.sum(), len(sizes)
    grand = (means * sizes).sum() / n
    between_ms = (sizes * (means - grand) ** 2).sum() / (k - 1)
    within_ms = within / (n - k)
    n0 = (n - (sizes**2).sum() / n) / (k - 1)
    denominator = between_ms + (n0 - 1) * within_ms
    return float((between_ms - within_ms) / denominator) if denominator > 0 else None


def _last_full_year(outputs: Any) -> pd.DataFrame | None:
    """The trusts table's last complete year, one row per trust (None for one trust or none)."""
    trusts = getattr(outputs, "trusts", None)
    if trusts is None or len(trusts) == 0 or "year" not in trusts:
        return None
    full = trusts[trusts["weeks"] >= 52] if "weeks" in trusts else trusts
    if full.empty:
        return None
    year = full[full["year"] == full["year"].max()]
    return year if len(year) >= 2 else None


def _trust_range(column: str) -> Callable[[Any], Value]:
    def measure(outputs: Any) -> Value:
        year = _last_full_year(outputs)
        if year is None or column not in year:
            return None
        return float(year[column].max() - year[column].min())

    return measure


def trust_leaver_rate_ratio(outputs: Any) -> Value:
    year = _last_full_year(outputs)
    if year is None or "leaver_rate" not in year or year["leaver_rate"].min() <= 0:
        return None
    return float(year["leaver_rate"].max() / year["leaver_rate"].min())


def staff_experience_quality_r2(outputs: Any) -> Value:
    """R2 of trust care quality on the share of staff not bullied by staff, across trusts."""
    year = _last_full_year(outputs)
    if year is None or not {"care_quality", "bullied_by_staff"} <= set(year) or len(year) < 3:
        return None
    x = 1 - year["bullied_by_staff"].to_numpy(float)
    y = year["care_quality"].to_numpy(float)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1] ** 2)


def _rated_share(*ratings: str) -> Callable[[Any], Value]:
    """The share of rated trust-years whose rating (the year's last) is one of `ratings`."""

    def measure(outputs: Any) -> Value:
        trusts = getattr(outputs, "trusts", None)
        if trusts is None or "rating" not in trusts:
            return None
        rated = trusts["rating"].dropna()
        return float(rated.isin(ratings).mean()) if len(rated) else None

    return measure


def ceo_exit_ratio_inadequate(outputs: Any) -> Value:
    """Chief-executive exits and trust-years, in trust-years rated inadequate and in others."""
    trusts = getattr(outputs, "trusts", None)
    if trusts is None or len(trusts) == 0 or not {"rating", "ceo_exits"} <= set(trusts):
        return None
    years = trusts["weeks"].to_numpy(float) / 52 if "weeks" in trusts else np.ones(len(trusts))
    inadequate = (trusts["rating"] == "inadequate").to_numpy()
    exits = trusts["ceo_exits"].to_numpy(float)
    return {
        "numerator_events": float(exits[inadequate].sum()),
        "numerator_exposure": float(years[inadequate].sum()),
        "denominator_events": float(exits[~inadequate].sum()),
        "denominator_exposure": float(years[~inadequate].sum()),
    }


def ceo_exit_rate(outputs: Any) -> Value:
    """Chief-executive exits and years in post, for the pooled median tenure."""
    exits, years = outputs.summary.get("ceo_exits"), outputs.summary.get("ceo_years_in_post")
    if exits is None or years is None:
        return None
    return {"exits": float(exits), "years": float(years)}


MEASURES: dict[str, Callable[[Any], Value]] = {
    "bullied_by_public": _summary("bullied_by_public"),
    "bullied_by_colleagues": _summary("bullied_by_colleagues"),
    "bullied_by_managers": _summary("bullied_by_managers"),
    "persistent_bullying": _summary("persistent_bullied", "persistently_bullied"),
    "self_labelled_perpetrators": self_labelled_perpetrators,
    "victim_perpetrator_overlap": victim_perpetrator_overlap,
    "strain_icc_by_team": strain_icc_by_team,
    "trust_range_bullied_by_managers": _trust_range("bullied_by_managers"),
    "trust_range_bullied_by_colleagues": _trust_range("bullied_by_colleagues"),
    "trust_leaver_rate_ratio": trust_leaver_rate_ratio,
    "staff_experience_quality_r2": staff_experience_quality_r2,
    "ceo_exit_ratio_inadequate": ceo_exit_ratio_inadequate,
    "trusts_rated_inadequate": _rated_share("inadequate"),
    "trusts_rated_requires_improvement_or_worse": _rated_share(
        "requires improvement", "inadequate"
    ),
    "leaver_rate": _summary("leaver_rate"),
    "vacancy_rate": _summary("vacancy_rate"),
    "ceo_exit_rate": ceo_exit_rate,
    "harm_rate": _summary("harm_ratio", "harm_per_1000_staff_year"),
}
"""Each pattern's measure by name (the `measure` field of patterns.toml)."""


def measure_run(outputs: Any, names: Iterable[str]) -> dict[str, Value]:
    """The named measures of one run (None where the run does not have what one needs)."""
    return {name: MEASURES[name](outputs) for name in names}


# --- pooling runs -----------------------------------------------------------------------------


def pooled_tenure(counts: list[dict]) -> float | None:
    """ln 2 x years in post / exits over runs (None without an exit)."""
    exits = sum(c["exits"] for c in counts)
    years = sum(c["years"] for c in counts)
    return math.log(2) * years / exits if exits else None


def pooled_ratio(counts: list[dict]) -> float | None:
    """Rate of events per exposure in the numerator group over that in the denominator group."""
    total = {key: sum(c[key] for c in counts) for key in counts[0]} if counts else {}
    if not total or not total["numerator_exposure"] or not total["denominator_exposure"]:
        return None
    if not total["denominator_events"]:
        return None
    numerator = total["numerator_events"] / total["numerator_exposure"]
    return numerator / (total["denominator_events"] / total["denominator_exposure"])


def _present(values: Iterable[Value]) -> list:
    return [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def pattern_value(
    pattern: Pattern,
    runs: dict[str, list[dict[str, Value]]],
    rng: np.random.Generator | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """A pattern's value over the runs of its setting, with intervals.

    `runs[setting]` is a list of measure_run dicts, one per run (one posterior draw and seed
    each). Returns the value (posterior predictive mean, or the pooled statistic), the central
    `level` interval of the runs' values (the spread a single trust-year would show: parameter
    uncertainty and seed noise together) and a bootstrap interval of the value itself, the
    number of runs that measured it, and whether the value is inside the target.
    """
    rng = rng or np.random.default_rng(0)
    own = _present(run.get(pattern.measure) for run in runs.get(pattern.setting, []))
    result = {"value": None, "spread": (None, None), "interval": (None, None), "runs": len(own)}
    if not own:
        result["met"] = None
        return result
    tail = (1 - level) / 2

    if pattern.statistic in ("pooled_tenure", "pooled_ratio"):
        pool = pooled_tenure if pattern.statistic == "pooled_tenure" else pooled_ratio
        value = pool(own)
        boot = [pool([own[i] for i in rng.integers(0, len(own), len(own))]) for _ in range(1000)]
        boot = [b for b in boot if b is not None]
        result["value"] = value
        if boot and len(own) > 1:
            result["interval"] = tuple(np.quantile(boot, [tail, 1 - tail]))
    else:
        values = np.asarray(own, dtype=float)
        scale = 1.0
        if pattern.statistic == "excess_over":
            reference = _present(run.get(pattern.measure) for run in runs.get(pattern.reference))
            if not reference or np.mean(reference) == 0:
                result["met"] = None
                return result
            scale = float(np.mean(reference))
            values = values / scale - 1
        result["value"] = float(values.mean())
        if len(values) > 1:
            result["spread"] = tuple(np.quantile(values, [tail, 1 - tail]))
            boot = values[rng.integers(0, len(values), (1000, len(values)))].mean(axis=1)
            result["interval"] = tuple(np.quantile(boot, [tail, 1 - tail]))
    result["met"] = pattern.met(result["value"])
    return result


def run_and_measure(scenario: Scenario, seed: int, names: tuple[str, ...]) -> dict[str, Value]:
    """One run of a setting (in a worker process) and its pattern measures."""
    from culturesim.run.simulate import simulate

    return measure_run(simulate(scenario, seed=seed), names)
