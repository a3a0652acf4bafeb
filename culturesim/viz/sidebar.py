"""The page's left column and the run controls above the tabs: Step, Play, Branch here; the
levers (first, above the fold); this week's numbers; the run and its branch; the download;
and the scenario to start again from.
"""

from __future__ import annotations

import solara

from culturesim.viz import export, levers
from culturesim.viz.session import BRANCH, MAIN, Session
from culturesim.viz.state import (
    SMALL,
    BuildRequest,
    arm,
    build_error,
    building,
    counter,
    pause_ms,
    playing,
    redraw,
    request,
    scenario_choices,
)

SCENARIO_LABEL = "scenario"
SEED_LABEL = "seed (blank: the scenario's own)"


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
