"""Cost of a causal cascade measurement relative to a plain run (target: at most 2.2x).

    python benchmarks/bench_causal.py [--sizes 2000 20000] [--repeats 3]

For each size N (the baseline scenario with N posts in one trust, 260 weeks, seed 1): the
median of `--repeats` timings of
- a plain run: `simulate(scenario)`, everything a run folder's tables need;
- a causal measurement: `simulate(scenario, causal=True)`, the same run plus its twin without
  the victimisation channel (same seed, same process; the twin keeps no events or snapshots,
  which the causal measures do not read).
Wall and CPU time of the process are both given (CPU time is the steadier figure on a shared
machine). Results go to benchmarks/results/causal.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from culturesim.engine.scenario import load_scenario
from culturesim.run.simulate import simulate

RESULTS = Path(__file__).resolve().parent / "results" / "causal.md"
TARGET = 2.2


def timed(function, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `repeats` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu)


def measure(posts: int, repeats: int) -> dict:
    scenario = load_scenario("baseline").with_overrides(
        {"organisation.staff_per_trust": posts, "run.steps": 260, "run.seed": 1}
    )
    plain = timed(lambda: simulate(scenario), repeats)
    causal = timed(lambda: simulate(scenario, causal=True), repeats)
    return {"posts": posts, "plain": plain, "causal": causal}


def markdown(rows: list[dict], command: str, load: tuple[float, float]) -> str:
    lines = [
        "# Causal cascade measurement: cost relative to a plain run",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}, numpy {np.__version__}",
        f"- command: `{command}`",
        f"- load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f}",
        "- what: baseline at N posts, 260 weeks, seed 1; plain = `simulate(scenario)`; causal = "
        "`simulate(scenario, causal=True)` (the run and its twin without victimisation, one "
        f"process). Target: causal / plain at most {TARGET}x.",
        "",
        "| posts | plain s (CPU) | causal s (CPU) | ratio (CPU ratio) |",
        "|---:|---:|---:|---:|",
    ]
    for row in rows:
        (pw, pc), (cw, cc) = row["plain"], row["causal"]
        lines.append(
            f"| {row['posts']:,} | {pw:.2f} ({pc:.2f}) | {cw:.2f} ({cc:.2f}) | "
            f"{cw / pw:.2f}x ({cc / pc:.2f}x) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    before = os.getloadavg()[0]
    rows = [measure(posts, args.repeats) for posts in args.sizes]
    text = markdown(rows, " ".join(["python", *sys.argv]), (before, os.getloadavg()[0]))
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
