"""Where two stable states coexist: the pressure-funding tipping design, calibrated and norm-driven.

Run:  python experiments/tipping.py [--replicates 4] [--staff 2000] [--workers 2]
                                    [--out experiments/tipping]

Tipping is defined by the dynamics (docs/ODD.md 7.15): every point of the bundled
`pressure-funding` grid (regulator pressure x funding) is run from the ordinary start and after
a year's shock (`shock.weeks` = 52: pressure 3, funding 0.7), `--replicates` seeds per point with
common random numbers, so the two starts of a replicate share a seed. A point is bistable where
most ordinary runs end low and most shocked runs are still endemic four years after the shock
(share of staff bullying in a week above `hysteresis.ENDEMIC`), each share with a 95% Wilson
interval (`culturesim analyse`: tipping.csv and the phase diagram).

Two variants of the model:
- `calibrated`: the defaults, trusts of `--staff` posts (the experiment's own size);
- `norm-driven`: conformity to local norms dominating the individual propensity to bully
  (NORM_DRIVEN: `behaviour.norm_weight` 14 against the default 3, and
  `behaviour.bullying_baseline_logit` -11 against -7.47), trusts of 1,000 posts, the setting of
  tests/test_tipping.py's bistable trust.

Writes OUT/tipping.md (counts and the bistable points with intervals) and, per variant,
OUT/VARIANT/tipping.csv and OUT/VARIANT/phase-diagram.png; OUT/results/ holds the sweeps' result
folders (not committed).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from culturesim import sweep
from culturesim.batch.analysis import analyse
from culturesim.batch.experiment import experiment_from_table
from culturesim.batch.hysteresis import ENDEMIC
from culturesim.engine.scenario import read_toml
from culturesim.files import git_commit

HERE = Path(__file__).resolve().parent
PRESSURE, FUNDING = "drivers.regulator_pressure.value", "drivers.funding.value"
NORM_DRIVEN = {"norm_weight": 14.0, "bullying_baseline_logit": -11.0}
VARIANTS = {"calibrated": {}, "norm-driven": {"behaviour": NORM_DRIVEN}}


def variant_experiment(name: str, args: argparse.Namespace):
    """The bundled pressure-funding experiment with the variant's behaviour and size."""
    path = HERE / "pressure-funding.toml"
    raw = copy.deepcopy(read_toml(path))
    raw["name"] = f"tipping-{name}"
    raw["replicates"] = args.replicates
    raw["common_random_numbers"] = True
    scenario = raw.setdefault("scenario", {})
    scenario.update(copy.deepcopy(VARIANTS[name]))
    staff = args.staff if name == "calibrated" else 1000
    scenario.setdefault("organisation", {})["staff_per_trust"] = staff
    scenario.setdefault("run", {})["record_events"] = False
    return experiment_from_table(raw, str(path), path.parent), staff


def interval(row: pd.Series, start: str) -> str:
    return (
        f"{row[f'{start}_endemic']:.2f} ({row[f'{start}_endemic_ci_low']:.2f}-"
        f"{row[f'{start}_endemic_ci_high']:.2f})"
    )


def variant_section(name: str, staff: int, table: pd.DataFrame, runs: int) -> list[str]:
    bistable = table[table.bistable]
    overrides = ", ".join(
        f"`behaviour.{k}` = {v:g}" for k, v in VARIANTS[name].get("behaviour", {}).items()
    )
    lines = [
        f"## {name}",
        "",
        f"{overrides or 'The calibrated defaults'}; trusts of {staff:,} posts; {runs} runs. "
        f"**Two states coexist at {len(bistable)} of {len(table)} points.**",
        "",
        "| pressure | funding | ordinary start: share endemic (95%) | mean | shocked start: share "
        "endemic (95%) | mean | bistable |",
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
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--staff", type=int, default=2000, help="posts a trust (calibrated)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "tipping")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sections = []
    for name in VARIANTS:
        experiment, staff = variant_experiment(name, args)
        results = args.out / "results" / name
        if results.exists():
            shutil.rmtree(results)
        report = sweep(experiment, results, workers=args.workers, progress=False)
        print(report.line(), flush=True)
        analyse(results, args.out / name)
        table = pd.read_csv(args.out / name / "tipping.csv")
        sections += variant_section(name, staff, table, report.total)
    minutes = (time.perf_counter() - started) / 60
    command = "python experiments/tipping.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = [
        "# Where two stable states coexist",
        "",
        f"Made by `{command.strip()}` on {datetime.now(UTC).date()} (model at commit "
        f"{git_commit()}) in {minutes:.1f} minutes here (2 shared cores). The bundled "
        "`pressure-funding` grid, each point from the ordinary start and after a year's shock "
        f"(pressure 3, funding 0.7), {args.replicates} seeds a point with common random numbers. "
        f"A run ends endemic when more than {ENDEMIC:.0%} of staff bully in a week over its last "
        "year (four years after the shock); a point is bistable where most ordinary runs end low "
        "and most shocked runs end endemic. Shares with 95% Wilson intervals, means of the "
        "weekly share of staff bullying over the last year. Method: the script's docstring and "
        "docs/ODD.md 7.15.",
        "",
    ]
    (args.out / "tipping.md").write_text("\n".join(header + sections))
    print(f"wrote {args.out / 'tipping.md'}")


if __name__ == "__main__":
    main()
