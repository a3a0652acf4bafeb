"""Old code against new, interleaved: CPU time per week of two checkouts of culturesim.

    python benchmarks/bench_ab.py OLD_CHECKOUT [--sizes 1000 10000 100000] [--rounds 3]

On a shared machine wall-clock timings are noise; this measures the ratio instead. Each round
runs one child process per checkout and size, alternating old and new, and each child times
steady-state weeks with `time.process_time` (CPU time of that process alone) after building its
model (burn-in included). The ratio old / new is taken per round and the median reported, so
load that comes and goes hits both sides alike. OLD_CHECKOUT is a directory holding the old
`culturesim` package (for example `git archive main | tar -x -C /tmp/old`). Events are not
recorded, as in bench_engine.py. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

NEW_CHECKOUT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, math, sys, time
from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import load_scenario
posts, weeks = int(sys.argv[1]), int(sys.argv[2])
trusts = math.ceil(posts / 50_000)
scenario = load_scenario("baseline").with_overrides({
    "organisation.trusts": trusts, "organisation.staff_per_trust": posts // trusts,
    "run.steps": 1000, "run.figures": False, "run.record_events": False})
started = time.process_time()
model = CultureModel(scenario, seed=1)
build = time.process_time() - started
model.step()  # first week: anything compiled or cached on first use
started = time.process_time()
for _ in range(weeks):
    model.step()
week = (time.process_time() - started) / weeks
print(json.dumps({"build_cpu_s": build, "week_cpu_ms": week * 1e3,
                  "staff": int(model.timeseries()["staff"].iloc[-1])}))
"""


def weeks_for(posts: int) -> int:
    return max(20, min(1000, 3_000_000 // posts))


def child(checkout: Path, posts: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(posts), str(weeks_for(posts))],
        env=env,
        capture_output=True,
        text=True,
        cwd=checkout,
    )
    if out.returncode:
        raise SystemExit(f"{checkout} at {posts} posts failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="directory holding the old culturesim package")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        "| posts | old CPU ms/week | new CPU ms/week | old / new (median of rounds) "
        "| old / new build CPU |"
    )
    print("|---:|---:|---:|---:|---:|")
    for posts in args.sizes:
        old, new = [], []
        for _ in range(args.rounds):
            old.append(child(args.old.resolve(), posts))
            new.append(child(NEW_CHECKOUT, posts))
            if old[-1]["staff"] != new[-1]["staff"]:
                raise SystemExit(f"trajectories differ at {posts} posts: {old[-1]} vs {new[-1]}")
        ratio = statistics.median(
            o["week_cpu_ms"] / n["week_cpu_ms"] for o, n in zip(old, new, strict=True)
        )
        build = statistics.median(
            o["build_cpu_s"] / n["build_cpu_s"] for o, n in zip(old, new, strict=True)
        )
        print(
            f"| {posts:,} | {statistics.median(o['week_cpu_ms'] for o in old):.3f} "
            f"| {statistics.median(n['week_cpu_ms'] for n in new):.3f} | {ratio:.2f}x "
            f"| {build:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
