"""The culturesim page: a Solara app around a Mesa model (`VizModel` is a `mesa.Model`).

The page started as Mesa's `SolaraViz`; it now has its own shell, because what it needs is
what SolaraViz fixes: SolaraViz builds a model on the page's thread (the national scenario
froze the page for minutes), names its tabs "Page 0", shows its internals ("Render Interval
(steps)", "Use Threads") beside the model's levers, and holds one model where the page needs
two (a run and its branch). The shell here (this module: the frame, building, playing):

- the sidebar (`sidebar.py`), top first: the live levers, the run's headline numbers, the run
  and its branch, the download, and the scenario to start again from; above the tabs the week
  and the run controls (Step, Play/Pause, Branch here);
- tabs (`tabs.py`) named for what they show: outcomes over time (both arms, their difference,
  replicate pairs), the organisation (a directorate, a person's lineage, a history), cascades,
  and for several trusts the national view;
- a model built in a worker thread behind a progress bar, so the page keeps answering.

Levers change the running model from its next step (`set_driver`, `set_stance`); a scenario
or seed takes effect when the run starts again. The page's state, one set per browser tab, is
in `state.py`.

Elements carry `cs-*` classes the browser test reads.
"""

from __future__ import annotations

import time

import solara

from culturesim.viz.session import Session, VizModel
from culturesim.viz.sidebar import Controls, Sidebar, StartAgain
from culturesim.viz.state import (
    TAB_NAMES,
    build_error,
    building,
    counter,
    drawn,
    new_run,
    pause_ms,
    playing,
    redraw,
    request,
    session,
    tab,
)
from culturesim.viz.tabs import Cascades, National, Organisation, Outcomes

TAB_VIEWS = dict(zip(TAB_NAMES, (Outcomes, Organisation, Cascades, National), strict=True))


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
            f"({elapsed.value:.0f} s so far; the national scenario takes about half a minute). "
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
def Drawn():
    """Notes, once a render has reached the browser, which counter value it showed."""
    shown = counter.value

    def note() -> None:
        drawn.value = shown

    solara.use_effect(note, [shown])


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
                names = TAB_NAMES if run.main.org.n_trusts > 1 else TAB_NAMES[:-1]
                with solara.lab.Tabs(value=tab, lazy=True):
                    for name in names:
                        with solara.lab.Tab(name, classes=[f"cs-tab-{name.split()[0].lower()}"]):
                            TAB_VIEWS[name](run)
                Drawn()
