"""Where a week goes: each phase's wall and CPU time, on one thread and on several.

    python benchmarks/bench_phases.py [--scenario nhs-england] [--weeks 8] [--threads 1 2]

Builds the scenario once per thread count in a child process (`CULTURESIM_THREADS`), steps two
weeks to warm up, then times each phase of `culturesim.engine.phases.PHASES` over `--weeks`
weeks with `time_phases` (wall) and the whole week in CPU time (`time.process_time`, every
thread of the process). Phases the engine runs on threads (Eq. 1 in behaviour and adaptation,
the per-person rules) shrink with more threads; the rest is what a faster week must cut or
share out next (issue 11). On several threads a large model works out its measures on a thread
of their own while the next week begins (culturesim.engine.recorder): the `record` row is then
only the hand-over, and what the measures cost shows in the next week's early phases, which
share the cores with them (`adaptation` waits for them if they are not done; they usually
are). Appends a markdown table to benchmarks/results/phases.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from bench_threads import cpu_name  # the same CPU line as the threads benchmark

from culturesim.files import git_commit

RESULTS = Path(__file__).resolve().parent / "results" / "phases.md"

CHILD = """
import json, sys, time
from culturesim import load_scenario
from culturesim.engine.model import CultureModel
from culturesim.engine.week import time_phases
scenario = load_scenario(sys.argv[1])
model = CultureModel(scenario, seed=1)
model.records_alongside = True  # as in culturesim's run loop (run_weeks)
time_phases(model, 2)
weeks = int(sys.argv[2])
started = time.process_time()
seconds = time_phases(model, weeks)
cpu = time.process_time() - started
print(json.dumps({"posts": int(model.org.n_posts), "phases": (seconds / weeks).to_dict(),
                  "cpu": cpu / weeks}))
"""


def measure(scenario: str, weeks: int, threads: int) -> dict:
    env = {**os.environ, "CULTURESIM_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, scenario, str(weeks)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def milliseconds(seconds: float) -> str:
    return f"{1000 * seconds:.1f}" if seconds >= 0.001 else f"{1000 * seconds:.3f}"


def table(scenario: str, weeks: int, results: dict[int, dict]) -> str:
    threads = sorted(results)
    posts = results[threads[0]]["posts"]
    commit = git_commit() or "unknown"
    load = os.getloadavg()[0]
    lines = [
        f"## {datetime.date.today()}: `python benchmarks/bench_phases.py --scenario {scenario}"
        f" --weeks {weeks} --threads {' '.join(map(str, threads))}`",
        "",
        f"Commit {commit}; {cpu_name()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}; {posts:,} posts; load average (1 min) {load:.2f}"
        f" at the end. Milliseconds per week, wall, mean over {weeks} weeks after 2 warm-up weeks.",
        "",
        "| phase | " + " | ".join(f"{t} thread{'s' * (t > 1)}" for t in threads) + " |",
        "|---|" + "---:|" * len(threads),
    ]
    for phase in results[threads[0]]["phases"]:
        cells = [milliseconds(results[t]["phases"][phase]) for t in threads]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    walls = [f"**{milliseconds(sum(results[t]['phases'].values()))}**" for t in threads]
    lines.append("| whole week (wall) | " + " | ".join(walls) + " |")
    cpus = [milliseconds(results[t]["cpu"]) for t in threads]
    lines.append("| whole week (CPU, all threads) | " + " | ".join(cpus) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="nhs-england")
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    results = {t: measure(args.scenario, args.weeks, t) for t in args.threads}
    report = table(args.scenario, args.weeks, results)
    print(report)
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        if out.tell() == 0:
            out.write("# A week's phases\n\n" + __doc__.split("\n\n", 2)[2].strip() + "\n\n")
        out.write(report + "\n")


if __name__ == "__main__":
    main()
