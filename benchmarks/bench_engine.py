"""Agent-steps per second of the vectorised engine and of the per-person reference.

    python benchmarks/bench_engine.py [--sizes 1000 10000 100000] [--repeats 3] [--profile]
                                      [--processes N]

For each size N, one organisation of N posts (one trust; above the schema's 50,000 posts per
trust, N / 50,000 equal trusts) is built by each engine, burn-in included, and then timed over
steady-state weeks: the median of `--repeats` timings of a block of steps. The reference takes
fewer steps per block at large N so the whole benchmark runs in a few minutes. Events are not
recorded (the reference does not record them). Also measured: the time and memory of creating
one `Person` Mesa agent per post (CultureModel does so eagerly up to EAGER_AGENT_LIMIT posts).

With `--processes N` each engine is timed in N fresh child processes, alternating engines
round by round, and the figures are medians over the processes, with the ratio of each round
listed: the per-person reference's time for the same seed and weeks was seen to vary by up
to half between processes on this machine (issue 11, session 10), which one process cannot
show.

Results go to benchmarks/results/engine.md (a table with the date, machine and command). The
target (issue 11) is at least 150x the reference at 10,000 posts. To compare with an older
version of the code on a busy machine, use bench_ab.py (CPU-time ratios, interleaved).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import json
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import mesa
import numpy as np
import psutil

from culturesim.engine.model import EAGER_AGENT_LIMIT, CultureModel
from culturesim.engine.reference import ReferenceModel
from culturesim.engine.scenario import load_scenario

MAX_PER_TRUST = 50_000
RESULTS = Path(__file__).resolve().parent / "results" / "engine.md"


def scenario_of_size(posts: int):
    """The baseline scenario with `posts` posts in as few equal trusts as the schema allows."""
    trusts = math.ceil(posts / MAX_PER_TRUST)
    return load_scenario("baseline").with_overrides(
        {
            "organisation.trusts": trusts,
            "organisation.staff_per_trust": posts // trusts,
            "run.steps": 260,
            "run.figures": False,
            "run.record_events": False,
        }
    )


def steps_per_block(engine: str, posts: int) -> int:
    """Steps timed per repeat: about a second of work for each engine."""
    if engine == "vectorised":
        return max(10, min(200, 2_000_000 // posts))
    return max(2, min(20, 100_000 // posts))


def time_engine(engine_class, scenario, steps: int, repeats: int) -> dict:
    """Build once (burn-in included), then the median seconds per step over `repeats` blocks."""
    gc.collect()
    start = time.perf_counter()
    model = engine_class(scenario, seed=1)
    build = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            model.step()
        wall.append((time.perf_counter() - start) / steps)
        cpu.append((time.process_time() - start_cpu) / steps)
    posts = len(model.people) if isinstance(model, ReferenceModel) else model.org.n_posts
    seconds = statistics.median(wall)
    return {
        "posts": posts,
        "build_s": build,
        "step_ms": seconds * 1e3,
        "cpu_ms": statistics.median(cpu) * 1e3,
        "agent_steps_per_s": posts / seconds,
        "steps": steps,
        "staff": float(model.timeseries()["staff"].iloc[-1]),
    }


ENGINES = {"vectorised": CultureModel, "reference": ReferenceModel}


def time_in_processes(size: int, repeats: int, processes: int) -> dict:
    """Each engine timed in `processes` fresh child processes, engines alternating round by
    round; medians over the processes, and each round's reference / vectorised ratio."""
    runs: dict[str, list[dict]] = {name: [] for name in ENGINES}
    for _ in range(processes):
        for name in ENGINES:
            child = subprocess.run(
                [sys.executable, __file__, "--child", name, str(size), str(repeats)],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[name].append(json.loads(child.stdout.splitlines()[-1]))
    row = {}
    for name, timings in runs.items():
        row[name] = {
            key: statistics.median(timing[key] for timing in timings)
            if isinstance(timings[0][key], float)
            else timings[0][key]
            for key in timings[0]
        }
    row["round_ratios"] = [
        r["step_ms"] / v["step_ms"]
        for v, r in zip(runs["vectorised"], runs["reference"], strict=True)
    ]
    return row


def agent_creation_cost(posts: int) -> dict:
    """Seconds and bytes to create one Person agent per post, as CultureModel does eagerly."""
    scenario = scenario_of_size(posts)
    # burn_in=False: only the organisation and people arrays are built before the agents
    model = CultureModel(scenario, seed=1, burn_in=False)
    model._agents_by_post.clear()  # start from no agents (a model this small made them eagerly)
    model.remove_all_agents()
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    start = time.perf_counter()
    for post in range(posts):
        model.person(post)
    seconds = time.perf_counter() - start
    rss_after = psutil.Process().memory_info().rss
    model._agents_by_post.clear()
    model.remove_all_agents()
    gc.collect()
    tracemalloc.start()
    for post in range(posts):
        model.person(post)
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "posts": posts,
        "seconds": seconds,
        "us_per_agent": seconds / posts * 1e6,
        "rss_mb": (rss_after - rss_before) / 2**20,
        "traced_mb": traced / 2**20,
        "bytes_per_agent": traced / posts,
    }


def profile_vectorised(posts: int, steps: int = 50, top: int = 18) -> str:
    """cProfile of CultureModel steps at `posts` posts: the functions that take the time."""
    model = CultureModel(scenario_of_size(posts), seed=1)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        model.step()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GB RAM; Python {platform.python_version()}, "
        f"numpy {np.__version__}, mesa {mesa.__version__}"
    )


def rounds(row: dict) -> str:
    return ", ".join(f"{ratio:.0f}×" for ratio in row["round_ratios"])


def markdown(
    engine_rows: list[dict], creation_rows: list[dict], command: str, repeats: int, load: str
) -> str:
    lines = [
        "# Engine benchmark: vectorised CultureModel vs per-person ReferenceModel",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        f"- load average (1 min) before / after: {load}",
        "- what: baseline scenario at N posts (one trust; 100,000 posts = 2 trusts of 50,000, "
        "the schema's largest trust), seed 1, 52 burn-in weeks in construction, events not "
        f"recorded; median of {repeats} timed blocks of steady-state steps after construction. "
        "Wall time per step, with CPU time of the process in brackets (CPU time is the steadier "
        "figure on a shared machine); agent-steps per second and the ratio use wall time.",
        "",
        "| posts | vectorised ms/step | vectorised agent-steps/s | reference ms/step "
        "| reference agent-steps/s | ratio (CPU ratio) | build (vectorised / reference) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in engine_rows:
        v, r = row["vectorised"], row["reference"]
        lines.append(
            f"| {v['posts']:,} | {v['step_ms']:.2f} ({v['cpu_ms']:.2f}) "
            f"| {v['agent_steps_per_s'] / 1e6:.2f} M "
            f"| {r['step_ms']:.1f} ({r['cpu_ms']:.1f}) | {r['agent_steps_per_s'] / 1e3:.0f} k "
            f"| {r['step_ms'] / v['step_ms']:.0f}× ({r['cpu_ms'] / v['cpu_ms']:.0f}×) "
            f"| {v['build_s']:.2f} s / {r['build_s']:.1f} s |"
        )
    with_rounds = [row for row in engine_rows if "round_ratios" in row]
    if with_rounds:
        lines += [
            "",
            f"Timed in {len(with_rounds[0]['round_ratios'])} fresh processes per engine (medians"
            " above); the ratio of each round: "
            + "; ".join(
                f"{row['vectorised']['posts']:,} posts: {rounds(row)}" for row in with_rounds
            )
            + ".",
        ]
    lines += [
        "",
        "Steps per timed block: "
        + ", ".join(
            f"{row['vectorised']['posts']:,} posts: {row['vectorised']['steps']} vectorised, "
            f"{row['reference']['steps']} reference"
            for row in engine_rows
        )
        + ".",
        "",
        "## Cost of eager Mesa agents",
        "",
        f"CultureModel makes one `Person` agent per post when a run has at most "
        f"{EAGER_AGENT_LIMIT:,} posts, and on demand (`model.person(post)`) above that. "
        "Cost of creating one per post (time without tracing; memory as the growth of the "
        "process's resident set and as bytes traced by tracemalloc):",
        "",
        "| posts | time | µs per agent | RSS growth | traced memory | bytes per agent |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in creation_rows:
        lines.append(
            f"| {row['posts']:,} | {row['seconds']:.3f} s | {row['us_per_agent']:.1f} "
            f"| {row['rss_mb']:.1f} MB | {row['traced_mb']:.1f} MB | {row['bytes_per_agent']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--agent-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown file to write")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of CultureModel at 10,000 posts"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="time each engine in this many fresh processes and take medians (default 1: here)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one engine at one size, timed in this fresh process
        name, size, repeats = args.child[0], int(args.child[1]), int(args.child[2])
        timing = time_engine(
            ENGINES[name], scenario_of_size(size), steps_per_block(name, size), repeats
        )
        print(json.dumps(timing))
        return
    command = "python benchmarks/bench_engine.py " + " ".join(argv or sys.argv[1:])
    load_before = os.getloadavg()[0]

    engine_rows = []
    header = f"{'posts':>8} {'vec ms/step':>12} {'vec Msteps/s':>13} {'ref ms/step':>12} "
    print(header + f"{'ref ksteps/s':>13} {'ratio':>7}", flush=True)
    for size in args.sizes:
        if args.processes > 1:
            row = time_in_processes(size, args.repeats, args.processes)
        else:
            scenario = scenario_of_size(size)
            row = {
                name: time_engine(engine, scenario, steps_per_block(name, size), args.repeats)
                for name, engine in ENGINES.items()
            }
        engine_rows.append(row)
        v, r = row["vectorised"], row["reference"]
        print(
            f"{v['posts']:>8,} {v['step_ms']:>12.2f} {v['agent_steps_per_s'] / 1e6:>13.2f} "
            f"{r['step_ms']:>12.1f} {r['agent_steps_per_s'] / 1e3:>13.1f} "
            f"{r['step_ms'] / v['step_ms']:>6.0f}× (CPU {r['cpu_ms'] / v['cpu_ms']:.0f}×)",
            flush=True,
        )
        if "round_ratios" in row:
            print(f"{'':>8} ratio by process round: {rounds(row)}", flush=True)

    creation_rows = [agent_creation_cost(size) for size in args.agent_sizes]
    for row in creation_rows:
        print(
            f"Person agents for {row['posts']:,} posts: {row['seconds']:.3f} s "
            f"({row['us_per_agent']:.1f} µs each), RSS +{row['rss_mb']:.1f} MB, "
            f"traced {row['traced_mb']:.1f} MB ({row['bytes_per_agent']:.0f} B each)",
            flush=True,
        )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    load = f"{load_before:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    text = markdown(engine_rows, creation_rows, command.strip(), args.repeats, load)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    if args.profile:
        print(profile_vectorised(10_000))


if __name__ == "__main__":
    main()
