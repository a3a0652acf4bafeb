"""Global sensitivity screening: Morris over every non-structural parameter, then Sobol over the
strongest, on the headline outcomes, through culturesim's own sweep engine.

    python experiments/screen.py --stage morris --trajectories 20          # ~ T x (D + 1) runs
    python experiments/screen.py --stage sobol --top 15 --samples 128      # N x (K + 2) runs
    python experiments/screen.py --stage report                           # screening.md again
    python experiments/screen.py --stage all --small                      # the committed run

Each stage writes its experiment file (experiments/screening/morris.toml, sobol.toml), sweeps
it into results/screening-<stage> (an interrupted stage is resumed by running it again: the
sweep engine's --resume), analyses it with `culturesim analyse` into
experiments/screening/<stage>/ (morris.csv / sobol.csv and figures) and rewrites
experiments/screening/screening.md. `--scheduler tcp://HOST:8786` runs on a Dask cluster.

Which parameters: every numeric parameter of the scenario schema except the organisation's
structure (trusts, their size and spread, spans of control), the measurement definitions
(`observation.*`, the conversion window), the run settings, the drivers and the regulator's
stance (the scenario's levers, studied by experiments/sensitivity.toml). Each is varied over
its default x [0.5, 1.5] (default +- 1 for logits and other parameters with a negative
default), within its allowed range.

Ranking: each Morris point runs `--replicates` seeds with common random numbers (replicate r
has the same seed at every point, so an elementary effect compares two runs of one seed and
seed noise largely cancels); the replicates' spread of a parameter's steps gives its own noise
floor per outcome (the 95% quantile of the mu* seed noise alone would give it). A parameter's
score is the largest, over the headline outcomes, of its mu* above its floor divided by the
largest such mu* for that outcome.
Sobol (Saltelli) then takes the `--top` highest; its points share seeds the same way.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w

from culturesim import sweep
from culturesim.batch.analysis import analyse
from culturesim.engine.measures import SUMMARY_MEASURES
from culturesim.engine.scenario import Scenario, iter_parameters, parameter_bounds
from culturesim.files import git_commit

HERE = Path(__file__).resolve().parent
SCREENING = HERE / "screening"
RESULTS = HERE.parent / "results"
SEED = 20261128
STRUCTURAL = (
    "run.",
    "name",
    "question",
    "organisation.trusts",
    "organisation.staff_per_trust",
    "organisation.trust_size_spread",
    "organisation.spans_of_control",
    "observation.",
    "cascades.conversion_window_weeks",
    "drivers.",
    "regulator.stance",
)
OUTCOMES = [
    m
    for m in (
        "bullied_by_public",
        "bullied_by_colleagues",
        "bullied_by_managers",
        "bullied_by_staff",
        "persistent_bullied",
        "mean_strain",
        "compassion_climate",
        "leaver_rate",
        "vacancy_rate",
        "care_quality",
        "harm_per_1000_staff_year",
        "harm_ratio",
        "reproduction_number",
    )
    if m in SUMMARY_MEASURES
]
"""Screened outcomes. Not chief-executive exits: a trust has one chief executive, so a run sees
0-3 exits, too few for elementary effects (tenure is fitted on four trusts, experiments/fit.py)."""
SIZES = {
    "full": {"organisation.staff_per_trust": 1000, "run.steps": 156},
    "small": {"organisation.staff_per_trust": 400, "run.steps": 104, "run.burn_in_weeks": 26},
}


def screened_parameters() -> dict[str, tuple[float, float]]:
    """Every non-structural numeric parameter with its screening range."""
    defaults = Scenario().model_dump(mode="python")
    ranges = {}
    for path, info in iter_parameters():
        if path.startswith(STRUCTURAL) and path != "run.burn_in_weeks":
            continue
        value = defaults
        for part in path.split("."):
            value = value[part]
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        low, high = parameter_bounds(info)
        low = -np.inf if low is None else low
        high = np.inf if high is None else high
        if value < 0 or "logit" in path:
            span = (value - 1.0, value + 1.0)
        elif value == 0:
            continue  # a mechanism switched off by default: screened by its own experiment
        else:
            span = (0.5 * value, 1.5 * value)
        start, end = max(span[0], low), min(span[1], high)
        if isinstance(value, int):
            start, end = int(np.ceil(start)), int(np.floor(end))
        if start < end:
            ranges[path] = (start, end)
    return ranges


def nested(changes: dict) -> dict:
    """{'a.b': 1} as {'a': {'b': 1}}: the partial scenario an experiment's [scenario] holds."""
    table: dict = {}
    for path, value in changes.items():
        *parents, last = path.split(".")
        inner = table
        for part in parents:
            inner = inner.setdefault(part, {})
        inner[last] = value
    return table


def experiment_file(
    stage: str, parameters: dict, design: dict, size: str, replicates: int = 1
) -> Path:
    table = {
        "name": f"screening-{stage}",
        "question": f"Which parameters do the headline outcomes hang on? ({stage} screening)",
        "base": "baseline",
        "seed": SEED,
        "replicates": replicates,
        "common_random_numbers": True,
        "scenario": nested(SIZES[size]),
        "parameters": [
            {"path": p, "range": [_round(lo), _round(hi)]} for p, (lo, hi) in parameters.items()
        ],
        "design": design,
        "outputs": {"summary": OUTCOMES},
    }
    SCREENING.mkdir(parents=True, exist_ok=True)
    path = SCREENING / f"{stage}.toml"
    header = (
        "# Generated by experiments/screen.py (do not edit: rerun the script).\n"
        f"# Sizes: {size} ({', '.join(f'{k} = {v}' for k, v in SIZES[size].items())}).\n"
    )
    path.write_text(header + tomli_w.dumps(table))
    return path


def run_stage(stage: str, path: Path, args: argparse.Namespace) -> Path:
    out = RESULTS / f"screening-{stage}"
    resume = (out / "manifest.json").is_file() and not args.restart
    report = sweep(
        path,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=resume,
        overwrite=args.restart and out.exists(),
    )
    print(report.line())
    analysis = analyse(out, SCREENING / stage)
    print(analysis.text())
    return out


def noise_floors() -> pd.DataFrame:
    """Per parameter and outcome: the mu* that seed noise alone would give it, at 95%.

    With common random numbers an inert parameter's runs are identical, so noise enters only
    through a parameter's change stirring the random streams, and how much differs by parameter.
    Each parameter's T steps (one per trajectory) give the replicates' spread of the step's
    change in the outcome, sd_p; the replicate-mean elementary effect then carries noise of sd
    sigma_p = sd_p / (sqrt(R) delta) (delta: SALib's step, levels / (2 (levels - 1))). With no
    effect, mu* is the mean of T absolute noises: mean sqrt(2/pi) sigma_p, sd
    sqrt(1 - 2/pi) sigma_p / sqrt(T). The floor is its 95% quantile (normal approximation), so a
    parameter with no effect clears it one time in twenty."""
    from culturesim import load_results

    runs = load_results(RESULTS / "screening-morris")
    outcomes = [m for m in OUTCOMES if m in runs]
    replicates = int(runs.groupby("point").size().min())
    experiment = tomllib.loads((SCREENING / "morris.toml").read_text())
    parameters = [p["path"] for p in experiment["parameters"]]
    if replicates < 2:
        return pd.DataFrame(0.0, index=parameters, columns=outcomes)
    levels = experiment["design"].get("levels", 4)
    delta = levels / (2 * (levels - 1))
    design = pd.read_parquet(RESULTS / "screening-morris" / "design.parquet")
    design = design.set_index("point").sort_index()
    moved = design[parameters].diff().iloc[1:].ne(0)
    owner = moved.idxmax(axis=1).where(moved.sum(axis=1) == 1)  # NaN: a new trajectory
    wide = runs.pivot_table(index="point", columns="replicate", values=outcomes)
    change = wide.reindex(design.index).diff().iloc[1:]
    floors = {}
    for outcome in outcomes:
        spread = change[outcome].var(axis=1, ddof=1).groupby(owner).agg(["mean", "count"])
        sigma = np.sqrt(spread["mean"] / replicates) / delta
        tail = 1.645 * np.sqrt(1 - 2 / np.pi) / np.sqrt(spread["count"])
        floors[outcome] = sigma * (np.sqrt(2 / np.pi) + tail)
    return pd.DataFrame(floors).reindex(parameters).fillna(0.0)


def morris_scores(floors: pd.DataFrame) -> pd.DataFrame:
    """Per parameter and outcome: mu* above the parameter's noise floor (`noise_floors`) over
    the largest such mu* for that outcome; the score is the largest over outcomes (0: within
    seed noise)."""
    table = pd.read_csv(SCREENING / "morris" / "morris.csv")
    table = table[table["measure"].isin(OUTCOMES)]
    table = table.join(floors.stack().rename("floor"), on=["parameter", "measure"])
    table["signal"] = (table["mu_star"] - table["floor"].fillna(0.0)).clip(lower=0)
    largest = table.groupby("measure")["signal"].transform("max")
    table["relative"] = (table["signal"] / largest.where(largest > 0)).fillna(0.0)
    wide = table.pivot(index="parameter", columns="measure", values="relative")
    wide["score"] = wide.max(axis=1)
    return wide.sort_values("score", ascending=False)


def write_report(args: argparse.Namespace) -> Path:
    lines = [
        "# Global sensitivity screening",
        "",
        "Made by `python experiments/screen.py` on the model at commit "
        f"{git_commit() or 'unknown'} (method, parameter ranges and ranking in its docstring). "
        "Runs: the sweep engine "
        "(`culturesim.sweep`) over the generated experiment files beside this one; indices by "
        "SALib through `culturesim analyse`.",
        "",
    ]
    morris = SCREENING / "morris" / "morris.csv"
    if morris.is_file():
        floors = noise_floors()
        scores = morris_scores(floors)
        manifest = pd.read_json(RESULTS / "screening-morris" / "manifest.json", typ="series")
        design = manifest["design"]
        lines += [
            f"## Morris elementary effects: {len(scores)} parameters",
            "",
            f"{design['runs']} runs: {design['points']} points "
            f"({design['points'] // (len(scores) + 1)} trajectories) x {design['replicates']} "
            "replicates; "
            f"sizes: {_sizes('morris')}. Common random numbers: replicate r has the same seed at "
            "every point, so an elementary effect compares two runs of one seed. Each parameter "
            "has its own noise floor per outcome: the 95% quantile of the mu* that seed noise "
            "alone would give it, from the replicates' spread of its steps' changes (a parameter "
            "with no effect clears it one time in twenty); only mu* above it counts. Score: the "
            "largest, over the outcomes, of a parameter's mu* above the floor relative to the "
            "strongest parameter's for that outcome (1 = the strongest for some outcome; 0 = "
            "indistinguishable from seed noise on every outcome). Parameters with a score under "
            "0.05 move no headline outcome by more than 5% of what the strongest one does.",
            "",
            "| rank | parameter | score | strongest on |",
            "|---|---|---|---|",
        ]
        for rank, (name, row) in enumerate(scores.iterrows(), 1):
            strongest = row.drop("score").sort_values(ascending=False)
            top = ", ".join(f"{m} ({v:.2f})" for m, v in strongest.head(3).items())
            lines.append(f"| {rank} | `{name}` | {row['score']:.2f} | {top} |")
        weak = int((scores["score"] < 0.05).sum())
        lines += [
            "",
            f"{weak} of {len(scores)} parameters score under 0.05.",
            "",
            "Noise floors (mu* from seed noise alone; median over parameters, and the range): "
            + ", ".join(
                f"{m} {floors[m].median():.3g} ({floors[m].min():.3g}-{floors[m].max():.3g})"
                for m in floors
            )
            + ".",
            "",
        ]
        lines += ["Figure: `morris/morris.png` (mu* against sigma for two key outcomes).", ""]
    sobol = SCREENING / "sobol" / "sobol.csv"
    if sobol.is_file():
        table = pd.read_csv(sobol)
        lines += [
            "## Sobol indices over the strongest parameters",
            "",
            f"Sizes: {_sizes('sobol')}. First-order (S1) and total (ST) indices with 95% "
            "bootstrap intervals (SALib); ST much above S1 means the parameter acts through "
            "interactions. Intervals wider than the index mean the sample is too small to say.",
            "",
        ]
        for measure, part in table.groupby("measure", sort=False):
            lines += [
                f"**{measure}**",
                "",
                "| parameter | S1 | 95% | ST | 95% |",
                "|---|---|---|---|---|",
            ]
            for row in part.sort_values("ST", ascending=False).itertuples():
                lines.append(
                    f"| `{row.parameter}` | {row.S1:.3f} | +-{row.S1_conf:.3f} | {row.ST:.3f} | "
                    f"+-{row.ST_conf:.3f} |"
                )
            lines.append("")
        lines += ["Figure: `sobol/sobol.png`.", ""]
    lines += _speed()
    path = SCREENING / "screening.md"
    path.write_text("\n".join(lines))
    print(f"wrote {path}")
    return path


def _speed() -> list[str]:
    """Runs, wall time here, and the projection to a 16-worker Dask cluster, per stage."""
    from culturesim import load_results

    rows = []
    for stage in ("morris", "sobol"):
        folder = RESULTS / f"screening-{stage}"
        if not (folder / "manifest.json").is_file():
            continue
        runs = load_results(folder)
        busy = float(runs["wall_time_s"].sum())
        manifest = pd.read_json(folder / "manifest.json", typ="series")
        wall = sum(
            (pd.Timestamp(s["finished"]) - pd.Timestamp(s["started"])).total_seconds()
            for s in manifest["sessions"]
            if s.get("finished")
        )
        rows.append(
            f"| {stage} | {len(runs)} | {wall / 60:.1f} min | {busy / len(runs):.2f} s | "
            f"{busy / 16 / 60:.1f} min |"
        )
    if not rows:
        return []
    return [
        "## Speed",
        "",
        "| stage | runs | wall time here (2 shared cores) | run time per run | projected on "
        "16 Dask workers |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "Projection: the sum of the runs' own times / 16 (the sweep keeps every worker busy).",
        "",
    ]


def _sizes(stage: str) -> str:
    text = (SCREENING / f"{stage}.toml").read_text().splitlines()[1]
    return text.removeprefix("# Sizes: ").rstrip(".")


def _round(value: float) -> float | int:
    return value if isinstance(value, int) else float(f"{value:.6g}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=["morris", "sobol", "report", "all"], default="all")
    parser.add_argument("--trajectories", type=int, default=20, help="Morris trajectories")
    parser.add_argument(
        "--replicates", type=int, default=2, help="Morris runs per point (>= 2: noise floor)"
    )
    parser.add_argument("--top", type=int, default=15, help="parameters taken to Sobol")
    parser.add_argument("--samples", type=int, default=128, help="Sobol base sample N (2^k)")
    parser.add_argument("--small", action="store_true", help="small, short runs")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scheduler", help="a Dask scheduler address")
    parser.add_argument("--restart", action="store_true", help="discard a stage's earlier runs")
    args = parser.parse_args(argv)
    size = "small" if args.small else "full"
    if args.stage in ("morris", "all"):
        design = {"kind": "morris", "trajectories": args.trajectories, "levels": 4}
        path = experiment_file("morris", screened_parameters(), design, size, args.replicates)
        run_stage("morris", path, args)
    if args.stage in ("sobol", "all"):
        ranges = screened_parameters()
        top = [p for p in morris_scores(noise_floors()).index if p in ranges][: args.top]
        design = {"kind": "sobol", "samples": args.samples}
        path = experiment_file("sobol", {p: ranges[p] for p in top}, design, size)
        run_stage("sobol", path, args)
    write_report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
