"""How fast a whole-NHS week could go run by blocks of whole trusts: the ceiling, measured.

    python benchmarks/bench_blocks.py [--weeks 12] [--rounds 2]

Issue 11's 45-s target for `culturesim run nhs-england` needs the whole week in parallel, not
only the rules and passes that run on threads today. Trusts are independent within a week, so
the week could run as blocks of whole trusts, one a core. This measures what that would give
before anyone builds it: two half-size national models (105 trusts each, seeds 1 and 2) stepped
at the same time, each in a thread of its own and on one thread (numpy and numba release the
interpreter lock), against the whole model (210 trusts) on two threads with its measures
worked out alongside, as `culturesim run` does. Every trust has the national mean size
(`organisation.trust_size_spread = 0`), so the halves are exactly half the whole each: with
drawn sizes the larger half would set the pace. Each model is built without burn-in and
warmed for two weeks on its threads; then `--weeks` weeks are timed (wall and process CPU),
`--rounds` times, alternating. The halves are the ceiling: a week by blocks would also draw
every random number from the run's own streams in post order and number people and episodes
across blocks, which costs synchronisation the halves do not pay.

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
    start = threading.Barrier(len(models) + 1)

    def step(model: CultureModel) -> None:
        with week_threads(threads_each):
            for _ in range(2):  # warm-up: kernels loaded and pools made for these threads
                model.step()
            model.settle_records()
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


def national(trusts: int):
    return load_scenario("nhs-england").with_overrides(
        {"organisation.trusts": trusts, "organisation.trust_size_spread": 0.0}
    )


def whole(weeks: int) -> tuple[float, float]:
    model = CultureModel(national(210), seed=1, burn_in=False)
    model.records_alongside = True  # as culturesim's run loop does
    return time_weeks([model], weeks, threads_each=2)


def halves(weeks: int) -> tuple[float, float]:
    models = [CultureModel(national(105), seed=seed, burn_in=False) for seed in (1, 2)]
    assert models[0].org.n_posts == models[1].org.n_posts  # every trust the same size
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
        "| whole model (210 trusts of equal size) on 2 threads, measures alongside"
        f" | {wall['whole']:.1f} | {cpu['whole']:.1f} |",
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
