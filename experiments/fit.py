"""Fit the influential parameters to the fitting patterns by ABC-SMC (pyabc); ship the posterior.

    python experiments/fit.py --population 200 --generations 8            # a new fit
    python experiments/fit.py --generations 3 --resume                    # 3 more generations
    python experiments/fit.py --export                                    # posterior from the db
    python experiments/fit.py --scheduler tcp://head:8786 ...             # on a Dask cluster

Method (docs/ODD.md section 8): approximate Bayesian computation by sequential Monte Carlo
(Toni et al. 2009; Klinger, Rickert & Hasenauer 2018, pyabc). Priors are uniform over the boxes
in `experiments/calibration/priors.toml`. Each particle is one run of the fitting setting (the
`national` setting of culturesim/data/patterns.toml: four trusts of 2,000 posts, whose national
figures are means over trusts like the Staff Survey's), seeded from the particle's values. Its
summary statistics are the fitting patterns' measures; the distance is

    d = sqrt( sum over fitting patterns of (distance of the value outside [low, high] / width)^2 )

so every particle whose run lands inside every target range is at distance 0. Epsilon is the
median of the previous generation's distances (pyabc's QuantileEpsilon) and the fit stops at
`--generations`, when epsilon reaches `--min-epsilon` (0: every accepted run inside every
range), or when a generation accepts fewer than `--min-acceptance` of its runs (pyabc's
min_acceptance_rate: epsilon has reached what the model can do, and each further generation
costs more runs for less). The last generation's particles and weights are the posterior:
written with the provenance (method, generations, epsilon schedule, runs, wall time, date,
commit) to `culturesim/data/posterior.parquet`, and summarised in
`experiments/calibration/fit.md` (with `fit-history.md`, how each session ran the fit).

Held-out patterns are never read here. Fitting patterns that the model does not measure (a
measure the model lacks) are left out of the distance and listed as not fitted.

Runs go to the project's executors (culturesim.batch.executors: a local process pool, or a Dask
cluster's executor with --scheduler) through pyabc's ConcurrentFutureSampler. The history is
a SQLite database (`experiments/calibration/abc.db`, not committed), so `--resume` continues a
fit (pyabc's ABCSMC.load), and `--export` writes the posterior of its last generation.
Perturbation kernel (`--kernel`): a Gaussian with twice the previous population's weighted
covariance (Beaumont, Cornuet, Marin & Robert 2009), the default. pyabc's own default
(Silverman's rule: 0.44-0.62 times the covariance in 12 dimensions) left the importance weights
degenerate in the session-3 fit: effective sample size 13 of 200 after the first generation, 5
after the sixth (and 1.07 in a resumed seventh, stopped and not kept), so the "posterior" was a
handful of particles. A wider
kernel accepts fewer proposals but spreads the weights (effective sample size 130-150 of 200
in the session-4 fit). `--resume` continues with the `--kernel` given then, and the posterior's
provenance records that one. With degenerate weights pyabc 0.13 can
also stop with "population total weight nan"; the script then keeps the last complete
generation (and says so in fit.md and the posterior's provenance).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from culturesim.batch.executors import dask_executor, local_executor
from culturesim.batch.patterns import Pattern, load_patterns, measure_run
from culturesim.batch.posterior import POSTERIOR_FILE, write_posterior
from culturesim.files import git_commit

HERE = Path(__file__).resolve().parent
CALIBRATION = HERE / "calibration"
PRIORS = CALIBRATION / "priors.toml"
DATABASE = CALIBRATION / "abc.db"
HISTORY = CALIBRATION / "fit-history.md"
"""How each session ran the fit (commands, stops, why), written by hand; fit.md includes it."""
REPORT = CALIBRATION / "fit.md"
SEED = 20261127


def read_priors(path: Path = PRIORS) -> dict[str, tuple[float, float]]:
    table = tomllib.loads(path.read_text())
    return {p["path"]: (float(p["low"]), float(p["high"])) for p in table["parameters"]}


def fit_identity(priors: dict[str, tuple[float, float]]) -> dict:
    """What a database must have been fitted with to be resumed: its priors (pyabc keeps this)."""
    return {"priors": {path: [low, high] for path, (low, high) in sorted(priors.items())}}


def key(path: str) -> str:
    """A scenario path as a pyabc parameter name (pyabc keys are plain names)."""
    return path.replace(".", "__")


def statistic(pattern: Pattern, value: object) -> float:
    """One run's value of a fitting pattern, on the scale it is fitted on (`fitted_target`)."""
    if value is None:
        return math.nan
    if pattern.statistic == "pooled_tenure":
        counts = dict(value)
        if counts["years"] <= 0:
            return math.nan
        return math.log((counts["exits"] + 0.5) / counts["years"])
    return float(value)


def fitted_target(pattern: Pattern) -> tuple[float, float]:
    """A pattern's target range on the scale the distance uses.

    A median tenure T (years) is fitted as the log of the chief executives' exit rate,
    log((exits + 1/2) / years in post) against log(ln 2 / T): a run sees only about five
    exits, and the log rate keeps the distance about even between too short and too long a
    tenure, with no ceiling either way (docs/ODD.md section 8).
    """
    low, high = pattern.target
    if pattern.statistic == "pooled_tenure":
        return math.log(math.log(2) / high), math.log(math.log(2) / low)
    return low, high


SCALES = "chief-executive tenure as the log exit rate log((exits + 1/2) / years)"
"""How the distance treats the patterns whose scale is not their own (in the provenance)."""


class Simulator:
    """The pyabc model: one run of the fitting setting for a particle (picklable)."""

    def __init__(self, scenario, patterns: list[Pattern], seed: int, quick: bool) -> None:
        self.scenario = scenario
        self.patterns = patterns
        self.seed = seed
        self.quick = quick

    def __call__(self, parameters: dict) -> dict:
        from culturesim.run.simulate import simulate

        values = {path.replace("__", "."): float(v) for path, v in parameters.items()}
        digest = hashlib.sha256(repr(sorted(values.items())).encode()).digest()
        seed = (self.seed + int.from_bytes(digest[:6], "big")) % 2**62
        scenario = self.scenario.with_overrides(values, "calibration particle")
        measured = measure_run(simulate(scenario, seed=seed), [p.measure for p in self.patterns])
        return {p.name: statistic(p, measured[p.measure]) for p in self.patterns}


def beaumont_bandwidth(_effective_sample_size: float, _dimension: int) -> float:
    """Perturbation kernel with twice the previous population's weighted covariance (Beaumont et
    al. 2009): pyabc's default (Silverman's rule, 0.44-0.62 times the covariance in 12
    dimensions) made the importance weights degenerate (see the module docstring)."""
    return math.sqrt(2.0)


KERNELS = {
    "beaumont": (
        "Gaussian kernel of twice the weighted covariance (Beaumont et al. 2009)",
        {"bandwidth_selector": beaumont_bandwidth},
    ),
    "silverman": ("Gaussian kernel by Silverman's rule (pyabc default)", {}),
}
"""--kernel: its description in the provenance, and pyabc MultivariateNormalTransition's options."""


def range_distance(targets: dict[str, tuple[float, float]]):
    def distance(x: dict, _observed: dict) -> float:
        total = 0.0
        for name, (low, high) in targets.items():
            value = x[name]
            if not math.isfinite(value):
                return math.inf
            total += (max(low - value, 0.0, value - high) / (high - low)) ** 2
        return math.sqrt(total)

    return distance


def fitting_patterns(quick: bool) -> tuple[object, list[Pattern], list[Pattern]]:
    """The fitting setting's scenario, the fitting patterns it measures, and those it cannot."""
    patterns = load_patterns()
    fitting = patterns.fitting()
    settings = {p.setting for p in fitting}
    if len(settings) != 1:
        raise SystemExit(f"fitting patterns span several settings {settings}: one is supported")
    scenario = patterns.settings[settings.pop()].resolve(quick)
    from culturesim.run.simulate import simulate

    probe = measure_run(
        simulate(scenario.with_overrides({"run.steps": 2, "run.burn_in_weeks": 0}), seed=1),
        [p.measure for p in fitting],
    )
    measured = [p for p in fitting if probe[p.measure] is not None]
    return scenario, measured, [p for p in fitting if probe[p.measure] is None]


def export(history, priors, fitted, unmeasured, args, stopped=None) -> None:
    """The last complete generation as the posterior file, and fit.md."""
    history = __import__("pyabc").History(history.db, _id=history.id)  # what is on disk
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    particles = pd.DataFrame({path: frame[key(path)].to_numpy(float) for path in priors})
    particles["weight"] = np.asarray(weights, float) / np.sum(weights)
    populations = history.get_all_populations()
    seconds = float(populations.wall_time.sum())  # every generation's, over all sessions
    populations = populations[populations.t >= 0]
    runs = int(populations.samples.sum())
    provenance = {
        "method": "ABC-SMC (pyabc "
        + __import__("pyabc").__version__
        + "), uniform priors, range distance, median epsilon, "
        + KERNELS[args.kernel][0]
        + "; "
        + SCALES,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "generations": int(history.max_t + 1),
        "population_size": int(len(particles)),
        "effective_sample_size": round(float(1 / (particles["weight"] ** 2).sum()), 2),
        "epsilon_schedule": [float(e) for e in populations.epsilon],
        "effective_sample_sizes": [
            round(effective_sample_size(history, t), 2) for t in populations.t
        ],
        "runs": runs,
        "runs_per_generation": [int(n) for n in populations.samples],
        "particles_per_generation": [int(n) for n in populations.particles],
        "stopping_rules": {
            "generations": args.generations,
            "min_epsilon": args.min_epsilon,
            "min_acceptance": args.min_acceptance,
        },
        "wall_time_seconds": round(seconds, 1),
        "setting": fitted[0].setting if fitted else None,
        "quick": bool(args.quick),
        "priors": {path: list(bounds) for path, bounds in priors.items()},
        "fitted_patterns": {p.name: list(p.target) for p in fitted},
        "not_measured": [p.name for p in unmeasured],
        "database": str(DATABASE.name),
        "stopped": stopped,
    }
    write_posterior(particles, provenance, args.out)
    write_report(particles, provenance, args)
    print(f"wrote {args.out} ({len(particles)} particles) and {args.report}")


def effective_sample_size(history, t: int) -> float:
    """Kish's effective sample size of generation t's importance weights."""
    _, weights = history.get_distribution(m=0, t=int(t))
    weights = np.asarray(weights, float) / np.sum(weights)
    return float(1 / np.sum(weights**2))


def generations_table(provenance: dict) -> list[str]:
    """Per generation: epsilon, runs, acceptance rate, effective sample size."""
    sizes = provenance.get("particles_per_generation") or [provenance["population_size"]] * len(
        provenance["runs_per_generation"]
    )
    lines = [
        "| generation | epsilon | runs | acceptance | effective sample size |",
        "|---:|---:|---:|---:|---:|",
    ]
    for t, (epsilon, size, runs, ess) in enumerate(
        zip(
            provenance["epsilon_schedule"],
            sizes,
            provenance["runs_per_generation"],
            provenance.get("effective_sample_sizes")
            or [float("nan")] * len(provenance["epsilon_schedule"]),
            strict=True,
        )
    ):
        lines.append(f"| {t} | {epsilon:.3g} | {runs} | {size / runs:.1%} | {ess:.0f} |")
    return lines


def write_report(particles: pd.DataFrame, provenance: dict, args) -> None:
    weights = particles["weight"].to_numpy()
    quick = " with --quick: small runs, NOT a calibration" if args.quick else ""
    lines = [
        "# Calibration fit (ABC-SMC)",
        "",
        f"Made by `python experiments/fit.py` on {provenance['date'][:10]} (model at commit "
        f"{provenance['git_commit']}){quick}. "
        f"Method: {provenance['method']}; setting `{provenance['setting']}`. "
        f"{provenance['generations']} generations of {provenance['population_size']} particles "
        f"(effective sample size of the last: {provenance['effective_sample_size']}; draws "
        "repeat particles when it is small); "
        f"{provenance['runs']} model runs in {provenance['wall_time_seconds'] / 60:.1f} minutes "
        "of wall time here (2 shared cores).",
        "",
        "Epsilon schedule (range distance; 0 = every fitting pattern inside its range): "
        + ", ".join(f"{e:.3g}" for e in provenance["epsilon_schedule"]),
        "",
        *generations_table(provenance),
        "",
        "Stopping rules of the last session's run: at most {generations} generations, epsilon "
        "{min_epsilon:g}, acceptance {min_acceptance:.1%} (0: not used); whichever came first, "
        "or a stop by hand (fit-history.md says which).".format(**provenance["stopping_rules"]),
        "",
        *([f"**Stopped early:** {provenance['stopped']}.", ""] if provenance["stopped"] else []),
        "Fitted patterns: " + ", ".join(provenance["fitted_patterns"]) + ".",
        "Not measured by this model, so not fitted: "
        + (", ".join(provenance["not_measured"]) or "none")
        + ".",
        "",
        "## Posterior",
        "",
        "| parameter | prior | posterior mean | sd | 2.5% | 97.5% |",
        "|---|---|---|---|---|---|",
    ]
    for path, (low, high) in provenance["priors"].items():
        values = particles[path].to_numpy()
        mean = float(np.average(values, weights=weights))
        sd = float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))
        order = np.argsort(values)
        cumulative = np.cumsum(weights[order])
        q = [float(values[order][np.searchsorted(cumulative, c)]) for c in (0.025, 0.975)]
        lines.append(
            f"| `{path}` | U({low:g}, {high:g}) | {mean:.4g} | {sd:.3g} | {q[0]:.4g} | {q[1]:.4g} |"
        )
    per_run = provenance["wall_time_seconds"] / max(provenance["runs"], 1)
    lines += [
        "",
        "## Speed",
        "",
        f"{provenance['runs']} runs, {per_run:.2f} s of wall time per run here with "
        f"{args.workers} worker processes. On a 16-worker Dask cluster (one single-threaded "
        "worker per core, runs of the same size) the same fit would take about "
        f"{provenance['runs'] * per_run * args.workers / 16 / 60:.1f} minutes "
        "(runs x seconds per run per worker / 16; pyabc's look-ahead-free sampler idles "
        "workers at the end of each generation, so expect up to a third more).",
        "",
    ]
    if HISTORY.is_file() and not args.quick and Path(args.report) == REPORT:
        # how each session ran the fit, kept by hand: carried into the shipped report
        lines += [HISTORY.read_text().strip(), ""]
    Path(args.report).write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=200, help="particles per generation")
    parser.add_argument("--generations", type=int, default=8, help="generations to run now")
    parser.add_argument("--min-epsilon", type=float, default=0.0)
    parser.add_argument(
        "--min-acceptance",
        type=float,
        default=0.0,
        help="stop once a generation accepts fewer than this share of its runs (e.g. 0.02)",
    )
    parser.add_argument("--resume", action="store_true", help="continue the fit in the db")
    parser.add_argument("--export", action="store_true", help="only write the posterior")
    parser.add_argument(
        "--kernel",
        choices=list(KERNELS),
        default="beaumont",
        help="perturbation kernel: twice the weighted covariance, or pyabc's default",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", help="a Dask scheduler address instead of local workers")
    parser.add_argument("--quick", action="store_true", help="small runs (a smoke test)")
    parser.add_argument("--db", type=Path, default=DATABASE)
    parser.add_argument("--priors", type=Path, default=PRIORS, help="the priors' TOML file")
    parser.add_argument("--out", type=Path, default=Path(str(POSTERIOR_FILE)))
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args(argv)

    import pyabc

    # pyabc's own progress (one line per generation: epsilon, acceptance, effective sample size)
    logging.getLogger("ABC").setLevel(logging.INFO)
    priors = read_priors(args.priors)
    scenario, fitted, unmeasured = fitting_patterns(args.quick)
    for pattern in unmeasured:
        print(f"not measured by this model, not fitted: {pattern.name}")
    targets = {p.name: fitted_target(p) for p in fitted}
    # Alphabetical names: the order in which a resumed fit reads the last population back.
    prior = pyabc.Distribution(
        **{
            key(path): pyabc.RV("uniform", low, high - low)
            for path, (low, high) in sorted(priors.items(), key=lambda item: key(item[0]))
        }
    )
    db = f"sqlite:///{args.db.resolve()}"
    handle = dask_executor(args.scheduler) if args.scheduler else local_executor(args.workers)
    stopped = None
    try:
        sampler = pyabc.sampler.ConcurrentFutureSampler(handle.executor, 2 * handle.slots)
        kernel = pyabc.MultivariateNormalTransition(**KERNELS[args.kernel][1])
        abc = pyabc.ABCSMC(
            Simulator(scenario, fitted, SEED, args.quick),
            prior,
            range_distance(targets),
            population_size=args.population,
            transitions=kernel,
            eps=pyabc.QuantileEpsilon(alpha=0.5),
            sampler=sampler,
        )
        if args.export or args.resume:
            if not args.db.is_file():
                print(f"error: {args.db}: no fit to resume or export", file=sys.stderr)
                return 2
            history = abc.load(db, 1)
            observed = {name: sum(t) / 2 for name, t in targets.items()}
            if history.observed_sum_stat() != observed:
                print(
                    f"error: {args.db}: fitted with other targets or scales than this script's"
                    f" ({SCALES}); start a new fit (without --resume)",
                    file=sys.stderr,
                )
                return 2
            recorded = history.get_abc().json_parameters
            if recorded != str(fit_identity(priors)):
                flag = "--export" if args.export else "--resume"
                why = (
                    "records no priors (made before fit.py kept them)"
                    if "priors" not in (recorded or "")
                    else f"was fitted with other priors than {args.priors}"
                )
                print(
                    f"error: {args.db}: {why}; it cannot be used with {flag}:"
                    " start a new fit (without --resume or --export)",
                    file=sys.stderr,
                )
                return 2
        else:
            np.random.seed(SEED)
            if args.db.exists():
                args.db.unlink()
            history = abc.new(
                db,
                {name: sum(t) / 2 for name, t in targets.items()},
                meta_info=fit_identity(priors),
            )
        if not args.export:
            try:
                history = abc.run(
                    max_nr_populations=args.generations,
                    minimum_epsilon=args.min_epsilon,
                    min_acceptance_rate=args.min_acceptance,
                )
            except AssertionError as error:  # pyabc: weights not normalised (see docstring)
                stopped = f"pyabc stopped during a generation ({error}); kept the last complete one"
                print(f"warning: {stopped}", file=sys.stderr)
    finally:
        handle.close()
    export(history, priors, fitted, unmeasured, args, stopped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
