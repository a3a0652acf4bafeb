"""Where two stable states coexist: the pressure-funding tipping design, calibrated and norm-driven.

Run:  python experiments/tipping.py [--replicates 6] [--workers 2] [--out experiments/tipping]

Tipping is defined by the dynamics (docs/ODD.md 7.15): every point of the bundled
`pressure-funding` grid (regulator pressure x funding) is run from the ordinary start and after
a year's shock (`shock.weeks` = 52 at the scenario's shock values), `--replicates` seeds per
point with common random numbers, so the two starts of a replicate share a seed. Runs last
STEPS weeks (the shock and five years after it, as in tests/test_tipping.py), and a run ends
endemic when its share of staff bullying in a week over the last year is above
`hysteresis.ENDEMIC`. A point is labelled bistable where most ordinary runs end low and most
shocked runs end endemic (a majority vote per point; each share with a 95% Wilson interval:
`culturesim analyse` writes tipping.csv and the phase diagram). Pooled over all points, the
seed pairs give the paired evidence: pairs whose shocked twin ends endemic while the ordinary
one ends low, against the reverse, with an exact McNemar test.

Two variants of the model (VARIANTS: each its behaviour and trust size):
- `calibrated`: the defaults, trusts of 2,000 posts (the experiment's own size);
- `norm-driven`: conformity to local norms dominating the individual propensity to bully
  (`behaviour.norm_weight` 14 against the default 3, `behaviour.bullying_baseline_logit` -11
  against -7.47), trusts of 1,000 posts, as tests/test_tipping.py's bistable trust.

Writes OUT/tipping.md (per variant: the counts, the paired test and every point's shares) and,
per variant, OUT/VARIANT/tipping.csv, points.csv and phase-diagram.png; OUT/results/ holds the
sweeps' result folders (not committed).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from scipy.stats import binomtest

from culturesim import load_results, sweep
from culturesim.batch.analysis import analyse
from culturesim.batch.experiment import experiment_from_table
from culturesim.batch.hysteresis import ENDEMIC, SHOCK_PATH, STATE
from culturesim.engine.scenario import read_toml
from culturesim.files import git_commit

HERE = Path(__file__).resolve().parent
PRESSURE, FUNDING = "drivers.regulator_pressure.value", "drivers.funding.value"
STEPS = 52 + 260
VARIANTS = {
    "calibrated": {"organisation": {"staff_per_trust": 2000}},
    "norm-driven": {
        "organisation": {"staff_per_trust": 1000},
        "behaviour": {"norm_weight": 14.0, "bullying_baseline_logit": -11.0},
    },
}


def variant_experiment(name: str, args: argparse.Namespace):
    """The bundled pressure-funding experiment with the variant's behaviour and size."""
    path = HERE / "pressure-funding.toml"
    raw = read_toml(path)
    raw["name"] = f"tipping-{name}"
    raw["replicates"] = args.replicates
    raw["common_random_numbers"] = True
    scenario = raw.setdefault("scenario", {})
    for section, values in VARIANTS[name].items():
        scenario.setdefault(section, {}).update(values)
    scenario.setdefault("run", {}).update({"steps": STEPS, "record_events": False})
    return experiment_from_table(raw, str(path), path.parent)


def paired_evidence(results: Path) -> dict:
    """Seed pairs pooled over points: shocked endemic and ordinary low, against the reverse."""
    runs = load_results(results)
    runs = runs[runs.status == "ok"]
    key = [PRESSURE, FUNDING, "replicate"]
    endemic = runs.assign(endemic=runs[STATE] > ENDEMIC).pivot_table(
        index=key, columns=SHOCK_PATH, values="endemic", aggfunc="first"
    )
    ordinary, shocked = endemic[0].astype(bool), endemic[endemic.columns.max()].astype(bool)
    forward, reverse = int((shocked & ~ordinary).sum()), int((ordinary & ~shocked).sum())
    p = binomtest(forward, forward + reverse, 0.5, "greater").pvalue if forward else 1.0
    return {
        "pairs": len(endemic),
        "ordinary": int(ordinary.sum()),
        "shocked": int(shocked.sum()),
        "forward": forward,
        "reverse": reverse,
        "p": p,
    }


def interval(row: pd.Series, start: str) -> str:
    return (
        f"{row[f'{start}_endemic']:.2f} ({row[f'{start}_endemic_ci_low']:.2f}-"
        f"{row[f'{start}_endemic_ci_high']:.2f})"
    )


def variant_section(name: str, table: pd.DataFrame, evidence: dict, runs: int) -> list[str]:
    behaviour = VARIANTS[name].get("behaviour", {})
    overrides = ", ".join(f"`behaviour.{k}` = {v:g}" for k, v in behaviour.items())
    staff = VARIANTS[name]["organisation"]["staff_per_trust"]
    e = evidence
    lines = [
        f"## {name}",
        "",
        f"{overrides or 'The calibrated defaults'}; trusts of {staff:,} posts; {runs} runs. "
        f"**Labelled bistable (majority vote) at {int(table.bistable.sum())} of {len(table)} "
        "points.** Pooled over the points, of "
        f"{e['pairs']} seed pairs {e['ordinary']} end endemic from the ordinary start and "
        f"{e['shocked']} after the shock; {e['forward']} pairs end endemic only after the shock "
        f"and {e['reverse']} only from the ordinary start (exact McNemar, one-sided p = "
        f"{e['p']:.2g}).",
        "",
        "| pressure | funding | ordinary start: share endemic (95%) | mean | shocked start: share "
        "endemic (95%) | mean | labelled bistable |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, row in table.sort_values([PRESSURE, FUNDING]).iterrows():
        lines.append(
            f"| {row[PRESSURE]:g} | {row[FUNDING]:g} | {interval(row, 'low_start')} | "
            f"{row['low_start_mean']:.3f} | {interval(row, 'shocked_start')} | "
            f"{row['shocked_start_mean']:.3f} | {'yes' if row.bistable else ''} |"
        )
    lines += ["", f"![{name}]({name}/phase-diagram.png)", ""]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "tipping")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    commit = git_commit()  # before this script writes its own (committed) outputs
    sections = []
    for name in VARIANTS:
        experiment = variant_experiment(name, args)
        results = args.out / "results" / name
        if results.exists():
            shutil.rmtree(results)
        report = sweep(experiment, results, workers=args.workers, progress=False)
        print(report.line(), flush=True)
        analyse(results, args.out / name)
        table = pd.read_csv(args.out / name / "tipping.csv")
        sections += variant_section(name, table, paired_evidence(results), report.total)
    minutes = (time.perf_counter() - started) / 60
    command = "python experiments/tipping.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = [
        "# Where two stable states coexist",
        "",
        f"Made by `{command.strip()}` on {datetime.now(UTC).date()} (model at commit "
        f"{commit}) in {minutes:.1f} minutes with {args.workers} worker process(es). The "
        "bundled `pressure-funding` grid, each point from the ordinary start and after a year's "
        f"shock, {args.replicates} seeds a point with common random numbers, {STEPS} weeks. A run "
        f"ends endemic when more than {ENDEMIC:.0%} of staff bully in a week over its last year "
        "(four to five years after the shock); a point is labelled bistable where most ordinary "
        "runs end low and most shocked runs end endemic. Shares with 95% Wilson intervals, means "
        "of the weekly share of staff bullying over the last year. Method: the script's "
        "docstring and docs/ODD.md 7.15.",
        "",
    ]
    (args.out / "tipping.md").write_text("\n".join(header + sections))
    print(f"wrote {args.out / 'tipping.md'}")


if __name__ == "__main__":
    main()
