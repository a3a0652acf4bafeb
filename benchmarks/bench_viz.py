"""How fast the page answers: a Step with both arms redrawn, and the national view's first paint.

1. Step + redraw with a branch (issue 12 target: under 0.5 s at baseline size). Times what the
   page does after Step on the Outcomes tab and the Organisation tab (`culturesim.viz.pictures`):
   both arms' week, the outcomes of both arms, their difference, one directorate with a chosen
   person's lineage, and that person's history, each rendered to PNG. The browser's share (a
   websocket round trip, decoding PNGs) is not included.
2. The national view's first paint after `nhs-england` is built (target: under 2 s): the per-
   trust values and tile colours of every measure, the Python side of drawing the tiles. The
   build itself (a minute or two) is reported but not part of the target. `--no-national`
   skips it.

CPU time is reported beside wall time: on a shared machine wall time also measures the
neighbours.

Run: python benchmarks/bench_viz.py [--steps 20] [--scenario baseline] [--no-national]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from culturesim.viz import national, pictures, views
from culturesim.viz.lineage import involved_people
from culturesim.viz.session import BRANCH, Session, VizModel

STEP_TARGET_S = 0.5
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
    times["total"] = time.perf_counter() - started
    times["cpu"] = time.process_time() - cpu_started
    return times


def bench_step(scenario: str, steps: int) -> None:
    run = Session(VizModel(scenario))
    for _ in range(5):
        run.step()
    run.branch_here()
    run.branch.set_lever("stance", 0.1)
    director = pictures.directors(run.main, 0)[0][0]
    step_and_redraw(run, director)  # warm-up: fonts, figures, layouts
    runs = [step_and_redraw(run, director) for _ in range(steps)]
    print(f"{scenario}: {run.main.org.n_posts} posts, {steps} steps with a branch, median s")
    for part in runs[0]:
        print(f"  {part:<16}{statistics.median(r[part] for r in runs):.3f}")
    total = statistics.median(r["total"] for r in runs)
    verdict = "meets" if total < STEP_TARGET_S else "MISSES"
    print(f"step + redraw, both arms: median {total:.3f} s; {verdict} the {STEP_TARGET_S} s target")


def bench_national() -> None:
    began = time.perf_counter()
    model = VizModel("nhs-england")
    print(f"nhs-england: built in {time.perf_counter() - began:.1f} s ({model.org.n_posts} posts)")
    model.step()
    began = time.perf_counter()
    for measure in national.TRUST_MEASURES:
        national.trust_tiles(model, measure)
    paint = time.perf_counter() - began
    verdict = "meets" if paint < NATIONAL_TARGET_S else "MISSES"
    print(
        f"national view first paint (every measure's tiles): {paint:.3f} s; "
        f"{verdict} the {NATIONAL_TARGET_S} s target"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--no-national", action="store_true")
    args = parser.parse_args()
    bench_step(args.scenario, args.steps)
    if not args.no_national:
        bench_national()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
