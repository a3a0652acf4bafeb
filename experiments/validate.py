"""Regenerate docs/validation.md: every pattern against the model under its posterior.

    python experiments/validate.py                      # all stages, 40 posterior draws
    python experiments/validate.py --stage runs         # only the runs (resumable)
    python experiments/validate.py --stage report       # only the report, from the runs
    python experiments/validate.py --quick --out DIR    # reduced: small runs, 4 draws

Runs: for each setting of culturesim/data/patterns.toml, `--draws` runs with parameter sets
drawn from the shipped posterior (draw i with seed SEED + i) and as many at the defaults (the
same seeds). Each run's pattern measures are appended to `experiments/validation/runs.jsonl`
as it finishes, so an interrupted stage resumes where it stopped; the file is started again
when the posterior or the sizes change. Runs go to the project's executors (a local process
pool, or a Dask cluster with --scheduler).

Report: docs/validation.md and docs/validation/patterns.png, with each pattern's source and
target, the model's value under the posterior (posterior predictive mean, the 95% bootstrap
interval of that mean, and the 95% range of single runs) and at the defaults, fitted or held
out, and met or not; then the verification evidence (agreement with the per-person reference
engine, bit-reproducibility).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, wait
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from culturesim.batch.executors import dask_executor, local_executor
from culturesim.batch.patterns import Pattern, load_patterns, pattern_value, run_and_measure
from culturesim.batch.posterior import apply_draw, load_posterior
from culturesim.files import git_commit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNS = HERE / "validation" / "runs.jsonl"
REPORT = ROOT / "docs" / "validation.md"
SEED = 7000
KINDS = ("posterior", "defaults")


def plan(draws: int, quick: bool) -> list[dict]:
    """Every run the report needs: setting x (posterior draw | defaults) x index."""
    patterns = load_patterns()
    posterior = load_posterior()
    chosen = posterior.draw(draws, SEED)
    tasks = []
    for name in patterns.by_setting(patterns.patterns):
        setting = patterns.settings[name]
        measures = tuple(
            dict.fromkeys(p.measure for p in patterns.patterns if name in (p.setting, p.reference))
        )
        base = setting.resolve(quick)
        for kind in KINDS:
            for draw in chosen:
                scenario, applied = apply_draw(base, draw) if kind == "posterior" else (base, {})
                tasks.append(
                    {
                        "key": f"{name}/{kind}/{draw.index}",
                        "setting": name,
                        "kind": kind,
                        "index": draw.index,
                        "particle": draw.particle if kind == "posterior" else None,
                        "seed": draw.seed,
                        "set": applied,
                        "measures": measures,
                        "scenario": scenario,
                    }
                )
    return tasks


def stamp(draws: int, quick: bool) -> dict:
    """What the runs file depends on: the posterior, the sizes, the number of draws."""
    patterns_text = (ROOT / "culturesim" / "data" / "patterns.toml").read_text()
    return {
        "posterior_sha256": load_posterior().sha256,
        "patterns_sha256": hashlib.sha256(patterns_text.encode()).hexdigest(),
        "quick": quick,
        "draws": draws,
    }


def read_runs(path: Path, expected: dict) -> list[dict]:
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    if not lines or json.loads(lines[0]) != expected:
        return []
    runs = []
    for line in lines[1:]:
        try:
            runs.append(json.loads(line))
        except ValueError:
            break  # a line cut short by a kill
    return runs


def run_stage(args: argparse.Namespace, path: Path) -> None:
    expected = stamp(args.draws, args.quick)
    done = {run["key"] for run in read_runs(path, expected)}
    if not done:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(expected) + "\n")
    todo = [task for task in plan(args.draws, args.quick) if task["key"] not in done]
    print(f"validation runs: {len(done)} done, {len(todo)} to run", flush=True)
    handle = dask_executor(args.scheduler) if args.scheduler else local_executor(args.workers)
    try:
        with path.open("a") as journal:
            running = {}
            queue = iter(todo)
            while True:
                while len(running) < 2 * handle.slots:
                    task = next(queue, None)
                    if task is None:
                        break
                    future = handle.executor.submit(
                        _timed, task["scenario"], task["seed"], task["measures"]
                    )
                    running[future] = task
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = running.pop(future)
                    measured, seconds = future.result()
                    record = {k: v for k, v in task.items() if k not in ("scenario", "measures")}
                    journal.write(
                        json.dumps(record | {"values": measured, "wall_time_s": seconds}) + "\n"
                    )
                    journal.flush()
    finally:
        handle.close()


def _timed(scenario, seed: int, measures: tuple) -> tuple[dict, float]:
    started = time.perf_counter()
    return run_and_measure(scenario, seed, measures), time.perf_counter() - started


# --- verification -----------------------------------------------------------------------------


def verification(quick: bool) -> list[str]:
    """Reference-engine agreement and bit-reproducibility, measured now."""
    lines = ["## Verification", ""]
    sys.path.insert(0, str(ROOT))
    try:
        from culturesim.engine.model import CultureModel
        from culturesim.engine.reference import ReferenceModel
        from tests.test_reference import disagreements, end_of_run
    except ImportError as error:
        lines += [f"Reference-engine check not run here ({error}).", ""]
    else:
        seeds = 4 if quick else 20
        reference = end_of_run(ReferenceModel, {}, seeds)
        vectorised = end_of_run(CultureModel, {}, seeds)
        found = disagreements(reference, vectorised)
        lines += [
            f"**Reference engine.** The vectorised engine and the per-person reference engine "
            f"(`culturesim/engine/reference.py`) were run on {seeds} paired seeds of a 300-post "
            f"trust (the rule of `tests/test_reference.py`, which runs 20 seeds and a pressured "
            f"scenario in the test suite): {len(reference.columns)} weekly measures compared, "
            f"{len(found)} disagree"
            + (": " + "; ".join(f"{k}: {v}" for k, v in found.items()) if found else "")
            + "."
            + (
                " (--quick: too few seeds for the rule's 4-SE tolerance to be reliable; this "
                "shows the report's structure, not evidence.)"
                if quick
                else ""
            ),
            "",
        ]
    command = [
        sys.executable,
        "-c",
        "import json,sys; from culturesim import load_scenario, simulate; "
        "s = load_scenario('baseline').with_overrides({'run.steps': 52, "
        "'organisation.staff_per_trust': 500}); "
        "print(json.dumps(simulate(s, seed=11).summary, sort_keys=True, default=str))",
    ]
    outputs = [
        subprocess.run(command, capture_output=True, text=True, cwd=ROOT).stdout for _ in range(2)
    ]
    same = outputs[0] == outputs[1] and outputs[0] != ""
    digest = hashlib.sha256(outputs[0].encode()).hexdigest()[:16]
    lines += [
        f"**Reproducibility.** The same scenario and seed run in two fresh processes gave "
        f"{'bit-identical' if same else 'DIFFERENT'} summaries (sha256 {digest}...). "
        "`tests/test_golden.py` pins short runs' outputs bit for bit in the test suite.",
        "",
    ]
    return lines


# --- the report -------------------------------------------------------------------------------


def _fmt(pattern: Pattern, value: float | None) -> str:
    """A value as the table shows it; next to a bound of the target, with the digits that tell
    on which side it lies (7.98% against 8-10%, not 8.0%; 1.996 years against 2-4, not 2.00)."""
    if value is None or not np.isfinite(value):
        return "n/a"
    for extra in range(4):
        text = _digits(pattern.unit, value, extra)
        if all(
            value == bound or text != _digits(pattern.unit, bound, extra)
            for bound in pattern.target
        ):
            return text
    return text


def _digits(unit: str, value: float, extra: int) -> str:
    if unit == "share":
        return f"{100 * value:.{1 + extra}f}%"
    return f"{value:.{2 + extra}f}" if unit == "years" else f"{value:.{3 + extra}g}"


def _span(pattern: Pattern, span: tuple) -> str:
    if span[0] is None:
        return "n/a"
    return f"{_fmt(pattern, span[0])}-{_fmt(pattern, span[1])}"


def evaluate(runs: list[dict]) -> dict:
    patterns = load_patterns()
    grouped = {kind: {} for kind in KINDS}
    for run in runs:
        grouped[run["kind"]].setdefault(run["setting"], []).append(run["values"])
    rng = np.random.default_rng(SEED)
    return {
        p.name: {kind: pattern_value(p, grouped[kind], rng) for kind in KINDS}
        for p in patterns.patterns
    }


def figure(values: dict, out: Path) -> None:
    from matplotlib.figure import Figure

    patterns = load_patterns().patterns
    columns = 4
    rows = int(np.ceil(len(patterns) / columns))
    fig = Figure(figsize=(3.4 * columns, 1.7 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for axis, pattern in zip(axes.flat, patterns, strict=False):
        low, high = pattern.target
        axis.axvspan(low, high, color="tab:green", alpha=0.25, linewidth=0)
        for y, kind, colour in ((1, "posterior", "tab:blue"), (0, "defaults", "0.4")):
            result = values[pattern.name][kind]
            if result["value"] is None:
                continue
            spread = result["spread"] if result["spread"][0] is not None else result["interval"]
            if spread[0] is not None:
                axis.plot(spread, [y, y], color=colour, linewidth=1)
            axis.plot([result["value"]], [y], "o", color=colour, markersize=5)
        if all(values[pattern.name][kind]["value"] is None for kind in KINDS):
            axis.text(0.5, 0.5, "not measured", transform=axis.transAxes, ha="center", va="center")
        axis.set_yticks([0, 1], ["defaults", "posterior"], fontsize=7)
        axis.set_ylim(-0.6, 1.6)
        axis.tick_params(axis="x", labelsize=7)
        tag = "fit" if pattern.fitting else "held out"
        axis.set_title(f"{pattern.name} ({tag})", fontsize=8)
    for axis in list(axes.flat)[len(patterns) :]:
        axis.set_visible(False)
    fig.suptitle(
        "Target range (green); model mean (dot) and 95% range of single runs (line)", fontsize=9
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def report(args: argparse.Namespace, runs_path: Path, out: Path) -> None:
    expected = stamp(args.draws, args.quick)
    runs = read_runs(runs_path, expected)
    if not runs:
        raise SystemExit(f"{runs_path}: no runs for this posterior and size; run --stage runs")
    patterns = load_patterns()
    values = evaluate(runs)
    posterior = load_posterior()
    fit = posterior.provenance
    picture = out.parent / "validation" / "patterns.png"
    figure(values, picture)
    seconds = sum(run["wall_time_s"] for run in runs)
    met = {
        use: [values[p.name]["posterior"]["met"] for p in patterns.patterns if p.use == use]
        for use in ("fitting", "held_out")
    }
    lines = [
        "# Validation report",
        "",
        "<!-- generated by `python experiments/validate.py`; do not edit -->",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d} from the model at commit "
        f"{git_commit() or 'unknown'}{' with --quick (small runs: the structure, not the numbers)' if args.quick else ''}. "  # noqa: E501
        f"{len(runs)} runs ({args.draws} posterior draws and {args.draws} default runs per "
        f"setting), {_duration(seconds)} of run time here (the sum over runs; 2 shared "
        f"cores); on a 16-worker Dask cluster about {_duration(seconds / 16)} of wall time.",
        "",
        "## How to read this, and how to reject the model",
        "",
        "Each pattern is a figure from a published source, measured in the model the way the "
        "source measured it (culturesim/data/patterns.toml holds the sources and measure "
        "definitions; culturesim/batch/patterns.py the code). **Fitting** patterns were used "
        "by the calibration; **held-out** patterns were set aside before it (the split is "
        "committed in the history of patterns.toml before the posterior) and test the model "
        "on what it was not fitted to. A pattern is **met** when the model's posterior "
        "predictive mean lies inside the target range. The interval in brackets is the 95% "
        "bootstrap interval of that mean; 'single runs' is the range of 95% of single runs "
        "(one trust-sample, one parameter draw, one seed): parameter uncertainty and seed "
        "noise together. 'not measured' means the model has no output that measures the "
        "pattern yet: that is a gap, not a pass.",
        "",
        "A reader should reject the model for a purpose when a held-out pattern bearing on that "
        "purpose is not met: a model that meets its fitting patterns and fails its held-out "
        "ones is a curve fit, not an explanation.",
        "",
        f"**Fitting patterns met: {sum(m is True for m in met['fitting'])} of "
        f"{len(met['fitting'])}** ({sum(m is None for m in met['fitting'])} not measured). "
        f"**Held-out patterns met: {sum(m is True for m in met['held_out'])} of "
        f"{len(met['held_out'])}** ({sum(m is None for m in met['held_out'])} not measured).",
        "",
        "## The posterior",
        "",
        f"{fit.get('method', 'unknown method')}; {fit.get('generations', '?')} generations of "
        f"{fit.get('population_size', '?')} particles (effective sample size "
        f"{fit.get('effective_sample_size', '?')}), {fit.get('runs', '?')} runs, final "
        f"epsilon {(fit.get('epsilon_schedule') or ['?'])[-1]}, fitted {fit.get('date', '?')} "
        f"at commit {fit.get('git_commit', '?')}"
        + (" **with --quick (small runs): not a calibration**" if fit.get("quick") else "")
        + ". Parameters: "
        + ", ".join(f"`{p}`" for p in posterior.parameters)
        + ". Details: experiments/calibration/fit.md.",
        "",
        "## Patterns",
        "",
        "| level | pattern | use | target | model, posterior [95% of mean] | single runs | "
        "defaults | met | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for pattern in patterns.patterns:
        post, default = values[pattern.name]["posterior"], values[pattern.name]["defaults"]
        verdict = {True: "yes", False: "**no**", None: "not measured"}[post["met"]]
        lines.append(
            f"| {pattern.level} | {pattern.label} (`{pattern.name}`) | "
            f"{'fitting' if pattern.fitting else 'held out'} | "
            f"{_span(pattern, pattern.target)} | {_fmt(pattern, post['value'])} "
            f"[{_span(pattern, post['interval'])}] | {_span(pattern, post['spread'])} | "
            f"{_fmt(pattern, default['value'])} | {verdict} | {pattern.source} |"
        )
    lines += [
        "",
        f"![patterns]({picture.relative_to(out.parent).as_posix()})",
        "",
        "## How each pattern is measured",
        "",
    ]
    for pattern in patterns.patterns:
        setting = patterns.settings[pattern.setting]
        lines.append(
            f"- `{pattern.name}` ({pattern.level}): {pattern.measured}. Setting "
            f"`{setting.name}`: {setting.about}."
        )
    lines += ["", *verification(args.quick)]
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out} and {picture}")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} seconds" if seconds < 120 else f"{seconds / 60:.1f} minutes"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=["runs", "report", "all"], default="all")
    parser.add_argument("--draws", type=int, default=None, help="posterior draws (default 40)")
    parser.add_argument("--quick", action="store_true", help="small runs, 4 draws")
    parser.add_argument("--out", type=Path, default=None, help="folder for validation.md")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", help="a Dask scheduler address")
    args = parser.parse_args(argv)
    args.draws = args.draws or (4 if args.quick else 40)
    out = (args.out / "validation.md") if args.out else REPORT
    runs_path = (args.out / "runs.jsonl") if args.out else RUNS
    if args.stage in ("runs", "all"):
        run_stage(args, runs_path)
    if args.stage in ("report", "all"):
        report(args, runs_path, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
