"""Calibrate the baseline: find the parameters marked "calibrated" in culturesim/scenario.py.

Run:  python experiments/calibrate.py [--quick | --reduced | --refit] [--processes 2]

Writes experiments/calibration/calibration.md (the table cited in docs/ODD.md section 8) and
experiments/calibration/candidates.csv (every candidate evaluated, with its loss). `--quick`
is a smoke test with few candidates and seeds; it writes to experiments/calibration/quick/.
`--reduced` is the full method with fewer candidates and seeds (sized for a shared two-core
machine; the table says which sizes made it).
`--refit` re-fits after a change to the model that moves the targets a little: it skips the
Latin hypercube and starts the response-surface steps at the current defaults, with the last
three trust regions of the full search (REFIT below).

Targets (docs/ODD.md section 1; /work/shared/research/model-brief.md, "Evidence"), each measured
exactly as `culturesim.run.outputs.summarise` reports it for the bundled `baseline` scenario (one
trust of 2,000 posts, 260 weeks after 52 weeks of burn-in):

    bullied by patients/public in the last 12 months  25-28%    (NHS Staff Survey)
    bullied by colleagues                             17-19%
    bullied by managers                               9.5-13%
    (in the order public > colleagues > managers)
    annual leaver rate                                10-12%    (Nuffield Trust)
    vacancy rate                                      8-10%     (NHS workforce statistics)
    chief-executive median tenure                     2-4 years (King's Fund 2018: about 3)
    persistently bullied (acts from one source in     4-10%     (Nielsen et al. 2009: 2-14%
      at least 8 of the last 26 weeks)                          by estimation method; see
                                                                docs/ODD.md section 8)
    persistent perpetrators: the counted source of    5-8%      (Matthiesen & Einarsen 2007:
      someone persistently bullied (26-week look-                5.4% self-labelled bullies
      back), the construct a self-labelled perpetrator          + 2.1% provocative victims)
      answers to (docs/ODD.md 8, "the perpetrator
      target")

Fitted parameters (changed in issue 7 from the first calibration, which fitted the first seven
only): the bullying logit, the leaders' offset, the weight of compassion disposition on
bullying (how concentrated perpetration is in a minority), habit (one's own recent bullying),
the chance of picking one's last target again, and the rates of aggression, leaving and hiring,
the chief executive's offset and the downward weight.

Not fitted: the weight of the local bullying norm (`behaviour.norm_weight`, social learning) is
held at its prior, 3 (docs/ODD.md section 8: a fit that was free to move it drove it to 0.07,
deleting a mechanism the literature supports, because the targets here are trust means that
do not identify between-team clustering).

Harm (docs/ODD.md 7.10, Eq. 10b) does not feed back on anything, so its two constants are set
after the search: `quality.reference_quality` is the baseline's mean care quality over the
validation seeds, and `quality.harm_excess_weight` k puts the bundled `mid-staffs` scenario, run
on the same seeds with the chosen parameters, in the middle of its range of excess harm
(35%, Francis 2013: SMR 1.27-1.45): k = 0.35 / (Q_ref - mean mid-staffs quality).

Loss of a candidate, from its replicate runs (the same seeds for every candidate: common random
numbers):

    sum over targets of  (distance of the replicate mean outside [lo, hi] / (hi - lo))^2
  + 0.04 x sum over targets of ((replicate mean - range midpoint) / (hi - lo))^2   (tie-break
    towards the middle of each range; at most 0.01 per target while inside)
  + the share of replicates in which the order public > colleagues > managers fails.

Chief-executive tenure: one trust has one chief executive, so a single run sees 0-3 exits and
its tenure is often undefined. The tenure of a candidate is therefore pooled over its replicate
seeds, with summarise's own estimator: ln 2 x (sum of chief-executive years in post) / (sum of
exits), with half an exit added when there are none (a continuity correction, so that the loss
is finite). No multi-trust variant is used: every figure comes from `baseline` itself.

Search (every random draw has a fixed seed, so the whole calibration is reproducible; sizes are
in FULL and QUICK below):

  1. Latin hypercube (scipy.stats.qmc.LatinHypercube, seed LHS_SEED) of `stage1` candidates
     over the search box SPACE, each run on the same `seeds1` seeds; the lowest loss is the
     starting point.
  2. Response-surface (Gauss-Newton) steps, one per entry of `half_widths`: around the current
     point, the point itself and a Latin hypercube of `design` candidates in a box of that
     half-width (a share of each search range) are run on the same `seeds2` seeds; each target,
     on the logit scale (log for tenure), is fitted by least squares as a linear function of the
     parameters; the step minimises the plane's squared distance from every range's midpoint
     (in units of the range's width), moving at most the half-width in each parameter
     (scipy.optimize.lsq_linear with bounds: a trust region). A Gauss-Newton step is
     used rather than picking the best sampled candidate because the replicate means are noisy
     (see below) and the regression pools every design run. The chief-executive offset is one
     of the parameters: its tenure, pooled over seeds, is fitted across the design like the
     other targets.
  3. The last step's point, rounded to 3 significant figures, is validated on `validation`
     fresh seeds never used in the search; the table reports mean +- sd over those seeds, the
     95% interval of the mean, and whether the mean is inside each range.

Noise: the bullying measures of a single trust vary a lot between seeds (sd of about 4-6
percentage points for "bullied by colleagues" against a range 2 points wide), because a team can
tip into a self-sustaining bullying culture (docs/ODD.md 7.6); the targets are replicate means.
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.optimize import lsq_linear
from scipy.stats import qmc

from culturesim import load_scenario, simulate
from culturesim.batch.analysis import mean_interval

HERE = Path(__file__).resolve().parent
OUT = HERE / "calibration"
LHS_SEED = 20250601

# parameter path: (low, high) of the search box; each is marked "calibrated" in scenario.py
# (found by a coarse look first; with the norm weight at 3, a bullying logit above about -6.5
# tips most replicates into a self-sustaining bullying culture)
SPACE = {
    "behaviour.bullying_baseline_logit": (-8.5, -5.5),
    "behaviour.leader_logit_offset": (0.5, 3.0),
    "behaviour.compassion_weight": (10.0, 50.0),
    "behaviour.habit_weight": (0.0, 20.0),
    "targets.repeat_probability": (0.7, 0.97),
    "aggression.weekly_rate": (0.005, 0.009),
    "turnover.baseline_logit": (-8.5, -6.0),
    "turnover.weekly_hiring_rate": (0.015, 0.05),
    "turnover.ceo_logit_offset": (-1.5, 2.5),
    "targets.downward_weight": (0.5, 0.97),
    "speaking_up.challenge_logit": (-6.0, -2.0),
}

# summary key: (low, high, label)
TARGETS = {
    "bullied_by_public": (0.25, 0.28, "bullied by patients/public, last 12 months"),
    "bullied_by_colleagues": (0.17, 0.19, "bullied by colleagues, last 12 months"),
    "bullied_by_managers": (0.095, 0.13, "bullied by managers, last 12 months"),
    "leaver_rate": (0.10, 0.12, "leaver rate a year"),
    "vacancy_rate": (0.08, 0.10, "vacancy rate"),
    "ceo_median_tenure_years": (2.0, 4.0, "chief-executive median tenure (years, pooled)"),
    "persistent_bullied": (0.04, 0.10, "persistently bullied (one source, 8 of 26 weeks)"),
    "persistent_perpetrators": (0.05, 0.08, "persistent perpetrators (self-labelled construct)"),
}
MEASURED = (
    "bullied_by_public",
    "bullied_by_colleagues",
    "bullied_by_managers",
    "leaver_rate",
    "vacancy_rate",
    "ceo_exits",
    "ceo_years_in_post",
    "persistent_bullied",
    "persistent_perpetrators",
    "perpetrators_last_year",
    "care_quality",
)
HARM_EXCESS = 0.35  # middle of Francis 2013's 25-45% excess mortality
CENTRE_WEIGHT = 0.04
RUNAWAY = 0.4  # a replicate with more than this bullied by colleagues has tipped (diagnostic)

FULL = {
    "stage1": 64,
    "seeds1": 3,
    "half_widths": (0.2, 0.15, 0.1, 0.1, 0.07, 0.05),
    "design": 16,
    "seeds2": 8,
    "validation": 20,
}
REDUCED = {
    "stage1": 40,
    "seeds1": 2,
    "half_widths": (0.2, 0.12, 0.07),
    "design": 14,
    "seeds2": 4,
    "validation": 12,
}
REFIT = {
    "stage1": 0,
    "seeds1": 0,
    "half_widths": (0.1, 0.07, 0.05),
    "design": 16,
    "seeds2": 16,  # twice the full search's: a refit's small steps are within seed noise
    "validation": 20,
}
QUICK = {
    "stage1": 12,
    "seeds1": 2,
    "half_widths": (0.15,),
    "design": 8,
    "seeds2": 2,
    "validation": 4,
}

FLAGS = {id(QUICK): " --quick", id(REDUCED): " --reduced", id(REFIT): " --refit"}

_BASE = None


def _base():
    global _BASE
    if _BASE is None:
        _BASE = load_scenario("baseline").with_overrides(
            {"run.record_events": False, "run.figures": False}
        )
    return _BASE


def _value(scenario, path: str) -> float:
    section, name = path.split(".")
    return getattr(getattr(scenario, section), name)


def run_one(task: tuple[dict, int]) -> list[float]:
    """One replicate: the baseline with these parameter values and this seed."""
    values, seed = task
    summary = simulate(_base().with_overrides(values, "calibration"), seed=seed).summary
    return [float(summary[key]) for key in MEASURED]


def mid_staffs_quality(task: tuple[dict, int]) -> float:
    """Care quality of the bundled mid-staffs scenario with these parameter values."""
    values, seed = task
    scenario = load_scenario("mid-staffs").with_overrides(
        {"run.record_events": False, "run.figures": False, **values}, "calibration"
    )
    return float(simulate(scenario, seed=seed).summary["care_quality"])


def pooled_tenure(exits: np.ndarray, years: np.ndarray) -> float:
    return math.log(2) * float(years.sum()) / max(float(exits.sum()), 0.5)


def measures(runs: np.ndarray) -> dict:
    """Replicate means (and sds) of the targets; chief-executive tenure pooled over seeds."""
    column = dict(zip(MEASURED, runs.T, strict=True))
    out = {}
    for key in TARGETS:
        if key == "ceo_median_tenure_years":
            out[key] = pooled_tenure(column["ceo_exits"], column["ceo_years_in_post"])
            out[key + "_sd"] = float("nan")
        else:
            out[key] = float(column[key].mean())
            out[key + "_sd"] = float(column[key].std(ddof=1)) if len(runs) > 1 else 0.0
    ordered = (column["bullied_by_public"] > column["bullied_by_colleagues"]) & (
        column["bullied_by_colleagues"] > column["bullied_by_managers"]
    )
    out["order_fails"] = float(1 - ordered.mean())
    out["runaway_share"] = float((column["bullied_by_colleagues"] > RUNAWAY).mean())
    out["ceo_exits"] = float(column["ceo_exits"].sum())
    out["ceo_years"] = float(column["ceo_years_in_post"].sum())
    return out


def loss(m: dict) -> float:
    total = m["order_fails"]
    for key, (lo, hi, _) in TARGETS.items():
        width = hi - lo
        outside = max(lo - m[key], 0.0, m[key] - hi) / width
        total += outside**2 + CENTRE_WEIGHT * ((m[key] - (lo + hi) / 2) / width) ** 2
    return total


class Search:
    """Evaluates candidates in a process pool and keeps every one for candidates.csv."""

    def __init__(self, pool: multiprocessing.pool.Pool) -> None:
        self.pool = pool
        self.rows: list[dict] = []
        self.runs = 0

    def evaluate(self, stage: str, candidates: list[dict], seeds: list[int]) -> list[dict]:
        tasks = [(c, s) for c in candidates for s in seeds]
        results = np.array(self.pool.map(run_one, tasks, chunksize=1), dtype=float)
        self.runs += len(tasks)
        rows = []
        for index, values in enumerate(candidates):
            runs = results[index * len(seeds) : (index + 1) * len(seeds)]
            m = measures(runs)
            row = {
                "stage": stage,
                "candidate": len(self.rows),
                **values,
                "seeds": len(seeds),
                **m,
                "loss": loss(m),
            }
            self.rows.append(row)
            rows.append(row)
        best = min(rows, key=lambda r: r["loss"])
        print(
            f"  {stage}: {len(candidates)} candidates x {len(seeds)} seeds; best loss "
            f"{best['loss']:.4f} (runs so far {self.runs})",
            flush=True,
        )
        return rows


def lhs(box: dict[str, tuple[float, float]], n: int, seed: int) -> list[dict]:
    sample = qmc.LatinHypercube(d=len(box), seed=seed).random(n)
    lows = np.array([lo for lo, _ in box.values()])
    highs = np.array([hi for _, hi in box.values()])
    points = qmc.scale(sample, lows, highs)
    return [dict(zip(box, map(float, point), strict=True)) for point in points]


def round_sig(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}") if value else 0.0


def untransform(key: str, value: float) -> float:
    return math.exp(value) if key == "ceo_median_tenure_years" else 1 / (1 + math.exp(-value))


def transform(key: str, value: float) -> float:
    """The scale on which a target is about linear in the parameters: logit, or log for tenure."""
    if key == "ceo_median_tenure_years":
        return math.log(value)
    value = min(max(value, 1e-4), 1 - 1e-4)
    return math.log(value / (1 - value))


def newton_step(rows: list[dict], centre: dict, half: dict) -> tuple[dict, dict]:
    """One response-surface (Gauss-Newton) step from `centre`.

    Fits each transformed target as a linear function of the parameters over the design rows
    (least squares), then moves to the point where the fitted plane is nearest every range's
    midpoint (bounded least squares, residuals in units of each range's width), at most `half`
    in each parameter (a trust region) and inside the search box. Returns the new point and
    the plane's prediction at it.
    """
    names = list(SPACE)
    width = np.array([SPACE[k][1] - SPACE[k][0] for k in names])
    x = np.array([[r[k] - centre[k] for k in names] for r in rows]) / width
    y = np.array([[transform(k, r[k]) for k in TARGETS] for r in rows])
    design = np.column_stack([np.ones(len(x)), x])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    at_centre, jacobian = coef[0], coef[1:].T
    wanted = np.array([transform(k, (lo + hi) / 2) for k, (lo, hi, _) in TARGETS.items()])
    # residuals in units of each range's width on the transformed scale, as in the loss
    scale = np.array([transform(k, hi) - transform(k, lo) for k, (lo, hi, _) in TARGETS.items()])
    limit = np.array([half[k] for k in names]) / width
    low = np.array([SPACE[k][0] - centre[k] for k in names]) / width
    high = np.array([SPACE[k][1] - centre[k] for k in names]) / width
    step = lsq_linear(
        jacobian / scale[:, None],
        (wanted - at_centre) / scale,
        bounds=(np.maximum(-limit, low), np.minimum(limit, high)),
    ).x
    point = {}
    for i, k in enumerate(names):
        lo, hi = SPACE[k]
        point[k] = float(np.clip(centre[k] + step[i] * width[i], lo, hi))
    moved = (np.array([point[k] for k in names]) - [centre[k] for k in names]) / width
    predicted = at_centre + jacobian @ moved
    return point, dict(zip(TARGETS, map(float, predicted), strict=True))


def git_state() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "culturesim"],
            cwd=HERE,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return commit + (" (culturesim/ had uncommitted changes)" if dirty else "")


def fmt(key: str, value: float) -> str:
    if key == "ceo_median_tenure_years":
        return f"{value:.2f}"
    return f"{100 * value:.1f}%"


def write_outputs(
    out: Path,
    search: Search,
    chosen: dict,
    validation: np.ndarray,
    seeds: list[int],
    settings: dict,
    seconds: float,
    harm: dict,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    names = list(search.rows[0])
    with open(out / "candidates.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for row in search.rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )

    column = dict(zip(MEASURED, validation.T, strict=True))
    m = measures(validation)
    rng = np.random.default_rng(LHS_SEED)
    lines = [
        "# Calibration of the baseline",
        "",
        f"Made by `python experiments/calibrate.py{FLAGS.get(id(settings), '')}` "
        f"on {datetime.now(UTC):%Y-%m-%d} (model at commit {git_state()}); "
        f"{search.runs + len(seeds)} runs of the bundled `baseline` scenario "
        f"(one trust of 2,000 posts, 260 weeks after 52 weeks of burn-in) in {seconds / 60:.1f} "
        "minutes. The method, the loss and the targets' sources are in the script's docstring; "
        "every candidate and its loss is in `candidates.csv`.",
        "",
        (
            f"Search: Latin hypercube of {settings['stage1']} candidates x "
            f"{settings['seeds1']} seeds; from the best, "
            if settings["stage1"]
            else "Search: from the previous defaults (a re-fit), "
        )
        + f"{len(settings['half_widths'])} response-surface (Gauss-Newton) "
        f"steps, each fitted on {settings['design'] + 1} candidates x {settings['seeds2']} "
        "seeds in a shrinking box (half-widths "
        + ", ".join(f"{h:.0%}" for h in settings["half_widths"])
        + " of each search range) around the current point; common random numbers "
        "throughout.",
        "",
        "## Parameters",
        "",
        "| parameter | search range | chosen (default) |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{name}` | {lo:g} to {hi:g} | {chosen[name]:g} |" for name, (lo, hi) in SPACE.items()
    ]
    lines += [
        "",
        f"## Targets on {len(seeds)} fresh validation seeds ({seeds[0]}-{seeds[-1]})",
        "",
        "Mean +- sd over seeds, and the 95% interval of the mean (t interval; for the "
        "chief-executive tenure, pooled over seeds, a bootstrap over seeds).",
        "",
        "| target | range | achieved mean +- sd | 95% interval of mean | inside? |",
        "|---|---|---|---|---|",
    ]

    for key, (lo, hi, label) in TARGETS.items():
        if key == "ceo_median_tenure_years":
            exits, years = column["ceo_exits"], column["ceo_years_in_post"]
            draws = rng.integers(0, len(seeds), (2000, len(seeds)))
            boot = [pooled_tenure(exits[d], years[d]) for d in draws]
            low, high = np.percentile(boot, [2.5, 97.5])
            spread = (
                f"{fmt(key, m[key])} (pooled: {int(exits.sum())} exits in {years.sum():.0f} "
                "chief-executive years)"
            )
        else:
            values = column[key]
            _, low, high = mean_interval(values)
            spread = f"{fmt(key, values.mean())} +- {fmt(key, values.std(ddof=1))}"
        inside = "yes" if lo <= m[key] <= hi else "**no**"
        lines.append(
            f"| {label} | {fmt(key, lo)}-{fmt(key, hi)} | {spread} | "
            f"{fmt(key, low)}-{fmt(key, high)} | {inside} |"
        )
    ordered = (column["bullied_by_public"] > column["bullied_by_colleagues"]) & (
        column["bullied_by_colleagues"] > column["bullied_by_managers"]
    )
    tipped = column["bullied_by_colleagues"] > RUNAWAY
    lines += [
        "",
        f"Order public > colleagues > managers holds in {int(ordered.sum())} of {len(seeds)} "
        f"replicates. Replicates that tipped into a self-sustaining bullying culture (over "
        f"{RUNAWAY:.0%} bullied by colleagues): {int(tipped.sum())} of {len(seeds)}. "
        f"Validation loss {loss(m):.4f}.",
        "",
        "Per-seed values (" + ", ".join(MEASURED) + "):",
        "",
        "```",
    ]
    lines += [
        f"seed {seed:>5}: " + "  ".join(f"{v:7.3f}" for v in row)
        for seed, row in zip(seeds, validation, strict=True)
    ]
    lines += ["```", ""]
    lines += [
        "## Harm (docs/ODD.md 7.10, Eq. 10b)",
        "",
        f"Baseline mean care quality over the validation seeds: Q_ref = "
        f"{harm['quality.reference_quality']:g} (`quality.reference_quality`). `mid-staffs` with "
        f"the chosen parameters on the same seeds: mean care quality "
        f"{harm['mid_staffs_quality']:.3f}. k = {HARM_EXCESS} / (Q_ref - that) = "
        f"{harm['quality.harm_excess_weight']:g} (`quality.harm_excess_weight`), so its expected "
        f"excess harm is {HARM_EXCESS:.0%} (Francis 2013: 25-45%).",
        "",
    ]
    (out / "calibration.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke-test search")
    parser.add_argument("--reduced", action="store_true", help="fewer candidates and seeds")
    parser.add_argument(
        "--refit", action="store_true", help="start at the current defaults (no hypercube)"
    )
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else REDUCED if args.reduced else REFIT if args.refit else FULL
    out = OUT / "quick" if args.quick else OUT
    started = time.time()
    seeds1 = list(range(1, 1 + settings["seeds1"]))
    seeds2 = list(range(101, 101 + settings["seeds2"]))
    validation_seeds = list(range(1001, 1001 + settings["validation"]))

    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        search = Search(pool)
        if settings["stage1"]:
            print("stage 1: Latin hypercube over the search box", flush=True)
            rows = search.evaluate("lhs", lhs(SPACE, settings["stage1"], LHS_SEED), seeds1)
            best = min(rows, key=lambda r: r["loss"])
            centre = {k: best[k] for k in SPACE}
        else:
            defaults = _base()
            centre = {k: float(_value(defaults, k)) for k in SPACE}
            print("starting at the current defaults", flush=True)
        for round_, share in enumerate(settings["half_widths"]):
            half = {k: share * (hi - lo) for k, (lo, hi) in SPACE.items()}
            box = {
                k: (max(lo, centre[k] - half[k]), min(hi, centre[k] + half[k]))
                for k, (lo, hi) in SPACE.items()
            }
            design = [centre, *lhs(box, settings["design"], LHS_SEED + round_ + 1)]
            local = search.evaluate(f"newton{round_ + 1}", design, seeds2)
            centre, predicted = newton_step(local, centre, half)
            print(
                f"  step {round_ + 1} to "
                + ", ".join(f"{k.split('.')[-1]}={v:.4g}" for k, v in centre.items())
                + "\n  predicted "
                + ", ".join(f"{k}={untransform(k, v):.3f}" for k, v in predicted.items()),
                flush=True,
            )
        chosen = {k: round_sig(v) for k, v in centre.items()}
        print("chosen (rounded): " + ", ".join(f"{k}={v:g}" for k, v in chosen.items()))
        validation = np.array(
            pool.map(run_one, [(chosen, s) for s in validation_seeds], chunksize=1), dtype=float
        )
        mid_staffs = np.array(
            pool.map(mid_staffs_quality, [(chosen, s) for s in validation_seeds], chunksize=1)
        )
    reference_quality = float(validation[:, MEASURED.index("care_quality")].mean())
    harm = {
        "quality.reference_quality": round_sig(reference_quality),
        "quality.harm_excess_weight": round_sig(
            HARM_EXCESS / (reference_quality - float(mid_staffs.mean()))
        ),
        "mid_staffs_quality": float(mid_staffs.mean()),
    }
    m = measures(validation)
    search.rows.append(
        {
            "stage": "validation",
            "candidate": len(search.rows),
            **chosen,
            "seeds": len(validation_seeds),
            **m,
            "loss": loss(m),
        }
    )
    seconds = time.time() - started
    write_outputs(out, search, chosen, validation, validation_seeds, settings, seconds, harm)
    print(f"validation loss {loss(m):.4f}; wrote {out}/calibration.md in {seconds / 60:.1f} min")
    print("harm: " + ", ".join(f"{k}={v:.4g}" for k, v in harm.items()))
    for key, (lo, hi, label) in TARGETS.items():
        print(f"  {label}: {fmt(key, m[key])} (range {fmt(key, lo)}-{fmt(key, hi)})")


if __name__ == "__main__":
    sys.exit(main())
