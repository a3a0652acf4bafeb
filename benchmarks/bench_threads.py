"""The whole `culturesim run` command on one thread and on several, alternated, outputs compared.

    python benchmarks/bench_threads.py [--scenario nhs-england] [--rounds 2] [--threads 1 2]

Each round runs `culturesim run SCENARIO --quiet --out DIR` once per thread count (set with
CULTURESIM_THREADS), in a child process, alternating, so that a change in the machine's load
falls on both. For each run: wall time, user + system CPU time and peak resident memory, read
from the child's own resource usage (`os.wait4`, what `/usr/bin/time -v` reports). The tables
of the first round's run folders are then compared with `pyarrow.Table.equals`: several
threads must give the same outputs as one, bit for bit. Medians over rounds are appended to
benchmarks/results/threads.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from culturesim.files import git_commit

RESULTS = Path(__file__).resolve().parent / "results" / "threads.md"
TABLES = ("timeseries", "events", "episodes", "agents", "trusts")


def run_command(scenario: str, threads: int, out: Path, extra: list[str]) -> dict[str, float]:
    """One `culturesim run` in a child process: wall s, CPU s, peak RSS in MiB (ru_maxrss is
    in KiB on Linux, the 'kbytes' of /usr/bin/time -v)."""
    environment = {**os.environ, "CULTURESIM_THREADS": str(threads)}
    command = [sys.executable, "-m", "culturesim", "run", scenario, "--quiet", "--out", str(out)]
    started = time.perf_counter()
    child = subprocess.Popen([*command, *extra], env=environment)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed with threads={threads}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
    }


def same_outputs(first: Path, second: Path) -> list[str]:
    """The tables that differ between two run folders (empty: the same bit for bit)."""
    differing = []
    for table in TABLES:
        path = f"{table}.parquet"
        if not (first / path).exists() and not (second / path).exists():
            continue
        if not pq.read_table(first / path).equals(pq.read_table(second / path)):
            differing.append(table)
    return differing


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="nhs-england")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--set", action="append", default=[], help="passed to culturesim run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown file to append to")
    args = parser.parse_args(argv)
    extra = [item for setting in args.set for item in ("--set", setting)]

    scratch = Path(tempfile.mkdtemp(prefix="bench-threads-"))
    measured: dict[int, list[dict[str, float]]] = {n: [] for n in args.threads}
    load_before = os.getloadavg()[0]
    try:
        for round_number in range(args.rounds):
            for threads in args.threads:
                folder = scratch / f"round{round_number}-threads{threads}"
                result = run_command(args.scenario, threads, folder, extra)
                measured[threads].append(result)
                print(
                    f"round {round_number + 1}, {threads} thread(s): {result['wall_s']:.1f} s "
                    f"wall, {result['cpu_s']:.1f} s CPU, {result['peak_mib']:.0f} MiB peak",
                    flush=True,
                )
                if round_number > 0:
                    shutil.rmtree(folder)
        first, *others = (scratch / f"round0-threads{n}" for n in args.threads)
        differing = sorted({table for other in others for table in same_outputs(first, other)})
    finally:
        load_after = os.getloadavg()[0]
        shutil.rmtree(scratch, ignore_errors=True)

    baseline = statistics.median(r["wall_s"] for r in measured[args.threads[0]])
    lines = [
        f"## {datetime.date.today()}: `python benchmarks/bench_threads.py --scenario "
        f"{args.scenario} --rounds {args.rounds} --threads "
        f"{' '.join(map(str, args.threads))}{''.join(f' --set {s}' for s in args.set)}`",
        "",
        f"Commit {git_commit()}. "
        f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}; load "
        f"average (1 min) {load_before:.2f} before, {load_after:.2f} after. Whole command "
        "(build, burn-in, every week, every table and figure written); medians over rounds.",
        "",
        "| threads | wall s | CPU s (user + system) | peak RSS MiB | wall speed-up |",
        "|---:|---:|---:|---:|---:|",
    ]
    for threads, results in measured.items():
        wall = statistics.median(r["wall_s"] for r in results)
        lines.append(
            f"| {threads} | {wall:.1f} | {statistics.median(r['cpu_s'] for r in results):.1f} | "
            f"{max(r['peak_mib'] for r in results):.0f} (max) | {baseline / wall:.2f}x |"
        )
    if len(args.threads) == 1:
        verdict = "Outputs: one thread count, nothing compared."
    elif not differing:
        verdict = "Outputs: every table the same bit for bit whatever the threads."
    else:
        verdict = f"Outputs DIFFER between thread counts: {', '.join(differing)}."
    lines += ["", verdict, "", ""]
    with args.out.open("a") as report:
        report.write("\n".join(lines))
    print("\n".join(lines))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
