"""What the page shows, as matplotlib figures, from the page's session: what the page, its
downloads and the benchmark call.

Each takes the session's lock while it reads the models, so a Play step cannot change the
arrays half-way through a drawing. Pictures redrawn every week are kept in `session.cache`
and updated in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from culturesim.viz import views
from culturesim.viz.lineage import Lineage, lineage
from culturesim.viz.plots import PLOTS, ArmsPicture, DifferencePicture, arm_difference
from culturesim.viz.session import Session, VizModel

FOCUS_MODES = ("chosen person", "most strained person", "worst team")


@dataclass(frozen=True, eq=False)  # eq by identity: comparing arrays field by field is ambiguous
class Focus:
    """Who the history panel is about: one post's current holder, or a team."""

    members: np.ndarray
    title: str
    leader: int | None = None


def cached(session: Session, key: tuple, build):
    """A picture kept for the rest of the session (a new run starts a new session)."""
    if key not in session.cache:
        session.cache[key] = build()
    return session.cache[key]


def role(model: VizModel, post: int) -> str:
    return model.org.level_names[model.org.level[post]].replace("_", " ")


def directors(model: VizModel, trust: int) -> list[tuple[int, str]]:
    """The directorates of a trust: each director's post and a label with its size."""
    posts = model.trust_posts(trust)
    heads = posts[model.org.level[posts] == 1]
    return [
        (int(d), f"directorate {i + 1} (director post {d}, "
                 f"{len(views.directorate_posts(model.org, int(d))) - 1} posts)")
        for i, d in enumerate(heads)
    ]  # fmt: skip


def chosen_lineage(session: Session, arm: str, post: int | None) -> Lineage | None:
    if post is None:
        return None
    with session.lock:
        model = session.arm(arm)
        if not 0 <= post < model.org.n_posts:
            return None
        return lineage(model, post)


def organisation_figure(
    session: Session, arm: str, director: int, chosen: Lineage | None = None
) -> Figure:
    """One directorate (with its chief executive) of the chosen arm, the chosen lineage drawn."""
    with session.lock:
        model = session.arm(arm)
        org = model.org

        def build() -> views.DirectoratePicture:
            posts = views.directorate_posts(org, director)
            heading = f"trust {int(org.trust[director])}, directorate of director post {director}"
            return views.DirectoratePicture(org, posts, heading)

        picture = cached(session, ("directorate", arm, director), build)
        acts = model.staff_acts()
        this_week = acts[acts["week"] == model.week - 1]
        return picture.update(model, this_week, chosen)


def post_at(session: Session, arm: str, director: int, x: float, y: float) -> int | None:
    """The person clicked in the directorate picture as last drawn (x, y: fractions of its
    width and height from the top left), or None if the click missed everyone."""
    with session.lock:
        picture = session.cache.get(("directorate", arm, director))
        return None if picture is None else picture.post_at(x, y)


def plots_figure(session: Session) -> Figure:
    """Both arms' outcomes week by week, lever moves and the branch week marked."""
    with session.lock:
        picture = cached(session, ("arms",), ArmsPicture)
        branch = session.branch
        lever_weeks = [c.week for _, m in session.arms() for c in m.lever_log]
        return picture.update(
            session.main.timeseries(),
            branch.timeseries() if branch is not None else None,
            lever_weeks,
            session.branch_week,
        )


def difference_figure(session: Session) -> Figure | None:
    """The branch minus the main run, or None before a branch."""
    with session.lock:
        if session.branch is None:
            return None
        picture = cached(session, ("difference",), DifferencePicture)
        difference = arm_difference(
            session.main.timeseries(), session.branch.timeseries(), session.branch_week
        )
        lever_weeks = [c.week for c in session.branch.lever_log]
        return picture.update(difference, lever_weeks, session.branch_week, replicate_band(session))


def replicate_band(session: Session) -> pd.DataFrame | None:
    """The interval over the replicate pairs finished so far, if they replay the branch shown
    (None before two pairs, or once a lever has moved since they started)."""
    pairs = session.replicates
    if pairs is None or not pairs.matches(session):
        return None
    return pairs.differences()


def cascade_figure(session: Session, arm: str, as_of: int | None = None) -> Figure:
    """The largest live cascade of an arm as a tree, as it stood at week `as_of`."""
    with session.lock:
        model = session.arm(arm)
        org = model.org
        return views.draw_cascade(model.live_cascade(), org.level, org.level_names, as_of)


def resolve_focus(
    session: Session, arm: str, mode: str, trust: int, director: int, post: int | None
) -> Focus:
    """Turn the page's choice (the chosen person, the most strained, the worst team) into posts
    and a title."""
    with session.lock:
        model = session.arm(arm)
        org = model.org
        if mode == "worst team":
            leader = model.worst_team(trust)
            start = org.first_report[leader]
            members = np.arange(start, start + org.n_reports[leader])
            return Focus(
                members,
                f"worst team: the {len(members)} reports of {role(model, leader)} post {leader}",
                leader,
            )
        if mode == "chosen person" and post is not None and 0 <= post < org.n_posts:
            chosen = int(post)
        else:
            chosen = model.most_strained(views.directorate_posts(org, director))
        person = int(model.people.person_id[chosen])
        return Focus(np.array([chosen]), f"person {person} ({role(model, chosen)}, post {chosen})")


def history_figure(session: Session, arm: str, focus: Focus) -> Figure:
    """A person's or a team's history: strain, bullied, bullied others."""
    with session.lock:
        model = session.arm(arm)
        if focus.leader is not None:
            history = model.team_history(focus.leader)
        else:
            history = model.person_history(int(focus.members[0]))
        picture = cached(session, ("history", arm), lambda: views.HistoryPicture(width=8.5))
        return picture.update(history, focus.title)


def compare_rows(session: Session) -> list[tuple[str, float, float, float, float, float]]:
    """This week's plotted measures for both arms, their difference (branch minus main), and
    the 95% interval of the difference over replicate pairs (NaN where there is none)."""
    with session.lock:
        if session.branch is None or session.week < 1:
            return []
        a = session.main.timeseries().iloc[-1]
        b = session.branch.timeseries().iloc[-1]
        band = replicate_band(session)
        if band is not None:
            band = band[band["week"] == a["week"]].set_index("measure")
        rows = []
        for name, columns in PLOTS:
            for column, label in columns:
                measure = f"{name.split(' (')[0]}{' ' + label if label else ''}"
                low, high = (
                    band.loc[column, ["low", "high"]]
                    if band is not None and column in band.index
                    else (np.nan, np.nan)
                )
                rows.append((measure, a[column], b[column], b[column] - a[column], low, high))
        return rows


def png(figure: Figure | None) -> bytes | None:
    return None if figure is None else views.png(figure)
