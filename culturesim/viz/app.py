"""The culturesim page: a Solara app around a Mesa model (`VizModel` is a `mesa.Model`).

The page started as Mesa's `SolaraViz`; it now has its own shell, because what it needs is
what SolaraViz fixes: SolaraViz builds a model on the page's thread (the national scenario
froze the page for minutes), names its tabs "Page 0", shows its internals ("Render Interval
(steps)", "Use Threads") beside the model's levers, and holds one model where the page needs
two (a run and its branch). The shell here:

- the sidebar, top first: the week and the run controls (Step, Play/Pause, Branch here), then
  the live levers, then the run's headline numbers, the scenario to start again from, and the
  download of the run;
- tabs named for what they show: outcomes over time (both arms and their difference), the
  organisation (a directorate, a person's lineage, a history), cascades, and for several
  trusts the national view;
- a model built in a worker thread behind a progress bar, so the page keeps answering.

Levers change the running model from its next step (`set_driver`, `set_stance`); a scenario
or seed takes effect when the run starts again. Solara keeps module-level reactives per browser
tab, so each tab has its own run.

Elements carry `cs-*` classes the browser test reads.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import solara

from culturesim.viz import export, levers, pictures, views
from culturesim.viz.lineage import involved_people
from culturesim.viz.national import TRUST_MEASURES, text_colour, trust_tiles
from culturesim.viz.server import SCENARIO_ENV
from culturesim.viz.session import BRANCH, MAIN, Session, VizModel, offered_scenarios

DEFAULT_SCENARIO = "baseline"
SCENARIO_LABEL = "scenario"
SEED_LABEL = "seed (blank: the scenario's own)"
SMALL = {"font-size": "0.85em", "color": "#444"}


def scenario_choices() -> list[str]:
    """The picker's values, each one `load_scenario` takes: bundled names, the file given."""
    return offered_scenarios()


def first_choice(choices: list[str]) -> str:
    """The scenario the page opens with: the one given, else `baseline`, else the first."""
    given = os.environ.get(SCENARIO_ENV)
    if given in choices:
        return given
    return DEFAULT_SCENARIO if DEFAULT_SCENARIO in choices or not choices else choices[0]


@dataclass(frozen=True)
class BuildRequest:
    """A run to build: a scenario and a seed (text, blank for the scenario's own)."""

    scenario: str
    seed: str = ""
    attempt: int = 0


# --- per-tab state ------------------------------------------------------------------------------

request = solara.reactive(BuildRequest(first_choice(scenario_choices())))
session: solara.Reactive[Session | None] = solara.reactive(None)
building: solara.Reactive[tuple[str, float] | None] = solara.reactive(None)  # what, since when
build_error: solara.Reactive[str | None] = solara.reactive(None)
counter = solara.reactive(0)  # bumped after each step and lever move: what is shown redraws
drawn = solara.reactive(0)  # the counter value the page has finished drawing (see Drawn)
playing = solara.reactive(False)
pause_ms = solara.reactive(100)
arm = solara.reactive(MAIN)  # the arm the levers move and the organisation and cascades show
trust = solara.reactive(0)
director: solara.Reactive[int | None] = solara.reactive(None)
person: solara.Reactive[int | None] = solara.reactive(None)
focus_mode = solara.reactive(pictures.FOCUS_MODES[0])
measure = solara.reactive(next(iter(TRUST_MEASURES)))
cascade_week: solara.Reactive[int | None] = solara.reactive(None)  # None: the current week


def redraw() -> None:
    counter.set(counter.value + 1)


def new_run(built: Session) -> None:
    """Show a freshly built run, forgetting choices that belonged to the old one."""
    playing.set(False)
    arm.set(MAIN)
    trust.set(0)
    director.set(None)
    person.set(None)
    cascade_week.set(None)
    session.set(built)
    redraw()


def shown_trust(model: VizModel) -> int:
    return trust.value if trust.value < model.org.n_trusts else 0


# --- building a run in a worker thread ---------------------------------------------------------


@solara.component
def Builder():
    """Builds the requested run in a worker thread, so the page stays responsive."""
    wanted = request.value

    def build() -> None:
        building.set((wanted.scenario, time.monotonic()))
        build_error.set(None)
        try:
            model = VizModel(wanted.scenario, wanted.seed)
        except Exception as error:  # shown on the page in one line
            build_error.set(f"could not build {wanted.scenario}: {error}")
            building.set(None)
            return
        if request.value is wanted:  # not overtaken by a newer request
            new_run(Session(model))
        building.set(None)

    solara.lab.use_task(build, dependencies=[wanted], prefer_threaded=True)


@solara.component
def BuildProgress():
    """A moving bar and a clock while a run builds (the national scenario takes minutes)."""
    elapsed = solara.use_reactive(0.0)
    now_building = building.value

    def tick() -> None:
        while now_building and building.value is now_building:
            elapsed.set(time.monotonic() - now_building[1])
            time.sleep(0.5)

    solara.lab.use_task(tick, dependencies=[now_building], prefer_threaded=True)
    if now_building is None:
        return
    with solara.Card(classes=["cs-building"]):
        solara.Text(
            f"Building {now_building[0]}: the organisation, its people and a year of burn-in "
            f"({elapsed.value:.0f} s so far; the national scenario takes a minute or two). "
            "The page stays usable meanwhile."
        )
        solara.ProgressLinear(True)


# --- the sidebar ---------------------------------------------------------------------------------


@solara.component
def Player(run: Session):
    """Steps the run in a worker thread while Play is on (Solara's task runs it in this tab's
    context, so the redraw it asks for is this tab's)."""
    on = playing.value

    def loop() -> None:
        while on and playing.value and session.value is run:
            run.step()
            redraw()
            # Wait for the page to show this week before the next: a step outrunning the
            # redraw would restart the redraw forever and the page would show nothing new.
            wanted, deadline = counter.value, time.monotonic() + 30
            while drawn.value < wanted and playing.value and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(pause_ms.value / 1000)

    task = solara.lab.use_task(loop, dependencies=[on, run], prefer_threaded=True)
    if task.error:
        solara.Error(f"Play stopped: {task.exception}", classes=["cs-play-error"])


@solara.component
def Controls(run: Session):
    """The week, Step, Play/Pause and Branch here: above the tabs, always in view."""
    _ = counter.value
    bold = {"font-size": "1.3em", "font-weight": "bold", "min-width": "6em"}
    solara.Text(f"Week {run.week}", classes=["cs-week"], style=bold)

    def step() -> None:
        run.step()
        redraw()

    def branch() -> None:
        run.branch_here()
        arm.set(BRANCH)
        redraw()

    with solara.Row(gap="6px"):
        solara.Button("Step a week", on_click=step, disabled=playing.value, outlined=True,
                      classes=["cs-step"])  # fmt: skip
        solara.Button(
            "Pause" if playing.value else "Play",
            outlined=True,
            on_click=lambda: playing.set(not playing.value),
            classes=["cs-play"],
        )
        solara.Button("Branch here", on_click=branch, disabled=playing.value, outlined=True,
                      classes=["cs-branch"])  # fmt: skip
    if run.branch is not None:
        solara.ToggleButtonsSingle(value=arm, values=[MAIN, BRANCH], classes=["cs-arm"],
                                   dense=True)  # fmt: skip


@solara.component
def RunCard(run: Session):
    """The scenario, the seed, the pace of Play, and the branch."""
    _ = counter.value
    solara.Text(f"Scenario: {run.main.scenario.name}", classes=["cs-scenario"])
    solara.Text(f"seed {run.main.seed}", classes=["cs-seed"], style=SMALL)
    solara.SliderInt("pause between weeks while playing (ms)", value=pause_ms, min=0, max=1000,
                     step=50)  # fmt: skip
    if run.branch is None:
        return

    def unbranch() -> None:
        run.drop_branch()
        arm.set(MAIN)
        redraw()

    solara.Text(
        f"branched at week {run.branch_week}: both arms advance together with the same "
        "random numbers; a lever moves only the arm chosen above the tabs.",
        classes=["cs-branch-week"],
        style=SMALL,
    )
    solara.Button("Drop the branch", on_click=unbranch, text=True, classes=["cs-unbranch"])


@solara.component
def ArmLevers(run: Session, name: str, shown: bool):
    """One arm's sliders. Each arm has its own, bound to it for good, and only the chosen
    arm's are shown: a slider's late echo can then never move the other arm."""
    _ = counter.value
    model = run.arm(name)

    def move(lever: levers.Lever, value: float) -> None:
        with run.lock:
            target = run.arm(name)
            # A slider snapping the model's value onto its grid is not the user moving it.
            if abs(value - target.driver_now(lever.name)) < lever.step / 2:
                return
            target.set_lever(lever.name, value)
        redraw()

    visible = {} if shown else {"display": "none"}
    with solara.Div(style=visible, classes=[f"cs-moving-{name.split()[0]}"] if shown else []):
        for lever in levers.driver_levers():
            now = model.driver_now(lever.name)
            with solara.Div(classes=["cs-lever", f"cs-lever-{lever.name}"] if shown else []):
                solara.SliderFloat(
                    lever.label,
                    value=lever.clamp(now),
                    min=lever.lo,
                    max=lever.hi,
                    step=lever.step,
                    on_value=lambda v, lever=lever: move(lever, v),
                )
                solara.Text(
                    f"{lever.label} {now:.2f}",
                    classes=[f"cs-monitor-{lever.name}"] if shown else [],
                    style=SMALL,
                )


@solara.component
def Levers(run: Session):
    """One slider per driver and the stance, acting on the chosen arm from its next step."""
    _ = counter.value
    model = run.arm(arm.value)
    programme = levers.programme_lever(model.scenario)
    share = solara.use_reactive(programme.share)
    if run.branch is not None:
        solara.Text(f"moving: {arm.value}", style={"font-weight": "bold"},
                    classes=["cs-lever-arm"])  # fmt: skip
    for name, _ in run.arms():
        ArmLevers(run, name, name == arm.value).key(name)

    def train() -> None:
        with run.lock:
            run.arm(arm.value).start_programme(share.value, programme.strength)
        redraw()

    with solara.Div(classes=["cs-lever", "cs-lever-programme"]):
        solara.Text("share of leaders in a compassionate-leadership programme", style=SMALL)
        solara.SliderFloat("", value=share, min=programme.lo, max=programme.hi, step=0.05)
        solara.Button("Train them now", on_click=train, outlined=True, classes=["cs-train"])


@solara.component
def Headlines(run: Session):
    """This week's headline numbers of the arm shown."""
    _ = counter.value
    model = run.arm(arm.value)
    if model.scenario.question:
        solara.Text(model.scenario.question, style=SMALL)
    series = model.timeseries()
    if series.empty:
        solara.Text("No weeks run yet: press Step or Play.", classes=["cs-outcomes"], style=SMALL)
        return
    last = series.iloc[-1]
    lines = [
        f"bullied by managers / colleagues / public: {last.bullied_by_managers:.1%} / "
        f"{last.bullied_by_colleagues:.1%} / {last.bullied_by_public:.1%}",
        f"compassion climate {last.compassion_climate:.2f}, mean strain {last.mean_strain:.2f}",
        f"leaver rate {last.leaver_rate:.1%} a year, vacancies {last.vacancy_rate:.1%}",
        f"care quality {last.care_quality:.2f}, cascade R {last.reproduction_number:.2f}",
    ]
    with solara.Div(classes=["cs-outcomes"]):
        for line in lines:
            solara.Text(line, style={"display": "block", **SMALL})


@solara.component
def StartAgain():
    """The scenario and seed the next run is built from, and the button that builds it."""
    choices = solara.use_memo(scenario_choices, [])
    chosen = solara.use_reactive(request.value.scenario)
    seed = solara.use_reactive(request.value.seed)
    solara.Select(SCENARIO_LABEL, values=choices, value=chosen, classes=["cs-scenario-pick"])
    solara.InputText(SEED_LABEL, value=seed, continuous_update=True)

    def start() -> None:
        request.set(BuildRequest(chosen.value, seed.value, request.value.attempt + 1))

    solara.Button("Start again from week 0", on_click=start, outlined=True,
                  disabled=building.value is not None, classes=["cs-start-again"])  # fmt: skip
    if build_error.value:
        solara.Error(build_error.value)


@solara.component
def Download(run: Session):
    """The run (and its branch) as run folders in a zip that every culturesim tool reads."""
    _ = counter.value
    if run.week < 1:
        solara.Text("Run a week to download it.", style=SMALL)
        return
    what = "this run and its branch" if run.branch is not None else "this run"
    with solara.Div(classes=["cs-download-run"]):
        solara.FileDownload(
            lambda: export.run_archive(run)[0],
            filename=f"{export.folder_name(run.main)}.zip",
            label=f"Download {what} (zip of run folders)",
            mime_type="application/zip",
        )


@solara.component
def Sidebar(run: Session):
    with solara.Card("Levers", margin=0):
        Levers(run)
    with solara.Card("This week", margin=0):
        Headlines(run)
    with solara.Card("This run", margin=0):
        RunCard(run)
    with solara.Card("Take it away", margin=0):
        Download(run)
    with solara.Card("Start again", margin=0):
        StartAgain()


# --- the tabs ----------------------------------------------------------------------------------


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
        tab.set(TABS.index("Organisation"))

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


@solara.component
def Drawn():
    """Notes, once a render has reached the browser, which counter value it showed."""
    shown = counter.value

    def note() -> None:
        drawn.value = shown

    solara.use_effect(note, [shown])


TAB_VIEWS = {
    "Outcomes over time": Outcomes,
    "Organisation": Organisation,
    "Cascades": Cascades,
    "National view": National,
}
TABS = list(TAB_VIEWS)
tab = solara.reactive(0)


@solara.component
def Page():
    """The sidebar of controls and levers at the left, the tabs beside it (both always in view:
    a fixed-width column rather than Solara's drawer, which covers the tabs at 1366 wide)."""
    solara.Title("culturesim")
    Builder()
    run = session.value
    with solara.AppBar():
        solara.AppBarTitle("culturesim")
    with solara.Row(gap="12px", style={"align-items": "flex-start", "flex-wrap": "nowrap"}):
        with solara.Column(gap="8px", style={"width": "330px", "flex": "none"},
                           classes=["cs-sidebar"]):  # fmt: skip
            if run is not None:
                Player(run)
                Sidebar(run)
            else:
                StartAgain()
        with solara.Column(style={"flex": "1 1 0", "min-width": "0"}, classes=["cs-main"]):
            BuildProgress()
            if run is not None:
                row = {"align-items": "center", "flex-wrap": "wrap"}
                with solara.Row(gap="10px", style=row, classes=["cs-controls"]):
                    Controls(run)
                names = TABS if run.main.org.n_trusts > 1 else TABS[:-1]
                with solara.lab.Tabs(value=tab, lazy=True):
                    for name in names:
                        with solara.lab.Tab(name, classes=[f"cs-tab-{name.split()[0].lower()}"]):
                            TAB_VIEWS[name](run)
                Drawn()
