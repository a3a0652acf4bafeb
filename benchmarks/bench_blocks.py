"""How fast a whole-NHS week could go run by blocks of whole trusts: the ceiling, measured.

    python benchmarks/bench_blocks.py [--weeks 12] [--rounds 2]

Issue 11's 45-s target for `culturesim run nhs-england` needs the whole week in parallel, not
only the rules and passes that run on threads today. Trusts are independent within a week, so
the week could run as blocks of whole trusts, one a core. This measures what that would give
before anyone builds it: two half-size national models (105 trusts each, seeds 1 and 2) stepped
at the same time, each in a thread of its own and on one thread (numpy and numba release the
interpreter lock), against the whole model (210 trusts) on two threads with its measures
worked out alongside, as `culturesim run` does. Each model is built without burn-in and warmed
for two weeks; then `--weeks` weeks are timed (wall and process CPU), `--rounds` times,
alternating. The halves are the ceiling: a week by blocks would also draw every random number
from the run's own streams in post order and number people and episodes across blocks, which
costs synchronisation the halves do not pay.

Appends a markdown table to benchmarks/results/blocks.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import threading
import time
from pathlib import Path

from bench_threads import cpu_name  # the same CPU line as the threads benchmark

from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import load_scenario
from culturesim.engine.threads import week_threads
from culturesim.files import git_commit

RESULTS = Path(__file__).resolve().parent / "results" / "blocks.md"


def time_weeks(models: list[CultureModel], weeks: int, threads_each: int) -> tuple[float, float]:
    """Milliseconds a week (wall, CPU) with each model stepped in a thread of its own."""
    for model in models:
        for _ in range(2):
            model.step()
    start = threading.Barrier(len(models) + 1)

    def step(model: CultureModel) -> None:
        with week_threads(threads_each):
            start.wait()
            for _ in range(weeks):
                model.step()
            model.settle_records()

    workers = [threading.Thread(target=step, args=(model,)) for model in models]
    for worker in workers:
        worker.start()
    start.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.join()
    return (time.perf_counter() - wall) / weeks * 1e3, (time.process_time() - cpu) / weeks * 1e3


def whole(weeks: int) -> tuple[float, float]:
    model = CultureModel(load_scenario("nhs-england"), seed=1, burn_in=False)
    model.records_alongside = True  # as culturesim's run loop does
    return time_weeks([model], weeks, threads_each=2)


def halves(weeks: int) -> tuple[float, float]:
    half = load_scenario("nhs-england").with_overrides({"organisation.trusts": 105})
    models = [CultureModel(half, seed=seed, burn_in=False) for seed in (1, 2)]
    return time_weeks(models, weeks, threads_each=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    results: dict[str, list[tuple[float, float]]] = {"whole": [], "halves": []}
    load_before = os.getloadavg()[0]
    for round_ in range(args.rounds):
        for name, way in (("whole", whole), ("halves", halves)):
            results[name].append(way(args.weeks))
            wall, cpu = results[name][-1]
            print(
                f"round {round_ + 1}: {name}: {wall:.1f} ms a week wall, {cpu:.1f} CPU", flush=True
            )
    wall = {name: statistics.median(w for w, _ in runs) for name, runs in results.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in results.items()}
    lines = [
        f"## {datetime.date.today()}: `python benchmarks/bench_blocks.py --weeks {args.weeks}"
        f" --rounds {args.rounds}`",
        "",
        f"Commit {git_commit() or 'unknown'}; {cpu_name()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}; load average (1 min) {load_before:.2f} before,"
        f" {os.getloadavg()[0]:.2f} after. Milliseconds a week, medians of {args.rounds} rounds"
        f" of {args.weeks} weeks.",
        "",
        "| how | wall | CPU |",
        "|---|---:|---:|",
        f"| whole model (210 trusts) on 2 threads, measures alongside | {wall['whole']:.1f}"
        f" | {cpu['whole']:.1f} |",
        f"| two halves (105 trusts each) at once, one thread each | {wall['halves']:.1f}"
        f" | {cpu['halves']:.1f} |",
        f"| whole / halves | {wall['whole'] / wall['halves']:.2f}x | |",
        "",
    ]
    with RESULTS.open("a") as out:
        if RESULTS.stat().st_size == 0:
            out.write("# A week by blocks of whole trusts: the ceiling (issue 11)\n\n")
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
