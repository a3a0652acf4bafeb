"""Runs per core-second of small models: replicates alone against side by side in one model.

    python benchmarks/bench_side_by_side.py [--runs 32] [--packs 4 16 32] [--rounds 3]
                                            [--filed CHECKOUT]

A sweep's worker runs a design point's replicates side by side in one model
(culturesim.engine.replicates); this measures what that buys, in CPU time (`time.process_time`,
steadier than wall time on a shared machine), one child process per measurement, alternating
the kinds in each round and taking medians over rounds:

1. Baseline-size runs (the bundled `baseline`: 2,000 posts, 52 burn-in and 260 recorded
   weeks), each as a sweep's worker runs it: `--runs` seeds one by one
   (`culturesim.batch.worker.default_run`), then side by side in models of each of `--packs`
   replicates (`default_runs`), after the worker's own start (`freeze_long_lived`, where the
   code has it). Reported: CPU per run, runs per core-second and the gain. Use `--runs 64` or
   more: a full garbage collection (0.1 s before session 11) falls in a measurement or not.
   `--filed CHECKOUT` also times `simulate(baseline)` one by one with the code in CHECKOUT
   (issue 11's "now": `git archive 9c8174c | tar -x -C CHECKOUT`); `--old CHECKOUT` times
   the same alone and side-by-side runs with an older checkout that has them (session 8 on),
   alternated with this one's, for an old / new ratio of each.
2. 1,000-post weeks: CPU per replicate-week of steady-state weeks (after the build, events
   not recorded), alone and side by side in a model of the largest pack: issue 11's "1k-post
   week under 0.3 ms, or an equivalent gain for small-model sweeps".

Results are appended to benchmarks/results/side_by_side.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "side_by_side.md"

RUNS = r"""
import json, sys, time
from culturesim.engine.scenario import load_scenario
runs, pack = int(sys.argv[1]), int(sys.argv[2])
scenario = load_scenario("baseline")
if pack == 0:  # the code of another checkout: its own plain run
    from culturesim.run.simulate import simulate
    simulate(scenario, seed=10_000)  # anything loaded or compiled on first use
    started = time.process_time()
    for seed in range(runs):
        simulate(scenario, seed=seed)
else:
    from culturesim.batch.worker import default_run, default_runs
    default_run(scenario, 10_000)
    try:  # what a sweep's worker process does before its runs (session 11 on)
        from culturesim.batch.worker import freeze_long_lived
        freeze_long_lived()
    except ImportError:
        pass
    started = time.process_time()
    if pack == 1:
        for seed in range(runs):
            default_run(scenario, seed)
    else:
        for first in range(0, runs, pack):
            default_runs(scenario, list(range(first, min(first + pack, runs))))
print(json.dumps({"cpu_per_run_s": (time.process_time() - started) / runs}))
"""

WEEKS = r"""
import json, sys, time
from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import load_scenario
pack, weeks = int(sys.argv[1]), int(sys.argv[2])
scenario = load_scenario("baseline").with_overrides(
    {"organisation.staff_per_trust": 1000, "run.steps": 5_000, "run.record_events": False}
)
model = CultureModel(scenario, seeds=list(range(pack)))
model.step()
started = time.process_time()
for _ in range(weeks):
    model.step()
cpu = time.process_time() - started
print(json.dumps({"cpu_per_replicate_week_ms": cpu / weeks / pack * 1e3}))
"""


def child(code: str, *args: int, checkout: Path = REPO) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        cwd=checkout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed ({checkout}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=32)
    parser.add_argument("--packs", type=int, nargs="+", default=[4, 16, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--weeks", type=int, default=300, help="1,000-post weeks timed")
    parser.add_argument("--filed", type=Path, help="a checkout of the code issue 11 measured")
    parser.add_argument("--old", type=Path, help="an older checkout with side-by-side runs")
    args = parser.parse_args()

    kinds = [1, *args.packs] + ([0] if args.filed else [])
    old_kinds = [-kind for kind in (1, *args.packs)] if args.old else []
    per_run: dict[int, list[float]] = {kind: [] for kind in kinds + old_kinds}
    week_pack = max(args.packs)
    per_week: dict[int, list[float]] = {1: [], week_pack: []}
    for round_ in range(args.rounds):
        for kind in kinds + old_kinds:
            checkout = args.filed if kind == 0 else args.old if kind < 0 else REPO
            measured = child(RUNS, args.runs, abs(kind), checkout=checkout)
            per_run[kind].append(measured["cpu_per_run_s"])
        for pack in per_week:
            per_week[pack].append(child(WEEKS, pack, args.weeks)["cpu_per_replicate_week_ms"])
        latest = {kind: f"{values[-1] * 1e3:.0f} ms" for kind, values in per_run.items()}
        print(f"round {round_ + 1} of {args.rounds}: CPU per run {latest}", file=sys.stderr)

    alone = statistics.median(per_run[1])
    rows = []
    for kind in kinds:
        cpu = statistics.median(per_run[kind])
        if kind == 0:
            what = f"the code in {args.filed}, one by one"
        else:
            what = "alone, one by one" if kind == 1 else f"side by side, {kind} a model"
        rows.append(f"| {what} | {cpu * 1e3:.0f} | {1 / cpu:.2f} | {alone / cpu:.2f}x |")
    old_alone = statistics.median(per_run[-1]) if old_kinds else None
    for kind in old_kinds:  # against the old code's own run alone
        cpu = statistics.median(per_run[kind])
        how = "alone, one by one" if kind == -1 else f"side by side, {-kind} a model"
        ratios = [old / new for old, new in zip(per_run[kind], per_run[-kind], strict=True)]
        rows.append(
            f"| the code in {args.old}, {how} (old / new {statistics.median(ratios):.2f}x) "
            f"| {cpu * 1e3:.0f} | {1 / cpu:.2f} | {old_alone / cpu:.2f}x (its own alone) |"
        )
    against_filed = []
    if args.filed:  # issue 11's target is a ratio to this code: each round's, to see the spread
        for pack in args.packs:
            rounds = ", ".join(
                f"{filed / side:.2f}x"
                for filed, side in zip(per_run[0], per_run[pack], strict=True)
            )
            against_filed.append(
                f"The code in {args.filed} against {pack} a model side by side, round by round:"
                f" {rounds}."
            )
    alone_week = statistics.median(per_week[1])
    side_week = statistics.median(per_week[week_pack])
    load = os.getloadavg()[0]
    cpu_name = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    command = "python benchmarks/bench_side_by_side.py " + " ".join(sys.argv[1:])
    text = "\n".join(
        [
            f"## {datetime.date.today().isoformat()}: `{command.strip()}`",
            "",
            f"{cpu_name}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"load average (1 min) {load:.2f} at the end. CPU time, medians of "
            f"{args.rounds} rounds, one child process per measurement.",
            "",
            f"Baseline-size runs ({args.runs} seeds, as a sweep's worker runs them):",
            "",
            "| how | CPU ms per run | runs per core-second | against alone |",
            "|---|---:|---:|---:|",
            *rows,
            "",
            *(f"{line}\n" for line in against_filed),
            f"1,000-post weeks ({args.weeks} steady-state weeks): {alone_week:.3f} ms alone, "
            f"{side_week:.3f} ms per replicate-week with {week_pack} side by side "
            f"({alone_week / side_week:.2f}x).",
            "",
        ]
    )
    print(text)
    previous = RESULTS.read_text() if RESULTS.is_file() else "# Replicates side by side\n\n"
    RESULTS.write_text(previous.rstrip("\n") + "\n\n" + text + "\n")
    print(f"appended to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
