"""What the page shows, as PNG bytes, from the page's model: what the page and the benchmark call.

Each takes the model's lock while it reads the model, so a Play step cannot change the arrays
half-way through a drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from culturesim.viz import views
from culturesim.viz.session import VizModel

HALF_WIDTH = 6.0
"""Inches across for the two pictures that share a row, so their text stays legible."""
FOCUS_MODES = ("most strained person", "worst team", "post number")


@dataclass(frozen=True, eq=False)  # eq by identity: comparing arrays field by field is ambiguous
class Focus:
    """Who the history panel is about: one post's current holder, or a team."""

    members: np.ndarray
    title: str
    leader: int | None = None


def organisation_shown_as(model: VizModel, trust: int) -> str:
    """'hierarchy' for a trust small enough to draw person by person, else 'heatmap'."""
    size = len(model.trust_posts(trust))
    return "hierarchy" if size <= views.HIERARCHY_MAX_POSTS else "heatmap"


def cached(model: VizModel, key: tuple, build):
    """A picture kept for the rest of the run (Reset builds a new model, with an empty cache)."""
    if key not in model.cache:
        model.cache[key] = build()
    return model.cache[key]


def organisation_png(model: VizModel, trust: int = 0, focus: Focus | None = None) -> bytes:
    """The chosen trust as a hierarchy (or a heatmap of its teams when large)."""
    with model.lock:
        posts = model.trust_posts(trust)
        if organisation_shown_as(model, trust) == "heatmap":
            marked = None
            if focus is not None:
                marked = (
                    focus.leader if focus.leader is not None else model.org.team[focus.members[0]]
                )
            return views.png(views.draw_team_heatmap(model, posts, marked))
        picture = cached(
            model, ("hierarchy", trust), lambda: views.HierarchyPicture(model.org, posts)
        )
        return views.png(picture.update(model, focus.members if focus is not None else None))


def plots_png(model: VizModel) -> tuple[bytes, int]:
    """The live plots, and how many weeks they show (a hook the browser test reads)."""
    with model.lock:
        series = model.timeseries()
        picture = cached(model, ("plots",), views.PlotsPicture)
        return views.png(picture.update(series, model.lever_log)), len(series)


def cascade_png(model: VizModel) -> bytes:
    """The largest current cascade drawn as a tree, redrawn only when that cascade changed."""
    with model.lock:
        org = model.org
        cascade = model.largest_cascade()
        key = ("cascade", tuple(cascade["episode"].tail(1)), len(cascade))
        if key not in model.cache:
            for old in [k for k in model.cache if k[0] == "cascade"]:
                del model.cache[old]
            figure = views.draw_cascade(cascade, org.level, org.level_names, width=HALF_WIDTH)
            model.cache[key] = views.png(figure)
        return model.cache[key]


def resolve_focus(model: VizModel, mode: str, trust: int, post: int | None) -> Focus:
    """Turn the page's choice (most strained, worst team, a post number) into posts and a title."""
    with model.lock:
        org = model.org
        if mode == "worst team":
            leader = model.worst_team(trust)
            start = org.first_report[leader]
            members = np.arange(start, start + org.n_reports[leader])
            role = org.level_names[org.level[leader]].replace("_", " ")
            return Focus(
                members, f"worst team: the {len(members)} reports of {role} post {leader}", leader
            )
        if mode == "post number" and post is not None and 0 <= post < org.n_posts:
            chosen = int(post)
        else:
            chosen = model.most_strained(trust)
        role = org.level_names[org.level[chosen]].replace("_", " ")
        person = int(model.people.person_id[chosen])
        return Focus(np.array([chosen]), f"person {person} ({role}, post {chosen})")


def history_png(model: VizModel, focus: Focus) -> bytes:
    """A person's or a team's history: strain, bullied, bullied others."""
    with model.lock:
        if focus.leader is not None:
            history = model.team_history(focus.leader)
        else:
            history = model.person_history(int(focus.members[0]))
        picture = cached(model, ("history",), lambda: views.HistoryPicture(width=HALF_WIDTH))
        return views.png(picture.update(history, focus.title))
