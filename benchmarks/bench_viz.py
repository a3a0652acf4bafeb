"""How long one Step takes on the page: a week of `baseline` plus redrawing every view.

Times the functions the page calls after Step (`culturesim.viz.pictures`): the page model's step,
then the organisation, the plots, the largest cascade and a history, each rendered to PNG.
The target in issue 4 is under half a second. The browser's own work (decoding four PNGs,
a websocket round trip) is not included; it is small beside matplotlib's.

Run: python benchmarks/bench_viz.py [--steps 30] [--scenario baseline]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from culturesim.viz import pictures
from culturesim.viz.session import VizModel

TARGET_S = 0.5


def step_and_redraw(model: VizModel, focus_mode: str) -> dict[str, float]:
    """One Step as the page does it, timed part by part (wall seconds; `cpu` is CPU seconds).

    CPU time is reported too because on a shared machine wall time also measures the
    neighbours; on an idle machine the two agree.
    """
    times = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    model.step()
    times["step"] = time.perf_counter() - started
    focus = pictures.resolve_focus(model, focus_mode, 0, None)
    parts = {
        "organisation": lambda: pictures.organisation_png(model, 0, focus),
        "plots": lambda: pictures.plots_png(model),
        "cascade": lambda: pictures.cascade_png(model),
        "history": lambda: pictures.history_png(model, focus),
    }
    for name, draw in parts.items():
        began = time.perf_counter()
        draw()
        times[name] = time.perf_counter() - began
    times["total"] = time.perf_counter() - started
    times["cpu"] = time.process_time() - cpu_started
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()

    model = VizModel(args.scenario)
    step_and_redraw(model, pictures.FOCUS_MODES[0])  # warm-up: imports, fonts, layouts
    runs = [step_and_redraw(model, pictures.FOCUS_MODES[i % 2]) for i in range(args.steps)]
    print(
        f"{args.scenario}: {model.org.n_posts} posts, {args.steps} steps, median seconds per part"
    )
    for part in runs[0]:
        print(f"  {part:<13}{statistics.median(r[part] for r in runs):.3f}")
    total = statistics.median(r["total"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    worst = max(r["total"] for r in runs)
    verdict = "meets" if total < TARGET_S else "MISSES"
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (wall time counts neighbours)")
    print(
        f"step + redraw: median {total:.3f} s (CPU {cpu:.3f} s), worst {worst:.3f} s; "
        f"{verdict} the {TARGET_S} s target"
    )


if __name__ == "__main__":
    main()
