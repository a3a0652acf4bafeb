"""Wall time and peak memory of a whole-NHS run: ~210 trusts, ~1.4 million staff, 260 weeks.

    python benchmarks/bench_nhs.py [--steps 260] [--seed 1]

Runs the `nhs-england` scenario (or, if scenarios/nhs-england.toml is missing, the baseline
with 210 trusts of 6,700 posts on average, log-normal spread 0.4) in this process, as
`culturesim.simulate` does: build the model (burn-in included), step it week by week with
every bullying act recorded, then gather the timeseries, events, episodes and final people
table. Reports wall time (build, run, gathering, total) and the peak resident memory
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`, the process's high-water mark), and CPU time
beside each wall time (the steadier figure on a shared machine). Targets (issue 11): under
45 s and under 1 GB. The whole command with every output written is measured with
`/usr/bin/time -v culturesim run nhs-england --out DIR --overwrite --quiet`. Results go to
benchmarks/results/nhs.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import sys
import time
from pathlib import Path

import mesa
import numpy as np
import psutil

from culturesim.engine.model import CultureModel
from culturesim.engine.scenario import SCENARIO_DIR, load_scenario

RESULTS = Path(__file__).resolve().parent / "results" / "nhs.md"
TARGET_SECONDS = 45
TARGET_GB = 1.0


def nhs_scenario(steps: int, seed: int):
    settings = {"run.steps": steps, "run.seed": seed, "run.figures": False}
    if (SCENARIO_DIR / "nhs-england.toml").is_file():
        return load_scenario("nhs-england").with_overrides(settings), "nhs-england"
    fallback = {
        "organisation.trusts": 210,
        "organisation.staff_per_trust": 6700,
        "organisation.trust_size_spread": 0.4,
    }
    scenario = load_scenario("baseline").with_overrides({**fallback, **settings})
    return scenario, "baseline + overrides"


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30  # KB on Linux


def machine() -> str:
    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GB RAM; Python {platform.python_version()}, "
        f"numpy {np.__version__}, mesa {mesa.__version__}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=260)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown file to write")
    args = parser.parse_args(argv)
    command = ("python benchmarks/bench_nhs.py " + " ".join(argv or sys.argv[1:])).strip()

    scenario, source = nhs_scenario(args.steps, args.seed)
    load_before = os.getloadavg()[0]
    start, start_cpu = time.perf_counter(), time.process_time()
    model = CultureModel(scenario)
    build = time.perf_counter() - start
    build_cpu = time.process_time() - start_cpu
    after_build_gb = psutil.Process().memory_info().rss / 2**30
    print(
        f"built {model.org.n_posts:,} posts in {model.org.n_trusts} trusts in {build:.1f} s "
        f"(RSS {after_build_gb:.2f} GB)",
        flush=True,
    )

    start, start_cpu = time.perf_counter(), time.process_time()
    slowest = 0.0
    for week in range(scenario.run.steps):
        tick = time.perf_counter()
        model.step()
        slowest = max(slowest, time.perf_counter() - tick)
        if (week + 1) % 52 == 0:
            print(f"  week {week + 1}: {time.perf_counter() - start:.1f} s", flush=True)
    run = time.perf_counter() - start
    run_cpu = time.process_time() - start_cpu

    start, start_cpu = time.perf_counter(), time.process_time()
    timeseries = model.timeseries()
    events = model.events()
    episodes = model.episodes()
    people = model.people_frame()
    gather = time.perf_counter() - start
    gather_cpu = time.process_time() - start_cpu
    total = build + run + gather
    total_cpu = build_cpu + run_cpu + gather_cpu
    load = f"{load_before:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    peak = peak_rss_gb()

    rows = [
        ("scenario", f"{source}: {model.org.n_trusts} trusts, {model.org.n_posts:,} posts"),
        ("weeks", f"{scenario.run.steps} (after 52 burn-in weeks in the build)"),
        ("build (organisation, people, burn-in)", f"{build:.1f} s (CPU {build_cpu:.1f} s)"),
        (
            "run",
            f"{run:.1f} s (CPU {run_cpu:.1f} s; {run / scenario.run.steps * 1e3:.0f} ms "
            f"per week, slowest {slowest * 1e3:.0f} ms)",
        ),
        (
            "gather tables (timeseries, events, episodes, people)",
            f"{gather:.1f} s (CPU {gather_cpu:.1f} s)",
        ),
        ("total wall time", f"{total:.1f} s (CPU {total_cpu:.1f} s; target < {TARGET_SECONDS} s)"),
        ("RSS after build", f"{after_build_gb:.2f} GB"),
        ("peak RSS (ru_maxrss)", f"{peak:.2f} GB (target < {TARGET_GB:g} GB)"),
        (
            "recorded",
            f"{len(timeseries)} weeks, {len(events):,} events, "
            f"{len(episodes):,} episodes, {len(people):,} people rows",
        ),
        ("agent-steps per second", f"{model.org.n_posts * scenario.run.steps / run / 1e6:.1f} M"),
    ]
    verdict = "meets" if total < TARGET_SECONDS and peak < TARGET_GB else "MISSES"
    lines = [
        "# Whole-NHS benchmark",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        f"- load average (1 min) before / after: {load}",
        f"- verdict: {verdict} the targets (< {TARGET_SECONDS} s wall, < {TARGET_GB:g} GB peak)",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, value in rows:
        print(f"{name:>55}: {value}")
    print(f"{verdict} the targets; wrote {args.out}")


if __name__ == "__main__":
    main()
