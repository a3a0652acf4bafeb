"""How fast the page answers: a Step with both arms redrawn, and the national view's first paint.

1. Step + redraw with a branch (issue 12 target: under 0.5 s at baseline size). Times what the
   page does after Step on the Outcomes tab and the Organisation tab (`culturesim.viz.pictures`):
   both arms' week, the outcomes of both arms, their difference with the shaded interval of
   `--pairs` replicate pairs (run to completion before the timing starts), one directorate with
   a chosen person's lineage, and that person's history, each rendered to PNG. The browser's
   share (a websocket round trip, decoding PNGs) is not included.
2. The national view's first paint after `nhs-england` is built (target: under 2 s): the per-
   trust values and tile colours of every measure, the Python side of drawing the tiles (median
   of `--repeats`). The build itself (about 20 s) is reported but not part of the target.
   `--no-national` skips it.
3. With `--browser`, the same first paint as a user sees it: `culturesim viz nhs-england` in
   Debian's Chromium (Playwright), from the click on the National view tab, after the build, to
   all 210 tiles shown (`--repeats` page loads, each building its own run).

CPU time is reported beside wall time: on a shared machine wall time also measures the
neighbours.

Run: python benchmarks/bench_viz.py [--steps 20] [--pairs 4] [--scenario baseline]
     [--repeats 5] [--no-national] [--browser]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

from culturesim.viz import national, pictures, views
from culturesim.viz.lineage import involved_people
from culturesim.viz.replicates import ReplicatePairs, plan_of
from culturesim.viz.session import BRANCH, Session, VizModel

STEP_TARGET_S = 0.5
TABS = {
    "on Outcomes tab": ("outcomes", "difference"),
    "on Organisation": ("directorate", "history"),
}
NATIONAL_TARGET_S = 2.0


def step_and_redraw(run: Session, director: int) -> dict[str, float]:
    """One Step of both arms and the redraw of the Outcomes and Organisation tabs, by part."""
    times = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    run.step()
    times["step both arms"] = time.perf_counter() - started
    posts = views.directorate_posts(run.main.org, director)
    people = involved_people(run.branch, posts)
    post = people[0][0] if people else None
    chosen = pictures.chosen_lineage(run, BRANCH, post)
    focus = pictures.resolve_focus(run, BRANCH, "chosen person", 0, director, post)
    parts = {
        "outcomes": lambda: pictures.plots_figure(run),
        "difference": lambda: pictures.difference_figure(run),
        "directorate": lambda: pictures.organisation_figure(run, BRANCH, director, chosen),
        "history": lambda: pictures.history_figure(run, BRANCH, focus),
    }
    for name, draw in parts.items():
        began = time.perf_counter()
        views.png(draw())
        times[name] = time.perf_counter() - began
    times["all four pictures"] = time.perf_counter() - started
    times["cpu"] = time.process_time() - cpu_started
    # the page draws only the open tab (tabs are lazy): what a Step costs on each
    for tab, parts in TABS.items():
        times[tab] = times["step both arms"] + sum(times[part] for part in parts)
    return times


def bench_step(scenario: str, steps: int, pairs: int) -> None:
    run = Session(VizModel(scenario))
    for _ in range(5):
        run.step()
    run.branch_here()
    run.branch.set_lever("stance", 0.1)
    for _ in range(5):
        run.step()
    if pairs:
        began = time.perf_counter()
        run.replicates = ReplicatePairs(plan_of(run, run.week + steps + 1), pairs)
        run.replicates.wait()
        print(f"{pairs} replicate pairs to week {run.week + steps + 1} (in the background on the "
              f"page): {time.perf_counter() - began:.1f} s")  # fmt: skip
    director = pictures.directors(run.main, 0)[0][0]
    step_and_redraw(run, director)  # warm-up: fonts, figures, layouts
    runs = [step_and_redraw(run, director) for _ in range(steps)]
    band = f", the difference shaded over {pairs} pairs" if pairs else ""
    print(f"{scenario}: {run.main.org.n_posts} posts, {steps} steps with a branch{band}, median s")
    for part in runs[0]:
        print(f"  {part:<19}{statistics.median(r[part] for r in runs):.3f}")
    worst = max(TABS, key=lambda tab: statistics.median(r[tab] for r in runs))
    median = statistics.median(r[worst] for r in runs)
    verdict = "meets" if median < STEP_TARGET_S else "MISSES"
    print(
        f"step + redraw of the open tab, both arms: median {median:.3f} s {worst} (the slower "
        f"tab); {verdict} the {STEP_TARGET_S} s target"
    )


def bench_national(repeats: int) -> None:
    began = time.perf_counter()
    model = VizModel("nhs-england")
    print(f"nhs-england: built in {time.perf_counter() - began:.1f} s ({model.org.n_posts} posts)")
    model.step()
    paints = []
    for _ in range(repeats):
        began = time.perf_counter()
        for measure in national.TRUST_MEASURES:
            national.trust_tiles(model, measure)
        paints.append(time.perf_counter() - began)
    paint = statistics.median(paints)
    print(f"  first paint, each of {repeats} repeats (s): " + ", ".join(f"{t:.3f}" for t in paints))
    verdict = "meets" if paint < NATIONAL_TARGET_S else "MISSES"
    print(
        f"national view first paint (every measure's tiles): median {paint:.3f} s; "
        f"{verdict} the {NATIONAL_TARGET_S} s target"
    )


def bench_national_browser(repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "culturesim", "viz", "nhs-england", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    paints = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            for _ in range(repeats):
                for _ in range(60):  # the server starting
                    try:
                        page.goto(f"http://127.0.0.1:{port}/")
                        break
                    except Exception:
                        time.sleep(1)
                page.wait_for_selector(".cs-week", timeout=600_000)  # built
                began = time.perf_counter()
                page.get_by_role("tab", name="National view").click()
                page.wait_for_function(
                    "() => document.querySelectorAll('.cs-trust-tile').length === 210",
                    timeout=60_000,
                )
                paints.append(time.perf_counter() - began)
            browser.close()
    finally:
        server.terminate()
        server.wait()
    paint = statistics.median(paints)
    verdict = "meets" if paint < NATIONAL_TARGET_S else "MISSES"
    print(
        f"  in Chromium, each of {repeats} page loads (s): " + ", ".join(f"{t:.2f}" for t in paints)
    )
    print(
        f"national view first paint in the browser (tab click to 210 tiles): median {paint:.2f} s;"
        f" {verdict} the {NATIONAL_TARGET_S} s target"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=4, help="replicate pairs (0: none)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-national", action="store_true")
    parser.add_argument("--browser", action="store_true", help="also time it in Chromium")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    bench_step(args.scenario, args.steps, args.pairs)
    if not args.no_national:
        bench_national(args.repeats)
    if args.browser:
        bench_national_browser(args.repeats)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
