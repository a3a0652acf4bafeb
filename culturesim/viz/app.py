"""The culturesim page: Mesa's `SolaraViz` as the shell, culturesim's views and levers inside it.

What comes from Mesa (`mesa.visualization.SolaraViz`, Mesa 3.3.1):

- the app bar, the sidebar's Controls card (Play interval and Render interval sliders,
  Reset, Play/Pause, Step) and its Step counter;
- the Model Parameters card, built from `model_params`: the scenario picker and the seed.
  These rebuild the model: SolaraViz's Reset constructs `VizModel(scenario=..., seed=...)`
  from them. As everywhere in Mesa 3, a pick takes effect at the next Reset, not on its own;
  the picker's label says so;
- the draggable, resizable grid that holds the views (the organisation, the plots, the
  largest cascade, a history), each a function of the model, redrawn after each step.

What is culturesim's own, in the sidebar under Mesa's cards: the run's week, scenario and
headline numbers, and the live levers. The levers are deliberately not `model_params`: a
model parameter rebuilds the model at Reset, while a lever changes the running model from its
next step (`model.set_driver`, `model.set_stance`, `model.start_leadership_programme`), which
is the point of the page. Pictures are drawn with matplotlib to PNG on the server: the page
has no internet, and Mesa's altair backend needs Vega scripts from a CDN.

The model is a `solara.Reactive` owned by this page and shared with SolaraViz, so the levers
always act on the model SolaraViz is running, including the new one after a Reset. Solara keeps
module-level reactives (and Mesa's `update_counter`) per browser tab, so each tab has its own
run. Known cost of Mesa's Reset: it builds the model on the page's thread, so building the
national scenario (minutes) leaves the page unresponsive until it is ready.

Elements carry `cs-*` classes the browser test reads (`cs-week`, `cs-scenario`, `cs-seed`,
`cs-monitor-<driver>`, `cs-lever-<driver>`, `cs-plot-weeks`, `cs-org-view`, `cs-plots`,
`cs-cascade`, `cs-history`); Mesa's buttons are found by their text.
"""

from __future__ import annotations

import os

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from culturesim.viz import levers, pictures
from culturesim.viz.server import SCENARIO_ENV
from culturesim.viz.session import VizModel, offered_scenarios

DEFAULT_SCENARIO = "baseline"
SCENARIO_LABEL = "scenario (applied at Reset)"
SEED_LABEL = "seed (blank: the scenario's own; applied at Reset)"


def scenario_choices() -> list[str]:
    """The picker's values, each one `load_scenario` takes: bundled names, the file given."""
    return offered_scenarios()


def first_choice(choices: list[str]) -> str:
    """The scenario the page opens with: the one given, else `baseline`, else the first."""
    given = os.environ.get(SCENARIO_ENV)
    if given in choices:
        return given
    return DEFAULT_SCENARIO if DEFAULT_SCENARIO in choices or not choices else choices[0]


def model_params(choices: list[str], first: str) -> dict:
    """SolaraViz's model parameters: what Reset builds the next model from."""
    return {
        "scenario": {"type": "Select", "label": SCENARIO_LABEL, "value": first, "values": choices},
        "seed": {"type": "InputText", "label": SEED_LABEL, "value": ""},
    }


# --- per-tab state the views share -------------------------------------------------------------

lever_version = solara.reactive(0)  # bumped when a lever moves: monitors and plot markers redraw
trust = solara.reactive(0)
focus_mode = solara.reactive(pictures.FOCUS_MODES[0])
focus_post: solara.Reactive[int | None] = solara.reactive(None)


def shown_trust(model: VizModel) -> int:
    """The chosen trust, or trust 0 if a Reset brought a scenario with fewer trusts."""
    return trust.value if trust.value < model.org.n_trusts else 0


def focus_of(model: VizModel) -> pictures.Focus:
    return pictures.resolve_focus(model, focus_mode.value, shown_trust(model), focus_post.value)


# --- the sidebar: the run and the live levers -----------------------------------------------


@solara.component
def RunPanel(model: VizModel):
    """The week, the scenario and this week's headline numbers."""
    _ = update_counter.value  # Mesa's counter: bumped after each Step or Play frame
    bold = {"font-size": "1.4em", "font-weight": "bold"}
    solara.Text(f"Week {model.week}", classes=["cs-week"], style=bold)
    solara.Text(f"Scenario: {model.scenario.name}", classes=["cs-scenario"])
    solara.Text(f"seed {model.seed}", classes=["cs-seed"], style={"font-size": "0.8em"})
    if model.scenario.question:
        solara.Text(model.scenario.question, style={"font-size": "0.85em", "color": "#555"})
    series = model.timeseries()
    if series.empty:
        solara.Text("no weeks run yet", classes=["cs-outcomes"])
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
            solara.Text(line, style={"display": "block", "font-size": "0.85em"})


@solara.component
def Levers(model: VizModel):
    """One slider per driver and the stance, acting on the running model from its next step."""
    _ = update_counter.value, lever_version.value  # show the model's drivers after any change
    programme = levers.programme_lever(model.scenario)
    share = solara.use_reactive(programme.share)  # back to the scenario's share after a Reset

    def move(lever: levers.Lever, value: float) -> None:
        # A slider snapping the model's value onto its grid is not the user moving it.
        if abs(value - model.driver_now(lever.name)) < lever.step / 2:
            return
        model.set_lever(lever.name, value)
        lever_version.set(lever_version.value + 1)

    for lever in levers.driver_levers():
        now = model.driver_now(lever.name)
        with solara.Div(classes=["cs-lever", f"cs-lever-{lever.name}"]):
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
                classes=[f"cs-monitor-{lever.name}"],
                style={"font-size": "0.8em", "color": "#555"},
            )

    def train() -> None:
        model.start_programme(share.value, programme.strength)
        lever_version.set(lever_version.value + 1)

    with solara.Div(classes=["cs-lever", "cs-lever-programme"]):
        solara.Text(
            "share of leaders in a compassionate-leadership programme", style={"font-size": "0.9em"}
        )
        solara.SliderFloat("", value=share, min=programme.lo, max=programme.hi, step=0.05)
        solara.Button("Train them now", on_click=train, outlined=True, classes=["cs-train"])


@solara.component
def SidebarCards(model: VizModel):
    """culturesim's cards in the sidebar, below Mesa's (see `InSidebar`)."""
    InSidebar(model)


@solara.component
def InSidebar(model: VizModel):
    """Solara orders sidebar content by component depth: one level below SolaraViz's own
    sidebar, these cards come after Mesa's Controls, Model Parameters and Information."""
    with solara.Sidebar():
        with solara.Card("This run"):
            RunPanel(model)
        with solara.Card("Live levers"):
            solara.Text(
                "A move changes the running model from its next step; it is marked on the plots.",
                style={"font-size": "0.8em", "color": "#555"},
            )
            Levers(model)


# --- the views in SolaraViz's grid (functions of the model) -------------------------------------


@solara.component
def OrganisationView(model: VizModel):
    """One trust as a hierarchy (or a heatmap of teams when large), with a trust selector."""
    counter = update_counter.value
    n_trusts = model.org.n_trusts
    chosen = shown_trust(model)
    focus = focus_of(model)
    if n_trusts > 1:
        solara.Select(
            "trust",
            values=[str(i) for i in range(n_trusts)],
            value=str(chosen),
            on_value=lambda v: trust.set(int(v)),
        )
    image = solara.use_memo(
        lambda: pictures.organisation_png(model, chosen, focus),
        [model, counter, chosen, focus.title],
    )
    shown = pictures.organisation_shown_as(model, chosen)
    solara.Text(
        f"trust {chosen}: {shown}; colour is behaviour, size is strain, "
        "arrows are this week's bullying acts",
        style={"font-size": "0.85em"},
    )
    solara.Image(image, classes=["cs-org-view"], width="100%")


@solara.component
def Plots(model: VizModel):
    """The live plots (lever moves marked) and how many weeks they show."""
    counter, moves = update_counter.value, lever_version.value
    image, weeks = solara.use_memo(lambda: pictures.plots_png(model), [model, counter, moves])
    solara.Image(image, classes=["cs-plots"], width="100%")
    solara.Text(
        f"weeks plotted: {weeks}",
        classes=["cs-plot-weeks"],
        style={"font-size": "0.8em", "color": "#555"},
    )


@solara.component
def CascadeView(model: VizModel):
    """The largest current cascade of bullied-become-bullies, as a tree."""
    counter = update_counter.value
    image = solara.use_memo(lambda: pictures.cascade_png(model), [model, counter])
    solara.Text("largest current cascade", style={"font-size": "0.85em"})
    solara.Image(image, classes=["cs-cascade"], width="100%")


@solara.component
def HistoryView(model: VizModel):
    """Who to follow (the most strained person, the worst team, a post) and their history."""
    counter = update_counter.value
    focus = focus_of(model)
    with solara.Row(gap="12px"):
        solara.Select(
            "history of", values=list(pictures.FOCUS_MODES), value=focus_mode, classes=["cs-focus"]
        )
        if focus_mode.value == "post number":
            solara.InputInt(f"post (0 to {model.org.n_posts - 1})", value=focus_post, optional=True)
    image = solara.use_memo(
        lambda: pictures.history_png(model, focus), [model, counter, focus.title]
    )
    solara.Image(image, classes=["cs-history"], width="100%")


VIEWS = [OrganisationView, Plots, CascadeView, HistoryView]


@solara.component
def Page():
    """SolaraViz around a model of the scenario given to `culturesim viz`, plus the levers."""
    choices = solara.use_memo(scenario_choices, [])
    first = first_choice(choices)
    opened = solara.use_memo(lambda: VizModel(first), [])
    model = solara.use_reactive(opened)  # shared with SolaraViz: its Reset replaces the value
    solara.Title("culturesim")
    SolaraViz(
        model,
        components=[(view, 0) for view in VIEWS],
        model_params=model_params(choices, first),
        name="culturesim",
    )
    SidebarCards(model.value)
