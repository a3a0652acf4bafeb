"""The page's tabs, each named for what it shows: the outcomes over time (both arms, their
difference, and replicate pairs in the background for an interval on it), the organisation (a
directorate, a person's lineage, a history), the cascades, and the national view.
"""

from __future__ import annotations

import logging
import time

import solara

from culturesim.batch.intervals import format_interval
from culturesim.engine.scenario import ScenarioError
from culturesim.viz import pictures, views
from culturesim.viz.clickable import ClickableImage
from culturesim.viz.lineage import involved_people, person_label
from culturesim.viz.national import TRUST_MEASURES, text_colour, trust_tiles
from culturesim.viz.replicates import MAX_PAIRS, ReplicatePairs, plan_of
from culturesim.viz.session import Session
from culturesim.viz.state import (
    SMALL,
    TAB_NAMES,
    animating,
    arm,
    cascade_week,
    counter,
    director,
    focus_mode,
    measure,
    pairs_seen,
    person,
    playing,
    redraw,
    shown_trust,
    tab,
    trust,
)

logger = logging.getLogger(__name__)
REDRAW_TRIES = 5
"""Failed redraws in a row after which the replicate pairs' follow task gives up."""


@solara.component
def FigureImage(make, name: str, classes: list[str], dependencies: list, on_pick=None):
    """A figure shown as PNG, with PNG and SVG downloads of it; with `on_pick`, a click on it
    calls `on_pick(x, y)` (fractions of its width and height from the top left)."""
    image = solara.use_memo(lambda: pictures.png(make()), dependencies)
    if image is None:
        return
    if on_pick is None:
        solara.Image(image, classes=classes, width="100%")
    else:
        ClickableImage(image, classes, alt=name, on_pick=on_pick)
    with solara.Row(gap="4px", justify="end"):
        for kind in ("png", "svg"):
            with solara.Div(classes=[f"cs-save-{name}-{kind}"]):
                solara.FileDownload(
                    lambda kind=kind: views.save(make(), kind),
                    filename=f"{name}.{kind}",
                    label=kind.upper(),
                    mime_type="image/svg+xml" if kind == "svg" else "image/png",
                )


@solara.component
def Outcomes(run: Session):
    """Every outcome week by week: both arms, and once branched their difference."""
    count = counter.value
    if run.week < 1:
        solara.Info(
            "The plots start after the first week: press Step a week or Play.",
            classes=["cs-plots-placeholder"],
        )
        return
    solara.Text(f"weeks plotted: {run.week}", classes=["cs-plot-weeks"], style=SMALL)
    FigureImage(lambda: pictures.plots_figure(run), "outcomes", ["cs-plots"], [run, count])
    if run.branch is None:
        solara.Text(
            "Press Branch here to fork this run into a twin with the same random numbers, "
            "move a lever on one arm, and watch the difference it makes.",
            style=SMALL,
        )
        return
    FigureImage(lambda: pictures.difference_figure(run), "difference", ["cs-difference"],
                [run, count])  # fmt: skip
    Replicates(run)
    rows = pictures.compare_rows(run)
    pairs = run.replicates
    with solara.Div(classes=["cs-compare"]):
        solara.Markdown(
            f"**Week {run.week}, branched at week {run.branch_week}**; the interval is over "
            "replicate pairs (seed noise only), once they have run this far\n\n"
            "| measure | main run | branch | branch − main | 95% interval |\n"
            "|---|---|---|---|---|\n"
            + "\n".join(
                f"| {m} | {a:.4g} | {b:.4g} | {d:+.3g} | {format_interval(lo, hi, 3)} |"
                for m, a, b, d, lo, hi in rows
            )
        )
    if pairs is not None and pairs.done >= 2 and pairs.plan.to_week < run.week:
        solara.Text(
            f"(the replicate pairs ran to week {pairs.plan.to_week}: no interval after it)",
            style=SMALL,
        )


@solara.component
def Replicates(run: Session):
    """Start replicate pairs of the branch in the background, and follow them."""
    _ = counter.value
    wanted = solara.use_reactive(10)
    to_week: solara.Reactive[int | None] = solara.use_reactive(None)  # None: this week
    problem: solara.Reactive[str | None] = solara.use_reactive(None)
    pairs = run.replicates
    running = pairs is not None and not pairs.finished.is_set()

    def follow() -> None:
        """Redraw as pairs finish (from this tab's context, so the redraw is this tab's).

        `finished` is read before `done`, so the last redraw comes after the pool has finished
        and shows the pairs as done. A redraw that fails (a render racing another) is retried
        on the next poll rather than ending the task, which would leave the progress stale
        (up to REDRAW_TRIES in a row: then the task ends, its error logged).
        """
        failures = 0
        while pairs is not None and running and run.replicates is pairs:
            finished = pairs.finished.is_set()
            if pairs.done != pairs_seen.value or finished:
                try:
                    pairs_seen.set(pairs.done)
                    redraw()
                    failures = 0
                except Exception:
                    failures += 1
                    if failures >= REDRAW_TRIES:
                        raise
                    logger.warning("redrawing the replicate pairs' progress failed; retrying")
                    finished = False
            if finished:
                return
            time.sleep(0.5)

    solara.lab.use_task(follow, dependencies=[pairs, running], prefer_threaded=True)

    def start() -> None:
        with run.lock:
            run.stop_replicates()
            try:
                plan = plan_of(run, to_week.value or run.week)
                run.replicates = ReplicatePairs(plan, wanted.value)
            except (ValueError, ScenarioError) as error:
                problem.set(str(error))
                return
        problem.set(None)
        pairs_seen.set(0)
        redraw()

    def stop() -> None:
        pairs.cancel()
        redraw()

    with solara.Row(
        gap="10px", style={"align-items": "center", "flex-wrap": "wrap"}, classes=["cs-pairs"]
    ):
        solara.InputInt(
            "replicate pairs", value=wanted, classes=["cs-pairs-count"], style={"max-width": "9em"}
        )
        solara.InputInt(
            "each to week",
            value=to_week.value or run.week,
            on_value=to_week.set,
            classes=["cs-pairs-to"],
            style={"max-width": "9em"},
        )
        solara.Button(
            "Run replicate pairs in the background",
            on_click=start,
            outlined=True,
            disabled=running or not 2 <= wanted.value <= MAX_PAIRS,
            classes=["cs-run-pairs"],
        )
        if running:
            solara.Button("Stop them", on_click=stop, text=True, classes=["cs-stop-pairs"])
    if problem.value:
        solara.Error(problem.value, classes=["cs-pairs-error"])
    if pairs is None:
        solara.Text(
            "One twin pair shows the effect in this run. Replicate pairs replay it with seeds "
            f"{run.main.seed}, {run.main.seed + 1}, ... (pair 0 is this run), the same branch "
            "week and lever moves, and shade the 95% interval of the difference (seed noise "
            "only, as `culturesim compare`).",
            style=SMALL,
        )
        return
    seeds = f"seeds {pairs.seeds[0]}..{pairs.seeds[-1]}, each to week {pairs.plan.to_week}"
    if pairs.error is not None:
        solara.Error(f"replicate pairs stopped: {pairs.error}", classes=["cs-pairs-error"])
    elif running:
        solara.Text(
            f"{pairs.done} of {pairs.total} replicate pairs done ({seeds}); the page "
            "stays usable meanwhile",
            classes=["cs-pairs-progress"],
            style=SMALL,
        )
        solara.ProgressLinear(100 * pairs.done / pairs.total)
    elif not pairs.matches(run):
        solara.Text(
            "A lever has moved since these pairs started: run them again for an "
            "interval on the branch as it is now.",
            classes=["cs-pairs-stale"],
            style=SMALL,
        )
    else:
        stopped = " (stopped)" if pairs.cancelled else ""
        solara.Text(
            f"{pairs.done} of {pairs.total} replicate pairs done{stopped} ({seeds}): "
            "shaded on the difference",
            classes=["cs-pairs-done"],
            style=SMALL,
        )


@solara.component
def Organisation(run: Session):
    """One directorate at a time, a chosen person's lineage over it, and a history below."""
    count = counter.value
    shown_arm = arm.value
    model = run.arm(shown_arm)
    chosen_trust = shown_trust(model)
    heads = pictures.directors(model, chosen_trust)
    head_posts = [p for p, _ in heads]
    head = director.value if director.value in head_posts else head_posts[0]
    labels = dict(heads)
    with solara.Row(gap="12px", style={"flex-wrap": "wrap"}):
        if model.org.n_trusts > 1:
            solara.Select(
                "trust",
                values=[str(i) for i in range(model.org.n_trusts)],
                value=str(chosen_trust),
                on_value=lambda v: (trust.set(int(v)), director.set(None), person.set(None)),
                classes=["cs-trust-pick"],
            )
        solara.Select(
            "directorate",
            values=[labels[p] for p in head_posts],
            value=labels[head],
            on_value=lambda v: (
                director.set(next(p for p, text in heads if text == v)),
                person.set(None),
            ),
            classes=["cs-directorate"],
        )
        posts = views.directorate_posts(model.org, head)
        people = involved_people(model, posts)
        if person.value in posts and person.value not in dict(people):  # clicked in the picture
            people.append((person.value, person_label(model, person.value)))
        texts = {text: post for post, text in people}
        picked = next((text for post, text in people if post == person.value), None)
        solara.Select(
            "person: click one in the picture, or pick (those who bullied or were bullied)",
            values=list(texts),
            value=picked,
            on_value=lambda v: person.set(texts.get(v)),
            classes=["cs-person"],
            style={"min-width": "420px"},
        )
    solara.Text(
        f"trust {chosen_trust}, {labels[head].split(' (')[0]} ({shown_arm}): colour is "
        "behaviour, size is strain, thin arrows are this week's bullying; click a person to "
        "choose them. The chosen person is ringed, with arrows from those who bullied them "
        "and to those they bullied, and squares on the chain their bullying descends from.",
        classes=["cs-org-trust"],
        style=SMALL,
    )

    def pick(x: float, y: float) -> None:
        clicked = pictures.post_at(run, shown_arm, head, x, y)
        if clicked is not None:
            person.set(clicked)
            focus_mode.set(pictures.FOCUS_MODES[0])  # their history, below

    chosen = pictures.chosen_lineage(run, shown_arm, person.value)
    if chosen is not None:
        with solara.Div(classes=["cs-lineage"]):
            for line in chosen.describe(model.org.level_names, model.org.level):
                solara.Text(line, style={"display": "block", "font-size": "0.9em"})
    elif not people:
        solara.Text("Nobody in this directorate has bullied or been bullied yet.", style=SMALL)
    FigureImage(
        lambda: pictures.organisation_figure(run, shown_arm, head, chosen),
        "organisation",
        ["cs-org-view"],
        [run, count, shown_arm, head, person.value],
        on_pick=pick,
    )
    with solara.Row(gap="12px"):
        solara.Select("history of", values=list(pictures.FOCUS_MODES), value=focus_mode,
                      classes=["cs-focus"])  # fmt: skip
    focus = pictures.resolve_focus(
        run, shown_arm, focus_mode.value, chosen_trust, head, person.value
    )
    if run.week >= 1:
        FigureImage(
            lambda: pictures.history_figure(run, shown_arm, focus),
            "history",
            ["cs-history"],
            [run, count, shown_arm, focus.title],
        )


ANIMATION_FRAMES = 26
"""At most this many weeks shown when the cascade's growth is animated."""
FRAME_S = 0.4


def animation_weeks(first: int, last: int) -> list[int]:
    """The weeks an animation shows, evenly spaced from `first` to `last` (both included)."""
    stride = max(1, -(-(last - first) // (ANIMATION_FRAMES - 1)))
    return [*range(first, last, stride), last]


@solara.component
def Cascades(run: Session):
    """The largest live cascade, replayable week by week with a slider, or animated over the
    last year."""
    count = counter.value
    shown_arm = arm.value
    week = run.week
    first = max(0, week - 52)
    as_of = cascade_week.value if cascade_week.value is not None else week - 1
    as_of = min(max(as_of, first), max(week - 1, first))
    on = animating.value

    def animate() -> None:
        """Show the cascade week by week over the last year, then as it is now."""
        for shown in animation_weeks(first, week - 1):
            if not animating.value:
                break
            cascade_week.set(shown)
            time.sleep(FRAME_S)
        cascade_week.set(None)
        animating.set(False)

    solara.lab.use_task(animate if on else lambda: None, dependencies=[on], prefer_threaded=True)
    if week >= 2:
        with solara.Row(gap="10px", style={"align-items": "center"}):
            with solara.Div(classes=["cs-cascade-week"], style={"flex": "1 1 0"}):
                solara.SliderInt(
                    "show the cascade as it stood at week (Play replays it as it grows)",
                    value=as_of,
                    min=first,
                    max=week - 1,
                    on_value=lambda v: cascade_week.set(None if v >= run.week - 1 else v),
                    disabled=on,
                )
            solara.Button(
                "Stop" if on else f"Animate weeks {first} to {week - 1}",
                on_click=lambda: animating.set(not on),
                disabled=playing.value,
                outlined=True,
                classes=["cs-animate"],
            )
    solara.Text(f"as of week {as_of}", classes=["cs-cascade-as-of"], style=SMALL)
    FigureImage(
        lambda: pictures.cascade_figure(run, shown_arm, as_of),
        "cascade",
        ["cs-cascade"],
        [run, count, shown_arm, as_of],
    )


@solara.component
def National(run: Session):
    """Every trust as a tile coloured by the chosen measure; a click opens it."""
    _ = counter.value
    model = run.arm(arm.value)
    with run.lock:
        _, colours, lo, hi = trust_tiles(model, measure.value)
    solara.Select("colour trusts by", values=list(TRUST_MEASURES), value=measure,
                  classes=["cs-measure"])  # fmt: skip
    solara.Text(
        f"{model.org.n_trusts} trusts; {measure.value} from {lo:.3g} (pale) to {hi:.3g} (dark). "
        "Click a trust to open it in the Organisation tab.",
        classes=["cs-national-legend"],
        style=SMALL,
    )

    def open_trust(index: int) -> None:
        trust.set(index)
        director.set(None)
        person.set(None)
        tab.set(TAB_NAMES.index("Organisation"))

    with solara.Div(
        classes=["cs-national"],
        style={"display": "flex", "flex-wrap": "wrap", "gap": "3px"},
    ):
        for index, colour in enumerate(colours):
            solara.Button(
                f"{index}",
                on_click=lambda index=index: open_trust(index),
                classes=["cs-trust-tile", f"cs-trust-{index}"],
                style={
                    "background-color": colour,
                    "color": text_colour(colour),
                    "min-width": "44px",
                    "width": "44px",
                    "height": "36px",
                    "padding": "0",
                },
                small=True,
                elevation=0,
            )
