"""The page's tabs, each named for what it shows: the outcomes over time (both arms, their
difference, and replicate pairs in the background for an interval on it), the organisation (a
directorate, a person's lineage, a history), the cascades, and the national view.
"""

from __future__ import annotations

import solara

from culturesim.viz import pictures, views
from culturesim.viz.lineage import involved_people
from culturesim.viz.national import TRUST_MEASURES, text_colour, trust_tiles
from culturesim.viz.session import Session
from culturesim.viz.state import (
    SMALL,
    TAB_NAMES,
    arm,
    cascade_week,
    counter,
    director,
    focus_mode,
    measure,
    person,
    shown_trust,
    tab,
    trust,
)


@solara.component
def FigureImage(make, name: str, classes: list[str], dependencies: list):
    """A figure shown as PNG, with PNG and SVG downloads of it."""
    image = solara.use_memo(lambda: pictures.png(make()), dependencies)
    if image is None:
        return
    solara.Image(image, classes=classes, width="100%")
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
    rows = pictures.compare_rows(run)
    with solara.Div(classes=["cs-compare"]):
        solara.Markdown(
            f"**Week {run.week}, branched at week {run.branch_week}** (one twin pair; intervals "
            "over replicate pairs come with `culturesim compare`)\n\n"
            "| measure | main run | branch | branch − main |\n|---|---|---|---|\n"
            + "\n".join(f"| {m} | {a:.4g} | {b:.4g} | {d:+.3g} |" for m, a, b, d in rows)
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
        texts = {text: post for post, text in people}
        picked = next((text for post, text in people if post == person.value), None)
        solara.Select(
            "person (those who bullied or were bullied, most first)",
            values=list(texts),
            value=picked,
            on_value=lambda v: person.set(texts.get(v)),
            classes=["cs-person"],
            style={"min-width": "420px"},
        )
    solara.Text(
        f"trust {chosen_trust}, {labels[head].split(' (')[0]} ({shown_arm}): colour is "
        "behaviour, size is strain, thin arrows are this week's bullying; the chosen person "
        "is ringed, with arrows from those who bullied them and to those they bullied, and "
        "squares on the chain their bullying descends from.",
        classes=["cs-org-trust"],
        style=SMALL,
    )
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


@solara.component
def Cascades(run: Session):
    """The largest live cascade, replayable week by week with a slider."""
    count = counter.value
    shown_arm = arm.value
    week = run.week
    first = max(0, week - 52)
    as_of = cascade_week.value if cascade_week.value is not None else week - 1
    as_of = min(max(as_of, first), max(week - 1, first))
    if week >= 2:
        with solara.Div(classes=["cs-cascade-week"]):
            solara.SliderInt(
                "show the cascade as it stood at week (Play replays it as it grows)",
                value=as_of,
                min=first,
                max=week - 1,
                on_value=lambda v: cascade_week.set(None if v >= run.week - 1 else v),
            )
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
