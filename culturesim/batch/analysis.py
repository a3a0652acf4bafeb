"""`culturesim analyse`: tables, phase diagrams and sensitivity indices from a sweep's results.

- `points.csv`: one row per design point with, for every kept measure, the mean over the
  point's successful replicates and a 95% interval for that mean (Student's t).
- Two varied parameters: `phase-diagram.png`, a heatmap of bullying prevalence with the contour
  where the cascade reproduction number R crosses 1 (drawn for reference: R = 1 is not where a
  trust tips), and `lines.png`, one line per level of the second parameter. One varied
  parameter: `lines.png`, key measures with their 95% intervals.
- Two varied parameters crossed with `shock.weeks` (a two-start design,
  culturesim.batch.hysteresis): `tipping.csv` and `phase-diagram.png` with the region where two
  states coexist (the endemic state, once started by the shock, persists), with intervals over
  replicates.
- Sobol designs: `sobol.csv` and `sobol.png`, first-order and total indices with 95% confidence
  intervals (SALib, bootstrap). Morris designs: `morris.csv` and `morris.png`, mu* and sigma.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from culturesim.batch import hysteresis
from culturesim.batch.analysis_report import (
    KEY_MEASURES,
    PREVALENCE,
    REPRODUCTION,
    AnalysisReport,
    measure_label,
    save_csv,
    save_figure,
)
from culturesim.batch.intervals import (
    mean_interval,
    possible_values,
)
from culturesim.batch.sensitivity import morris_indices, sobol_indices
from culturesim.batch.store import ResultStore, load_results
from culturesim.errors import SweepError


def _level(value: object) -> str:
    """A design level as a legend shows it: 26, not 26.0 (the design table stores floats)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)


def point_table(
    runs: pd.DataFrame, design: pd.DataFrame, paths: list[str], measures: list[str]
) -> pd.DataFrame:
    """One row per design point: its parameters, runs ok and failed, and each measure's mean
    with a 95% interval over the successful replicates."""
    rows = []
    by_point = {point: group for point, group in runs.groupby("point")}
    for _, point in design.iterrows():
        group = by_point.get(point["point"], runs.iloc[:0])
        ok = group[group["status"] == "ok"]
        row = {"point": int(point["point"])} | {path: point[path] for path in paths}
        row |= {"runs_ok": len(ok), "runs_failed": int((group["status"] != "ok").sum())}
        for measure in measures:
            mean, low, high = mean_interval(ok[measure].to_numpy(), within=possible_values(measure))
            row |= {f"{measure}_mean": mean, f"{measure}_ci_low": low, f"{measure}_ci_high": high}
        rows.append(row)
    return pd.DataFrame(rows)


def analyse(results: str | Path, out: str | Path | None = None) -> AnalysisReport:
    """Analyse a sweep's results folder; figures and tables go to `out` (RESULTS/analysis)."""
    results = Path(results)
    manifest = ResultStore(results).manifest()
    out = Path(out) if out is not None else results / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    report = AnalysisReport(out)

    runs = load_results(results)
    design = load_results(results, "design")
    paths = manifest.paths
    measures = list(manifest.measures or [])
    if runs.empty:
        raise SweepError(f"{results}: no runs finished yet; nothing to analyse")
    failed = int((runs["status"] != "ok").sum())
    total = manifest.design.runs
    report.notes.append(
        f"{manifest.experiment.name}: {len(runs)}/{total} runs, {failed} failed; "
        f"{manifest.design.kind} design over {', '.join(paths)}"
    )
    if len(runs) < total:
        report.notes.append(f"warning: {total - len(runs)} runs missing; finish with --resume")

    table = point_table(runs, design, paths, measures)
    save_csv(table, out / "points.csv", report)

    kind = manifest.design.kind
    numeric = [
        p
        for p in paths
        if pd.api.types.is_numeric_dtype(design[p]) and not pd.api.types.is_bool_dtype(design[p])
    ]
    if hysteresis.SHOCK_PATH in paths and len(paths) == 3 and kind == "grid":
        _tipping_diagram(runs, paths, measures, out, report)
    elif len(paths) == 2:
        _phase_diagram(table, paths, measures, kind, out, report)
        if kind == "grid":
            _lines(table, paths, measures, out, report)
    elif len(paths) == 1 and numeric:
        _lines(table, paths, measures, out, report)
    if kind == "sobol":
        sobol_indices(table, manifest, paths, measures, out, report)
    if kind == "morris":
        morris_indices(table, design, manifest, paths, measures, out, report)
    return report


def _first(candidates: tuple[str, ...], measures: list[str]) -> str | None:
    return next((m for m in candidates if m in measures), None)


def _axis(values: pd.Series) -> tuple[np.ndarray, list | None]:
    """Positions for a parameter's levels, and tick labels when they are not numbers."""
    levels = list(dict.fromkeys(values))
    if all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in levels):
        return np.array(sorted(levels), dtype=float), None
    return np.arange(len(levels), dtype=float), [str(v) for v in levels]


def _phase_diagram(
    table: pd.DataFrame,
    paths: list[str],
    measures: list[str],
    kind: str,
    out: Path,
    report: AnalysisReport,
) -> None:
    """Bullying prevalence over two parameters, with the contour where R crosses 1."""
    from matplotlib.figure import Figure

    prevalence = _first(PREVALENCE, measures)
    if prevalence is None:
        report.notes.append("no phase diagram: no bullying prevalence measure was kept")
        return
    x_path, y_path = paths
    figure = Figure(figsize=(7, 5.5), layout="constrained")
    axes = figure.subplots()
    if kind == "grid":
        xs, x_labels = _axis(table[x_path])
        ys, y_labels = _axis(table[y_path])
        x_index = {
            v: i
            for i, v in enumerate(
                sorted(set(table[x_path])) if x_labels is None else dict.fromkeys(table[x_path])
            )
        }
        y_index = {
            v: i
            for i, v in enumerate(
                sorted(set(table[y_path])) if y_labels is None else dict.fromkeys(table[y_path])
            )
        }
        grid = np.full((len(ys), len(xs)), np.nan)
        r_grid = np.full_like(grid, np.nan)
        for _, row in table.iterrows():
            i, j = y_index[row[y_path]], x_index[row[x_path]]
            grid[i, j] = row[f"{prevalence}_mean"]
            if REPRODUCTION in measures:
                r_grid[i, j] = row[f"{REPRODUCTION}_mean"]
        mesh = axes.pcolormesh(xs, ys, grid, shading="nearest", cmap="magma_r")
        if REPRODUCTION in measures and _crosses_one(r_grid):
            lines = axes.contour(xs, ys, r_grid, levels=[1.0], colors="cyan", linewidths=2)
            axes.clabel(lines, fmt="R = 1")
        elif REPRODUCTION in measures:
            report.notes.append(_no_contour(r_grid))
        if x_labels:
            axes.set_xticks(xs, x_labels)
        if y_labels:
            axes.set_yticks(ys, y_labels)
    else:
        x = table[x_path].to_numpy(dtype=float)
        y = table[y_path].to_numpy(dtype=float)
        z = table[f"{prevalence}_mean"].to_numpy()
        keep = ~np.isnan(z)
        mesh = axes.tricontourf(x[keep], y[keep], z[keep], levels=12, cmap="magma_r")
        axes.plot(x, y, "k.", markersize=2)
        if REPRODUCTION in measures:
            r = table[f"{REPRODUCTION}_mean"].to_numpy()
            ok = ~np.isnan(r)
            if ok.sum() >= 3 and _crosses_one(r):
                lines = axes.tricontour(x[ok], y[ok], r[ok], levels=[1.0], colors="cyan")
                axes.clabel(lines, fmt="R = 1")
            elif _crosses_one(r):
                report.notes.append(f"no R = 1 contour: R is defined at only {ok.sum()} points")
            else:
                report.notes.append(_no_contour(r))
    figure.colorbar(mesh, ax=axes, label=measure_label(prevalence))
    axes.set_xlabel(x_path)
    axes.set_ylabel(y_path)
    axes.set_title("Bullying prevalence (mean over replicates); cyan: R = 1 (not a tipping line)")
    save_figure(figure, out / "phase-diagram.png", report)


def _crosses_one(r: np.ndarray) -> bool:
    defined = r[~np.isnan(r)]
    return defined.size > 0 and defined.min() < 1 < defined.max()


def _no_contour(r: np.ndarray) -> str:
    """Why the phase diagram has no R = 1 contour."""
    undefined = int(np.isnan(r).sum())
    why = (
        "no perpetrator episode began at least the conversion window "
        "(cascades.conversion_window_weeks) before the run's end; longer runs give it"
    )
    if undefined == r.size:
        return f"R is undefined at every point ({why}): no R = 1 contour"
    side = "below" if np.nanmax(r) <= 1 else "above"
    if undefined == 0:
        where = "over the whole design"
    else:
        where = f"where defined ({undefined} of {r.size} points undefined: {why})"
    return f"R stays {side} 1 {where}: no R = 1 contour"


def _tipping_diagram(
    runs: pd.DataFrame, paths: list[str], measures: list[str], out: Path, report: AnalysisReport
) -> None:
    """Prevalence from the ordinary start, with the region where the shocked start stays
    endemic (two stable states) circled; `tipping.csv` has both starts and the gap per point."""
    from matplotlib.figure import Figure

    state = hysteresis.STATE
    others = [p for p in paths if p != hysteresis.SHOCK_PATH]
    x_path, y_path = others
    if state not in measures:
        report.notes.append(f"no tipping diagram: {state} was not kept")
        return
    table = hysteresis.bistability(runs, paths, state)
    save_csv(table, out / "tipping.csv", report)
    prevalence = _first(PREVALENCE, measures)
    if prevalence is not None:
        ordinary = runs[(runs["status"] == "ok") & (runs[hysteresis.SHOCK_PATH] == 0)]
        shade = ordinary.groupby(others)[prevalence].mean()
    else:
        shade = table.set_index(others)["low_start_mean"]
    xs = np.array(sorted(set(table[x_path])), dtype=float)
    ys = np.array(sorted(set(table[y_path])), dtype=float)
    low = np.full((len(ys), len(xs)), np.nan)
    bistable = np.zeros_like(low)
    for _, row in table.iterrows():
        i, j = np.searchsorted(ys, row[y_path]), np.searchsorted(xs, row[x_path])
        low[i, j] = shade[(row[x_path], row[y_path])]
        bistable[i, j] = float(row["bistable"])
    figure = Figure(figsize=(7, 5.5), layout="constrained")
    axes = figure.subplots()
    mesh = axes.pcolormesh(xs, ys, low, shading="nearest", cmap="magma_r")
    shown = prevalence if prevalence is not None else state
    figure.colorbar(mesh, ax=axes, label=f"{measure_label(shown)} (ordinary start)")
    points = int(bistable.sum())
    if points:
        i, j = np.nonzero(bistable)
        axes.scatter(xs[j], ys[i], s=90, facecolors="none", edgecolors="cyan", linewidths=2,
                     label="two states coexist")  # fmt: skip
        if 0 < points < bistable.size and len(xs) > 1 and len(ys) > 1:
            axes.contour(xs, ys, bistable, levels=[0.5], colors="cyan", linewidths=1)
        axes.legend(loc="upper right", fontsize=8)
    report.notes.append(
        f"tipping: two states coexist at {points} of {bistable.size} points (most runs from the "
        f"ordinary start end low, most shocked runs end endemic: {state} > {hysteresis.ENDEMIC})"
        if points
        else "tipping: no point where two states coexist (nowhere do most shocked runs stay "
        "endemic while most ordinary runs stay low)"
    )
    axes.set_xlabel(x_path)
    axes.set_ylabel(y_path)
    axes.set_title("Bullying prevalence; circles: bistable (endemic state persists after shock)")
    save_figure(figure, out / "phase-diagram.png", report)


def _lines(
    table: pd.DataFrame, paths: list[str], measures: list[str], out: Path, report: AnalysisReport
) -> None:
    """Key measures against the first parameter, with 95% intervals; one line per level of the
    second parameter, if there is one."""
    from matplotlib.figure import Figure

    shown = [m for m in KEY_MEASURES if m in measures][:6] or measures[:6]
    if not shown:
        return
    x_path = paths[0]
    series = [(None, table)]
    if len(paths) == 2:
        levels = list(dict.fromkeys(table[paths[1]]))
        if len(levels) > 8:
            levels = levels[:: int(np.ceil(len(levels) / 8))]
        series = [(level, table[table[paths[1]] == level]) for level in levels]
    columns = min(3, len(shown))
    rows = int(np.ceil(len(shown) / columns))
    figure = Figure(figsize=(4.2 * columns, 3.3 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis, measure in zip(axes.flat, shown, strict=False):
        for level, part in series:
            part = part.sort_values(x_path)
            x = part[x_path].astype(str) if part[x_path].dtype == object else part[x_path]
            label = None if level is None else f"{paths[1].split('.')[-1]} = {_level(level)}"
            (line,) = axis.plot(x, part[f"{measure}_mean"], marker="o", markersize=3, label=label)
            axis.fill_between(
                x,
                part[f"{measure}_ci_low"],
                part[f"{measure}_ci_high"],
                color=line.get_color(),
                alpha=0.2,
                linewidth=0,
            )
        if measure == REPRODUCTION:
            axis.axhline(1.0, color="grey", linestyle="--", linewidth=1)
        axis.set_title(measure_label(measure), fontsize=10)
        axis.set_xlabel(x_path, fontsize=8)
    for axis in list(axes.flat)[len(shown) :]:
        axis.set_visible(False)
    if len(paths) == 2:
        axes.flat[0].legend(fontsize=7)
    figure.suptitle("Mean over replicates with 95% intervals")
    save_figure(figure, out / "lines.png", report)
