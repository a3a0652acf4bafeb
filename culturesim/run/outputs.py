"""The run folder: tables, headline summary, provenance and figures of one run.

A folder is written under a temporary name beside its destination and renamed only when
complete, so a crash never leaves a folder that looks finished.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from culturesim.engine.cascades import cascade_statistics
from culturesim.engine.measures import SUMMARY_MEASURES  # noqa: F401  (re-exported)
from culturesim.engine.scenario import Scenario

TABLES = ("timeseries", "events", "episodes", "agents")
PACKAGES = ("culturesim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "matplotlib")


class OutputError(RuntimeError):
    """The run folder cannot be written where asked; the message is one line for the user."""


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
    leaver_rates = [float(y.leavers.sum() / y.staff.mean() * 52 / len(y)) for y in years]
    vacancy_rates = [float(y.vacancy_rate.mean()) for y in years]
    ceo_weeks = float(timeseries.ceos_in_post.sum())
    ceo_exits = int(timeseries.ceo_exits.sum())
    staff_years = float(timeseries.staff.sum()) / 52
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
        "compassion_climate": float(timeseries.compassion_climate.iloc[-52:].mean()),
        "mean_strain": float(timeseries.mean_strain.iloc[-52:].mean()),
        "leaver_rate": float(np.mean(leaver_rates)),
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
        "harm_per_1000_staff_year": float(timeseries.harm_events.sum() / staff_years * 1000),
        "bullying_acts_per_1000_staff_year": float(
            timeseries.bullying_acts.sum() / staff_years * 1000
        ),
    }
    summary.update(cascade_statistics(episodes, steps, scenario.cascades.conversion_window_weeks))
    return summary


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (None where it is not installed)."""
    versions: dict[str, str | None] = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def provenance(scenario: Scenario, started: datetime, finished: datetime) -> dict:
    """Everything needed to say where a result came from and to make it again."""
    versions = package_versions()
    return {
        "culturesim_version": versions["culturesim"],
        "git_commit": git_commit(),
        "scenario": scenario.name,
        "seed": scenario.run.seed,
        "steps": scenario.run.steps,
        "packages": versions,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "command": " ".join(sys.argv),
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "wall_time_seconds": (finished - started).total_seconds(),
    }


def git_commit() -> str | None:
    """The source tree's commit (with '+dirty' for uncommitted changes), if it is a checkout."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def resolved_toml(scenario: Scenario) -> str:
    """The scenario with every default filled in, as a TOML file that reruns the same run."""
    header = f"# Fully resolved scenario '{scenario.name}': every value, defaults included.\n"
    return header + tomli_w.dumps(scenario.model_dump(mode="json"))


def check_destination(out: Path, overwrite: bool) -> None:
    """Refuse, before any work, a destination that is a file or a finished folder."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(f"{out}: folder exists and is not empty; use --overwrite or --out")


def prepare_folder(out: Path, overwrite: bool) -> Path:
    """Check the destination and return a fresh temporary folder beside it."""
    check_destination(out, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{out.parent}: cannot create folder ({error.strerror})") from None
    _remove_abandoned(out)
    temporary = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        temporary.mkdir()
    except OSError as error:
        raise OutputError(f"{out}: cannot write the run folder ({error.strerror})") from None
    return temporary


def _remove_abandoned(out: Path) -> None:
    """Delete temporary folders left by killed runs into the same destination."""
    for leftover in out.parent.glob(f".{out.name}.partial-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def finish_folder(temporary: Path, out: Path) -> None:
    """Swap the complete folder into place (the old one is removed only after)."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
        temporary.rename(out)
        shutil.rmtree(old)
    else:
        temporary.rename(out)


def write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, table in tables.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)


def write_json(path: Path, content: dict) -> None:
    """JSON with NaN written as null, so every JSON reader accepts the file."""
    path.write_text(json.dumps(_no_nan(content), indent=2, default=_json_default) + "\n")


def _no_nan(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _no_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_no_nan(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


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
    import matplotlib.pyplot as plt

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
    plt.close(figure)
    return "\n".join(lines), plot
