"""Check the model against the envelope of plausible values over the bundled experiments' ranges.

Run:  python experiments/envelope.py [--levels 5] [--replicates 2] [--staff 1000] [--steps 156]
                                     [--samples 24] [--workers 2] [--out experiments/envelope]

Each bundled experiment (experiments/*.toml) is swept with `culturesim.sweep` over the full
range of every parameter it varies, reduced in size: a grid parameter gets `--levels` evenly
spaced levels over its range, a list of values is thinned to `--levels` values (ends kept), a
Sobol or Morris design becomes a Latin hypercube of `--samples` points over the same ranges;
`--replicates` seeds per point with common random numbers (replicate r has the same seed at
every point), trusts of `--staff` posts run for `--steps` weeks after the burn-in. For the
record, the pressure-funding grid is also swept over the ranges it had before they were narrowed
(FORMER_RANGES; docs/ODD.md 8.1 says why).

Every point's replicate mean of each measure is compared with the envelope
(`culturesim.batch.envelope.ENVELOPE`; the sources are in docs/ODD.md 8.1). Harm is reported as
its excess over the bundled baseline trust run with the same seeds and size, (1 - Q) / (1 - Q_b)
(ODD 7.10), against the worst trusts' mortality ratios; it is not enforced (the harm submodel is
not calibrated). Monotonicity: at each pressure level, bullying by staff at one funding level
minus that at the next higher level, paired by seed; a step is a violation when it is below
-(TOLERANCE + 3 SE).

Writes OUT/envelope.md (the tables) and OUT/envelope.png (the pressure-funding grid against the
envelope); OUT/results/ holds the sweeps' result folders (not committed).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from culturesim import load_results, load_scenario, simulate, sweep  # noqa: E402
from culturesim.batch.envelope import (
    BOUNDS,
    ENVELOPE,
    funding_rises,
    outside,
)
from culturesim.batch.envelope import MONOTONE_TOLERANCE as TOLERANCE  # noqa: E402
from culturesim.batch.experiment import Experiment, experiment_from_table  # noqa: E402
from culturesim.engine.scenario import read_toml  # noqa: E402
from culturesim.files import git_commit  # noqa: E402

HERE = Path(__file__).resolve().parent
EXPERIMENTS = ("pressure-funding", "leadership-programme", "sensitivity")
PRESSURE, FUNDING = "drivers.regulator_pressure.value", "drivers.funding.value"
FORMER_RANGES = {PRESSURE: [0.0, 3.0], FUNDING: [0.6, 1.4]}
"""The pressure-funding experiment's ranges before they were narrowed (ODD 8.1)."""
MEASURES = [
    "bullied_by_public",
    "bullied_by_colleagues",
    "bullied_by_managers",
    "bullied_by_staff",
    "leaver_rate",
    "vacancy_rate",
    "care_quality",
    "mean_strain",
    "agency_share",
    "special_measures_years",
]


def thin(values: list, levels: int) -> list:
    """`levels` of the values, evenly spaced, the first and last kept."""
    if len(values) <= levels:
        return values
    return [values[int(i)] for i in np.linspace(0, len(values) - 1, levels).round()]


def reduced(name: str, args: argparse.Namespace, ranges: dict | None = None) -> Experiment:
    """A bundled experiment over its full ranges, at the reduced size of `args`."""
    path = HERE / f"{name}.toml"
    raw = copy.deepcopy(read_toml(path))
    raw["name"] = name if ranges is None else f"{name}-former-ranges"
    raw["replicates"] = args.replicates
    raw["common_random_numbers"] = True
    scenario = raw.setdefault("scenario", {})
    scenario.setdefault("run", {})["steps"] = args.steps
    scenario.setdefault("organisation", {})["staff_per_trust"] = args.staff
    grid = raw["design"]["kind"] == "grid"
    for parameter in raw["parameters"]:
        if ranges and parameter["path"] in ranges:
            parameter["range"] = ranges[parameter["path"]]
        if "values" in parameter:
            parameter["values"] = thin(parameter["values"], args.levels)
        elif grid:
            parameter["levels"] = args.levels
    if not grid:
        raw["design"] = {"kind": "lhs", "samples": args.samples}
    raw["outputs"] = {"summary": MEASURES}
    return experiment_from_table(raw, str(path), path.parent)


def reference_quality(args: argparse.Namespace, seeds: list[int]) -> float:
    """Mean care quality of the bundled baseline trust at the same size, steps and seeds."""
    base = load_scenario("baseline").with_overrides(
        {
            "run.steps": args.steps,
            "organisation.staff_per_trust": args.staff,
            "run.figures": False,
            "run.record_events": False,
        }
    )
    return float(np.mean([simulate(base, seed=seed).summary["care_quality"] for seed in seeds]))


def run_experiment(experiment: Experiment, args: argparse.Namespace) -> pd.DataFrame:
    out = args.out / "results" / experiment.name
    if out.exists():
        shutil.rmtree(out)
    report = sweep(experiment, out, workers=args.workers, progress=False)
    print(report.line(), flush=True)
    runs = load_results(out)
    failed = runs[runs.status != "ok"]
    if len(failed):
        raise SystemExit(f"{experiment.name}: {len(failed)} runs failed: {failed.error.iloc[0]}")
    return runs


def fmt(value: float) -> str:
    return f"{value:.3f}"


def experiment_rows(name: str, points: pd.DataFrame, factors: list[str]) -> list[str]:
    lines = []
    for bound in ENVELOPE:
        values = points[bound.measure]
        out = outside(points, (bound.measure,))
        flag = "" if bound.enforced else " (not enforced)"
        lines.append(
            f"| {name} | `{bound.measure}`{flag} | {fmt(values.min())}-{fmt(values.max())} | "
            f"{bound.low:g}-{bound.high:g} | {len(out)} of {len(points)} |"
        )
    return lines


def outside_rows(name: str, points: pd.DataFrame, factors: list[str]) -> list[str]:
    out = outside(points, tuple(b.measure for b in ENVELOPE))
    rows = []
    for _, row in out.iterrows():
        where = ", ".join(f"{f.split('.')[-2] if f.endswith('.value') else f} {row[f]:.3g}"
                          for f in factors)  # fmt: skip
        rows.append(f"| {name} | {where} | `{row.measure}` | {fmt(row[row.measure])} |")
    return rows


def figure(points: pd.DataFrame, former: pd.DataFrame, path: Path) -> None:
    """Each enveloped measure against funding, a line per pressure level, bounds dashed."""
    shown = [b for b in ENVELOPE if b.measure != "bullied_by_public"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), sharex=True)
    for ax, bound in zip(axes.flat, shown, strict=True):
        for frame, style, label in ((former, ":", "former range"), (points, "-", "")):
            for pressure, group in frame.groupby(PRESSURE):
                group = group.sort_values(FUNDING)
                colour = plt.cm.viridis(pressure / 3.0)
                ax.plot(
                    group[FUNDING],
                    group[bound.measure],
                    style,
                    color=colour,
                    marker="o" if style == "-" else None,
                    ms=3,
                    label=f"pressure {pressure:g}" + (f" ({label})" if label else ""),
                )
        ax.axhline(bound.high, color="crimson", ls="--", lw=1)
        ax.axhline(bound.low, color="crimson", ls="--", lw=1)
        ax.axvspan(min(FORMER_RANGES[FUNDING]), points[FUNDING].min(), color="0.92", zorder=0)
        ax.set_title(f"{bound.measure}" + ("" if bound.enforced else " (not enforced)"))
        ax.set_xlabel("funding relative to demand")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    keep = [i for i, text in enumerate(labels) if "former" not in text]
    axes.flat[0].legend([handles[i] for i in keep], [labels[i] for i in keep], fontsize=7)
    fig.suptitle(
        "pressure-funding against the envelope (dashed); solid: the experiment's ranges, dotted: "
        "its former ranges (grey: funding below the narrowed range)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--replicates", type=int, default=2)
    parser.add_argument("--staff", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=156)
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "envelope")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    tables, beyond, all_points = [], [], {}
    for name, ranges in [(n, None) for n in EXPERIMENTS] + [("pressure-funding", FORMER_RANGES)]:
        experiment = reduced(name, args, ranges)
        runs = run_experiment(experiment, args)
        factors = [m.path for m in experiment.maps]
        seeds = sorted(runs.seed.unique().tolist())
        quality = reference_quality(args, seeds)
        runs["harm_excess"] = (1 - runs.care_quality) / (1 - quality)
        points = runs.groupby(factors, as_index=False)[[*MEASURES, "harm_excess"]].mean()
        all_points[experiment.name] = (runs, points, factors)
        tables += experiment_rows(experiment.name, points, factors)
        beyond += outside_rows(experiment.name, points, factors)

    runs, points, _ = all_points["pressure-funding"]
    steps = funding_rises(runs, "bullied_by_staff", FUNDING, [PRESSURE])
    steps["violation"] = steps.change < -(TOLERANCE + 3 * steps.se.fillna(0))
    former_runs, former_points, _ = all_points["pressure-funding-former-ranges"]
    former_steps = funding_rises(former_runs, "bullied_by_staff", FUNDING, [PRESSURE])
    former_steps["violation"] = former_steps.change < -(TOLERANCE + 3 * former_steps.se.fillna(0))
    figure(points, former_points, args.out / "envelope.png")

    seconds = time.time() - started
    lines = [
        "# The model against the envelope of plausible values",
        "",
        f"Made by `python experiments/envelope.py --levels {args.levels} --replicates "
        f"{args.replicates} --staff {args.staff} --steps {args.steps} --samples {args.samples}` "
        f"on {datetime.now(UTC):%Y-%m-%d} (model at commit {git_commit() or 'unknown'}) in "
        f"{seconds / 60:.1f} minutes. Each bundled experiment over the full range of every "
        f"parameter it varies ({args.levels} levels a grid parameter, a Latin hypercube of "
        f"{args.samples} points for a Sobol design), {args.replicates} seeds a point with common "
        f"random numbers, trusts of {args.staff} posts, {args.steps} weeks after the burn-in; "
        "values are replicate means per design point. The envelope and its sources: "
        "docs/ODD.md 8.1; the method: the script's docstring.",
        "",
        "## Every output against the envelope",
        "",
        "| experiment | measure | range over points | envelope | points outside |",
        "|---|---|---|---|---|",
        *tables,
        "",
        "## Points outside the envelope",
        "",
    ]
    lines += (
        ["| experiment | point | measure | value |", "|---|---|---|---|", *beyond]
        if beyond
        else ["None."]
    )
    for title, table in (
        ("the experiment's ranges", steps),
        ("its former ranges", former_steps),
    ):
        lines += [
            "",
            f"## Bullying by staff as funding falls, pressure-funding over {title}",
            "",
            "Paired by seed: bullying by staff at the lower funding level minus at the higher "
            f"(a fall below -({TOLERANCE:g} + 3 SE) is a violation of monotonicity).",
            "",
            "| pressure | funding | change | SE | violation |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r[PRESSURE]:g} | {r.funding_from:g} to {r.funding_to:g} | {r.change:+.3f} | "
            f"{r.se:.3f} | {'**yes**' if r.violation else 'no'} |"
            for _, r in table.iterrows()
        ]
    lines += [
        "",
        f"Violations over the experiment's ranges: {int(steps.violation.sum())} of {len(steps)}; "
        f"over the former ranges: {int(former_steps.violation.sum())} of {len(former_steps)}.",
        "",
        "![pressure-funding against the envelope](envelope.png)",
        "",
    ]
    (args.out / "envelope.md").write_text("\n".join(lines))
    print(f"wrote {args.out}/envelope.md and envelope.png in {seconds / 60:.1f} min")
    print(f"bounds: {', '.join(BOUNDS)}")


if __name__ == "__main__":
    main()
