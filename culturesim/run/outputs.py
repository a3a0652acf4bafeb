"""The run folder: tables, headline summary, provenance and figures of one run.

A folder is written under a temporary name beside its destination and renamed only when
complete, so a crash never leaves a folder that looks finished; the destination is locked while
a run writes it, and `--overwrite` replaces only a run folder (see `culturesim.files`).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from culturesim.engine.cascades import cascade_statistics
from culturesim.engine.measures import SUMMARY_MEASURES, measure  # noqa: F401 (re-exported)
from culturesim.engine.scenario import Scenario
from culturesim.errors import OutputError
from culturesim.files import check_replaceable, temporary_folder
from culturesim.files import provenance as folder_provenance
from culturesim.run.tables import TABLES

RUN_FOLDER_ENTRIES = (
    *(f"{name}.parquet" for name in TABLES),
    "summary.json",
    "scenario.resolved.toml",
    "provenance.json",
    "figures",
)
"""Everything a run folder holds: `--overwrite` replaces a folder holding nothing else."""


def summarise(timeseries: pd.DataFrame, episodes: pd.DataFrame, scenario: Scenario) -> dict:
    """Headline figures, measured as the NHS Staff Survey and workforce statistics measure them.

    Every numeric entry is a summary measure declared in culturesim.engine.measures. Bullying
    prevalence is the share of staff in post at the end who were bullied at least once in the
    survey's look-back (`observation.survey_weeks`). Rates per year are over each full year of
    the run; the headline rate is the mean over years. Chief-executive tenure is the median of
    an exponential fitted to every week a chief executive was in post and every exit (censored
    spells included).
    """
    final = timeseries.iloc[-1]
    steps = len(timeseries)
    years = [timeseries.iloc[i : i + 52] for i in range(0, steps - 51, 52)] or [timeseries]
    leaver_rates = [
        float(y.leavers.sum() / y.staff.mean() * 52 / len(y)) if y.staff.mean() > 0 else None
        for y in years
    ]
    vacancy_rates = [float(y.vacancy_rate.mean()) for y in years]
    ceo_weeks = float(timeseries.ceos_in_post.sum())
    ceo_exits = int(timeseries.ceo_exits.sum())
    staff_years = float(timeseries.staff.sum()) / 52
    defined_leaver_rates = [rate for rate in leaver_rates if rate is not None]
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": scenario.run.seed,
        "weeks": steps,
        "staff_posts": int(round(final.staff / (1 - final.vacancy_rate)))
        if final.vacancy_rate < 1
        else 0,
        "bullied_by_public": float(final.bullied_by_public),
        "bullied_by_colleagues": float(final.bullied_by_colleagues),
        "bullied_by_managers": float(final.bullied_by_managers),
        "bullied_by_staff": float(final.bullied_by_staff),
        "perpetrator_share": float(
            (timeseries.perpetrators / timeseries.staff.clip(lower=1)).iloc[-52:].mean()
        ),
        "persistent_bullied": float(final.persistent_bullied),
        "perpetrators_last_year": float(final.perpetrators_last_year),
        "persistent_perpetrators": float(final.persistent_perpetrators),
        "compassion_climate": float(timeseries.compassion_climate.iloc[-52:].mean()),
        "mean_strain": float(timeseries.mean_strain.iloc[-52:].mean()),
        "leaver_rate": float(np.mean(defined_leaver_rates)) if defined_leaver_rates else None,
        "leaver_rate_by_year": leaver_rates,
        "vacancy_rate": float(np.mean(vacancy_rates)),
        "vacancy_rate_by_year": vacancy_rates,
        "ceo_exits": ceo_exits,
        "ceo_years_in_post": ceo_weeks / 52,
        "ceo_median_tenure_years": (math.log(2) * ceo_weeks / 52 / ceo_exits)
        if ceo_exits
        else None,
        "agency_share": float(np.mean([y.agency_share.mean() for y in years])),
        "special_measures_entries": int(timeseries.special_measures_entries.sum()),
        "special_measures_years": float(timeseries.special_measures.sum()) / 52,
        "care_quality": float(timeseries.care_quality.iloc[-52:].mean()),
        "care_quality_min": float(timeseries.care_quality.min()),
        "harm_events": int(timeseries.harm_events.sum()),
        "harm_per_1000_staff_year": float(timeseries.harm_events.sum() / staff_years * 1000)
        if staff_years
        else None,
        "harm_ratio": float(
            timeseries.harm_events.iloc[-52:].sum() / timeseries.expected_harm.iloc[-52:].sum()
        )
        if timeseries.expected_harm.iloc[-52:].sum() > 0
        else None,
        "bullying_acts_per_1000_staff_year": float(
            timeseries.bullying_acts.sum() / staff_years * 1000
        )
        if staff_years
        else None,
    }
    summary.update(cascade_statistics(episodes, steps, scenario.cascades.conversion_window_weeks))
    return _state_undefined(summary, scenario.cascades.conversion_window_weeks)


def _state_undefined(summary: dict[str, Any], window_weeks: int) -> dict[str, Any]:
    """Measures with no value (a rate over no staff, a ratio over no episodes) become None, with
    the reason under "undefined", so summary.json is strict JSON (no NaN or Infinity)."""
    reasons = {
        "compassion_climate": "no staff in post in the last 52 weeks",
        "mean_strain": "no staff in post in the last 52 weeks",
        "care_quality": "no care delivered in the last 52 weeks",
        "care_quality_min": "no care delivered in the run",
        "leaver_rate": "no staff in post in any year of the run",
        "leaver_rate_by_year": "no staff in post in the years shown as null",
        "harm_per_1000_staff_year": "no staff in post during the run (0 staff-years)",
        "bullying_acts_per_1000_staff_year": "no staff in post during the run (0 staff-years)",
        "ceo_median_tenure_years": "no chief executive left: tenure cannot be estimated",
        "cascade_mean_size": "no cascades",
        "reproduction_number": (
            f"no perpetrator episode began at least {window_weeks} weeks "
            "(the conversion window) before the end"
        ),
    }
    undefined = {}
    for name, value in summary.items():
        if isinstance(value, list):
            summary[name] = [_finite_or_none(item) for item in value]
            if None in summary[name]:
                undefined[name] = reasons.get(name, "no value")
        elif _finite_or_none(value) is None and name in reasons:
            summary[name] = None
            undefined[name] = reasons[name]
    summary["undefined"] = undefined
    return summary


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    return value


def provenance(scenario: Scenario, started: datetime, finished: datetime) -> dict:
    """Everything needed to say where a result came from and to make it again."""
    return folder_provenance("run", started) | {
        "scenario": scenario.name,
        "seed": scenario.run.seed,
        "steps": scenario.run.steps,
        "finished": finished.isoformat(),
        "wall_time_seconds": (finished - started).total_seconds(),
    }


HEADLINE_MEASURES = (
    "bullied_by_public",
    "bullied_by_colleagues",
    "bullied_by_managers",
    "persistent_bullied",
    "perpetrators_last_year",
    "compassion_climate",
    "mean_strain",
    "leaver_rate",
    "vacancy_rate",
    "ceo_median_tenure_years",
    "care_quality",
    "harm_ratio",
    "harm_per_1000_staff_year",
    "cascades",
    "cascade_max_size",
    "cascade_max_depth",
    "conversions",
    "reproduction_number",
)
"""The summary measures a reader looks at first: `culturesim run`'s summary and a notebook's
table (labels and units from the measure registry)."""


def headline_figures(summary: dict) -> list[tuple[str, str]]:
    """(label, formatted value) of the headline measures, labels and units from the registry;
    'n/a' where a measure is undefined."""
    rows = []
    for name in HEADLINE_MEASURES:
        declared = measure(name)
        value = summary[name]
        if value is None and name != "ceo_median_tenure_years":
            text = "n/a"
        elif name == "ceo_median_tenure_years" and value is None:
            text = f"no exits in {summary['ceo_years_in_post']:.0f} CEO-years"
        elif declared.unit in ("share", "share a year"):
            text = f"{100 * value:5.1f}%"
        elif isinstance(value, int):
            text = f"{value}"
        elif declared.unit == "years":
            text = f"{value:.1f} years"
        else:
            text = _number(value, 3 if declared.unit == "0-1" else 2)
        if name == "reproduction_number":
            label = f"{declared.label} (observed: temporal, not causal)"
        else:
            label = declared.label
        rows.append((label, text))
    if "causal_reproduction_number" in summary:
        rows += [
            ("conversions in the twin without victimisation", f"{summary['twin_conversions']}"),
            ("excess conversions (caused by being bullied)", f"{summary['excess_conversions']}"),
            (
                "causal R (excess per episode; one pair, no interval)",
                _number(summary["causal_reproduction_number"]),
            ),
        ]
    return rows


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"


def resolved_toml(scenario: Scenario) -> str:
    """The scenario with every default filled in, as a TOML file that reruns the same run."""
    header = f"# Fully resolved scenario '{scenario.name}': every value, defaults included.\n"
    return header + tomli_w.dumps(scenario.model_dump(mode="json"))


def check_destination(
    out: Path, overwrite: bool, kind: str = "run", entries: tuple[str, ...] = RUN_FOLDER_ENTRIES
) -> None:
    """Refuse, before any work, a destination that is a file, a folder in use or (without
    `overwrite`) a finished one, and (with it) anything but a `kind` folder culturesim wrote."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise OutputError(f"{out}: folder exists and is not empty; use --overwrite or --out")
        check_replaceable(out, "provenance.json", kind, entries)


def prepare_folder(
    out: Path, overwrite: bool, kind: str = "run", entries: tuple[str, ...] = RUN_FOLDER_ENTRIES
) -> Path:
    """Check the destination and return a fresh temporary folder beside it."""
    check_destination(out, overwrite, kind, entries)
    return temporary_folder(out)


def write_json(path: Path, content: dict) -> None:
    """Strict JSON: NaN and infinities written as null, so every JSON reader accepts the file."""
    text = json.dumps(_no_nan(content), indent=2, default=_json_default, allow_nan=False)
    path.write_text(text + "\n")


def _no_nan(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _no_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(item) for item in value]
    return _finite_or_none(value.item() if isinstance(value, np.generic) else value)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def read_run(run_dir: Path) -> dict[str, Any]:
    """A finished run folder's tables, summary and scenario, refusing anything incomplete."""
    from culturesim.engine.scenario import load_scenario

    if not (run_dir / "summary.json").is_file():
        raise OutputError(f"{run_dir}: not a finished run folder (no summary.json)")
    run: dict[str, Any] = {"summary": json.loads((run_dir / "summary.json").read_text())}
    for name in TABLES:
        run[name] = pd.read_parquet(run_dir / f"{name}.parquet")
    run["scenario"] = load_scenario(run_dir / "scenario.resolved.toml")
    return run


def cascade_report(run_dir: Path, plot: Path | None = None) -> tuple[str, Path]:
    """Text report of a run's cascades, and the path of its size-distribution figure."""
    from culturesim.engine.cascades import recorded_cascades, reproduction_by_period, size_ccdf
    from culturesim.run.figures import cascade_ccdf

    run = read_run(run_dir)
    scenario, episodes = run["scenario"], run["episodes"]
    window = scenario.cascades.conversion_window_weeks
    steps = len(run["timeseries"])
    stats = cascade_statistics(episodes, steps, window)
    sizes = recorded_cascades(episodes)["size"].to_numpy()
    r_all = stats["reproduction_number"]
    lines = [
        f"cascades in {run_dir} (conversion window W = {window} weeks, {steps} weeks)",
        "  observed episode trees: temporal, not causal (a conversion is a victim who bullies "
        "within W weeks, caused or not; `--causal` measures how many were caused)",
        f"  cascades {stats['cascades']}, perpetrator episodes {stats['perpetrator_episodes']}, "
        f"conversions {stats['conversions']}",
        f"  size: mean {stats['cascade_mean_size']:.2f}, max {stats['cascade_max_size']}; "
        f"depth: max {stats['cascade_max_depth']}",
        "  reproduction number R (conversions per perpetrator episode): "
        + ("n/a (no episode old enough)" if r_all != r_all else f"{r_all:.3f}"),
        "",
        "  size   cascades   share >= size",
    ]
    if len(sizes):
        lines += [
            f"  {v:>4}   {c:>8}   {s:>12.4f}" for v, c, s in zip(*size_ccdf(sizes), strict=True)
        ]
    lines += [
        "",
        "  R by quarter of start (episodes begun in the last W weeks left out)",
        "  from week   episodes   R",
    ]
    by_period = reproduction_by_period(episodes, steps, window)
    if by_period.empty:
        lines.append("  (none: the run is shorter than W weeks)")
    lines += [
        f"  {int(r.from_week):>9}   {int(r.episodes):>8}   {r.reproduction_number:.3f}"
        for r in by_period.itertuples()
    ]
    plot = plot or run_dir / "figures" / "cascade_sizes.png"
    plot.parent.mkdir(parents=True, exist_ok=True)
    figure = cascade_ccdf(episodes, scenario.name)
    figure.savefig(plot, dpi=110)
    return "\n".join(lines), plot
