"""Sensitivity indices of a sweep's measures: Sobol first-order and total indices (Saltelli's
scheme, SALib, bootstrap intervals) and Morris elementary effects (mu*, sigma), each as a table
and a bar figure, written by `culturesim analyse` for Sobol and Morris designs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from culturesim.batch.analysis_report import (
    KEY_MEASURES,
    AnalysisReport,
    measure_label,
    save_csv,
    save_figure,
)
from culturesim.batch.designs import salib_problem
from culturesim.batch.intervals import mean_interval  # noqa: F401 (re-exported)
from culturesim.batch.store import Manifest


def index_rows(measure: str, paths: list[str], indices: dict, names: tuple[str, ...]) -> list:
    """One row per varied parameter with the named SALib indices for one measure."""
    return [
        {"measure": measure, "parameter": path} | {name: indices[name][i] for name in names}
        for i, path in enumerate(paths)
    ]


def _complete_measures(
    method: str, table: pd.DataFrame, measures: list[str], report: AnalysisReport
) -> Iterator[tuple[str, np.ndarray]]:
    """Each measure with its replicate mean at every design point, in point order; a measure
    missing at some point (no successful run there) is skipped with a note."""
    for measure in measures:
        y = table.sort_values("point")[f"{measure}_mean"].to_numpy(dtype=float)
        if np.isnan(y).any():
            report.notes.append(
                f"{method}: {measure} skipped ({np.isnan(y).sum()} points have no successful run)"
            )
            continue
        yield measure, y


def sobol_indices(
    table: pd.DataFrame,
    manifest: Manifest,
    paths: list[str],
    measures: list[str],
    out: Path,
    report: AnalysisReport,
) -> None:
    """First-order and total Sobol indices (SALib) of each measure's replicate mean."""
    from SALib.analyze import sobol

    second = manifest.experiment.design.second_order
    problem = salib_problem(paths)
    rows = []
    for measure, y in _complete_measures("sobol", table, measures, report):
        if np.ptp(y) == 0:
            report.notes.append(f"sobol: {measure} skipped (the same at every point)")
            continue
        indices = sobol.analyze(
            problem,
            y,
            calc_second_order=second,
            conf_level=0.95,
            seed=manifest.design.seed % 2**32,
        )
        rows += index_rows(measure, paths, indices, ("S1", "S1_conf", "ST", "ST_conf"))
    if not rows:
        return
    frame = pd.DataFrame(rows)
    save_csv(frame, out / "sobol.csv", report)
    _index_bars(
        frame,
        measures,
        ("S1", "ST"),
        ("first order", "total"),
        "Sobol indices with 95% intervals",
        out / "sobol.png",
        report,
    )


def morris_indices(
    table: pd.DataFrame,
    design: pd.DataFrame,
    manifest: Manifest,
    paths: list[str],
    measures: list[str],
    out: Path,
    report: AnalysisReport,
) -> None:
    """Morris elementary effects (SALib): mu* (importance) and sigma (interaction/non-linearity),
    in units of the measure per whole range of each parameter."""
    from SALib.analyze import morris

    problem = salib_problem(paths)
    x = design.sort_values("point")[[f"u.{p}" for p in paths]].to_numpy(dtype=float)
    levels = manifest.experiment.design.levels
    rows = []
    for measure, y in _complete_measures("morris", table, measures, report):
        indices = morris.analyze(
            problem,
            x,
            y,
            conf_level=0.95,
            num_levels=levels,
            seed=manifest.design.seed % 2**32,
        )
        rows += index_rows(measure, paths, indices, ("mu", "mu_star", "mu_star_conf", "sigma"))
    if not rows:
        return
    frame = pd.DataFrame(rows)
    save_csv(frame, out / "morris.csv", report)

    from matplotlib.figure import Figure

    shown = _two_shown(frame)
    figure = Figure(figsize=(5.5 * len(shown), 4.5), layout="constrained")
    axes = figure.subplots(1, len(shown), squeeze=False)
    for axis, measure in zip(axes.flat, shown, strict=True):
        part = frame[frame.measure == measure]
        axis.errorbar(part.mu_star, part.sigma, xerr=part.mu_star_conf, fmt="o")
        for _, row in part.iterrows():
            axis.annotate(
                row.parameter,
                (row.mu_star, row.sigma),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        axis.set_xlabel("mu* (mean |elementary effect|)")
        axis.set_ylabel("sigma")
        axis.set_title(measure_label(measure), fontsize=10)
    save_figure(figure, out / "morris.png", report)


def _two_shown(frame: pd.DataFrame) -> list[str]:
    """The (at most) two measures an index figure shows: key measures first."""
    kept = list(dict.fromkeys(frame.measure))
    return [m for m in KEY_MEASURES if m in kept][:2] or kept[:2]


def _index_bars(
    frame: pd.DataFrame,
    measures: list[str],
    keys: tuple[str, str],
    names: tuple[str, str],
    title: str,
    path: Path,
    report: AnalysisReport,
) -> None:
    from matplotlib.figure import Figure

    shown = _two_shown(frame)
    figure = Figure(figsize=(6 * len(shown), 4.5), layout="constrained")
    axes = figure.subplots(1, len(shown), squeeze=False)
    for axis, measure in zip(axes.flat, shown, strict=True):
        part = frame[frame.measure == measure]
        positions = np.arange(len(part))
        for offset, key, name in ((-0.2, keys[0], names[0]), (0.2, keys[1], names[1])):
            axis.bar(
                positions + offset,
                part[key],
                width=0.4,
                yerr=part[f"{key}_conf"],
                capsize=2,
                label=name,
            )
        axis.set_xticks(
            positions,
            [p.split(".", 1)[-1] for p in part.parameter],
            rotation=45,
            ha="right",
            fontsize=7,
        )
        axis.set_title(measure_label(measure), fontsize=10)
        axis.legend(fontsize=8)
    figure.suptitle(title)
    save_figure(figure, path, report)
