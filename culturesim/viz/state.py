"""The page's state, one set per browser tab: the run being shown, what is being built, and
the user's choices (arm, trust, directorate, person, tab).

Solara keeps module-level reactives per browser tab, so each tab has its own run. Components
read these; `redraw()` asks everything shown to draw again after a step or a lever move.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import solara

from culturesim.viz import pictures
from culturesim.viz.national import TRUST_MEASURES
from culturesim.viz.server import SCENARIO_ENV
from culturesim.viz.session import MAIN, Session, VizModel, offered_scenarios

DEFAULT_SCENARIO = "baseline"
SMALL = {"font-size": "0.85em", "color": "#444"}
TAB_NAMES = ("Outcomes over time", "Organisation", "Cascades", "National view")
"""The tabs, each named for what it shows (the last only for several trusts)."""


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
animating = solara.reactive(False)  # the Cascades tab replaying the cascade's recent weeks
pairs_seen = solara.reactive(0)  # replicate pairs finished, as last shown
tab = solara.reactive(0)


def redraw() -> None:
    counter.set(counter.value + 1)


def new_run(built: Session) -> None:
    """Show a freshly built run, forgetting choices that belonged to the old one."""
    if session.value is not None:
        session.value.stop_replicates()
    playing.set(False)
    animating.set(False)
    arm.set(MAIN)
    trust.set(0)
    director.set(None)
    person.set(None)
    cascade_week.set(None)
    pairs_seen.set(0)
    session.set(built)
    redraw()


def shown_trust(model: VizModel) -> int:
    return trust.value if trust.value < model.org.n_trusts else 0
