"""The page's pictures, drawn with matplotlib into PNG bytes.

The pictures redrawn every week (the hierarchy, the plots, a history) are classes built once
per run and updated in place: making a figure's axes and tick marks cost more than drawing
them, and a Step must redraw everything in under half a second. The rest (`draw_*`) are plain
functions. All use `matplotlib.figure.Figure` directly, never pyplot, so the Play thread shares
no global state; and PNG rather than SVG, as two thousand people would make an SVG slow.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from culturesim.engine.measures import WEEKLY, measure
from culturesim.engine.state import BULLYING, COMPASSIONATE, NEUTRAL

BEHAVIOUR_COLOURS = {NEUTRAL: "#b0b0b0", COMPASSIONATE: "#1b9e77", BULLYING: "#d62728"}
BEHAVIOUR_LABELS = {COMPASSIONATE: "compassionate", NEUTRAL: "neutral", BULLYING: "bullying"}
RELATION_COLOURS = {0: "#8b0000", 1: "#ff7f0e", 2: "#7b3294"}
RELATION_LABELS = {0: "manager → report", 1: "colleague", 2: "report → manager"}
LEVEL_COLOURS = ("#08306b", "#2171b5", "#6baed6", "#fd8d3c", "#a63603")
VACANT_COLOUR = "#ffffff"
HIERARCHY_MAX_POSTS = 5000
"""A trust with more posts than this is drawn as a heatmap of teams instead of a hierarchy."""
MAX_PER_ROW = 240
"""People drawn side by side in one row of the hierarchy; a larger level wraps into sub-rows."""
DPI = 80


def title(ax, text: str) -> None:
    """A panel title at a fixed height: matplotlib's automatic placement measures every tick
    label to dodge them, which was a fifth of the drawing time."""
    ax.set_title(text, fontsize=9, y=1.0, pad=3)


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (what the page's <img> shows)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


# --- the organisation ------------------------------------------------------------------------


def hierarchy_layout(level: np.ndarray, max_per_row: int = MAX_PER_ROW) -> tuple[np.ndarray, ...]:
    """x and y of each post of one trust: a row per level, chief executive at the top.

    Posts at a level are stored ordered by manager, so placing them by rank keeps each team
    together under its leader. A level wider than `max_per_row` wraps into sub-rows, so a team
    of frontline staff forms a small block rather than a line too long to see.
    """
    x = np.empty(len(level))
    y = np.empty(len(level))
    for depth in np.unique(level):
        at = np.flatnonzero(level == depth)
        rows = math.ceil(len(at) / max_per_row)
        cols = math.ceil(len(at) / rows)
        rank = np.arange(len(at))
        x[at] = (rank // rows + 0.5) / cols
        y[at] = depth + 0.6 * (rank % rows) / rows
    return x, y


class HierarchyPicture:
    """One trust as a hierarchy: colour is behaviour, size is strain, arrows are this week's acts.

    Vacant posts are hollow; the posts being followed in the history panel are ringed. Built
    once per trust (positions never change), then `update()` each week.
    """

    def __init__(self, org, posts: np.ndarray, width: float = 9.0) -> None:
        self.posts = posts
        self.level = org.level[posts]
        self.x, self.y = hierarchy_layout(self.level)
        self.fig = Figure(figsize=(width, 4.6))
        self.ax = ax = self.fig.add_axes((0.13, 0.02, 0.86, 0.86))
        self.people = ax.scatter(self.x, self.y, s=1.0, linewidths=0.5, zorder=2)
        self.rings = ax.scatter(
            [], [], s=120, facecolors="none", edgecolors="black", linewidths=1.5, zorder=4
        )
        self.arrows = None
        ax.set_ylim(self.level.max() + 0.9, -0.5)
        ax.set_xlim(0, 1)
        levels = np.unique(self.level)
        ax.set_yticks(levels, [org.level_names[i].replace("_", " ") for i in levels], fontsize=9)
        ax.set_xticks([])
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        handles = [
            Line2D([], [], ls="", marker="o", color=BEHAVIOUR_COLOURS[b], label=label)
            for b, label in BEHAVIOUR_LABELS.items()
        ]
        handles += [
            Line2D([], [], color=c, label=RELATION_LABELS[r]) for r, c in RELATION_COLOURS.items()
        ]
        self.fig.legend(handles=handles, loc="upper center", ncol=6, fontsize=8, frameon=False)

    def update(self, model, selected: np.ndarray | None = None) -> Figure:
        """Show this week's people and acts, ringing `selected` posts."""
        people, posts = model.people, self.posts
        occupied = people.occupied[posts]
        base = np.where(self.level == self.level.max(), 4.0, 14.0)  # the frontline is crowded
        self.people.set_sizes(base * (0.3 + 2.5 * people.strain[posts]))
        colours = np.array([BEHAVIOUR_COLOURS[b] for b in range(3)])[people.behaviour[posts]]
        colours[~occupied] = VACANT_COLOUR
        self.people.set_facecolors(colours)
        self.people.set_edgecolors(np.where(occupied, "none", "#777777"))
        where = [] if selected is None else selected - posts[0]
        self.rings.set_offsets(np.column_stack([self.x[where], self.y[where]]))
        self._draw_acts(model.last_acts)
        return self.fig

    def _draw_acts(self, acts: dict) -> None:
        """Last week's bullying acts inside this trust, as arrows from perpetrator to victim."""
        if self.arrows is not None:
            self.arrows.remove()
            self.arrows = None
        lo, hi = self.posts[0], self.posts[-1]
        perpetrator = np.asarray(acts.get("perpetrator", []), dtype=np.int64)
        victim = np.asarray(acts.get("victim", []), dtype=np.int64)
        relation = np.asarray(acts.get("relation", []), dtype=np.int64)
        inside = (perpetrator >= lo) & (perpetrator <= hi) & (victim >= lo) & (victim <= hi)
        if not inside.any():
            return
        p, v = perpetrator[inside] - lo, victim[inside] - lo
        x, y = self.x, self.y
        colours = [RELATION_COLOURS.get(int(r), "black") for r in relation[inside]]
        self.arrows = self.ax.quiver(
            x[p],
            y[p],
            x[v] - x[p],
            y[v] - y[p],
            angles="xy",
            scale_units="xy",
            scale=1,
            color=colours,
            width=0.0025,
            headwidth=5,
            headlength=6,
            alpha=0.8,
            zorder=3,
        )


def team_grid(leaders: np.ndarray) -> tuple[int, int]:
    """Rows and columns for a heatmap of this many teams, wider than tall."""
    cols = max(1, math.ceil(math.sqrt(len(leaders) * 2)))
    return math.ceil(len(leaders) / cols), cols


def draw_team_heatmap(
    model, posts: np.ndarray, marked_leader: int | None = None, width: float = 9.0
) -> Figure:
    """A large trust as a heatmap of its teams: share bullying this week, and mean strain.

    Teams are placed in storage order, so teams of one manager sit next to each other. The
    team led by `marked_leader` (the one the history panel follows) is outlined.
    """
    org, people = model.org, model.people
    team = org.team[posts] - posts[0]
    leaders = np.flatnonzero(org.n_reports[posts] > 0)
    occupied = people.occupied[posts].astype(float)
    staffed = np.bincount(team, occupied, minlength=len(posts))[leaders]
    bullying = np.bincount(
        team, occupied * (people.behaviour[posts] == BULLYING), minlength=len(posts)
    )[leaders]
    strain = np.bincount(team, occupied * people.strain[posts], minlength=len(posts))[leaders]
    with np.errstate(invalid="ignore", divide="ignore"):
        panels = (
            ("share of team bullying this week", bullying / staffed, "Reds", 0.3),
            ("mean strain", strain / staffed, "viridis", 1.0),
        )
    rows, cols = team_grid(leaders)
    fig = Figure(figsize=(width, 4.6))
    for index, (name, values, cmap, top) in enumerate(panels):
        ax = fig.add_subplot(1, 2, index + 1)
        grid = np.full(rows * cols, np.nan)
        grid[: len(values)] = values
        image = ax.imshow(
            grid.reshape(rows, cols),
            cmap=cmap,
            vmin=0,
            vmax=top,
            interpolation="nearest",
            aspect="auto",
        )
        title(ax, f"{name} ({len(leaders)} teams)")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(image, ax=ax, fraction=0.05)
        marked = np.flatnonzero(
            leaders == (marked_leader if marked_leader is not None else -1) - posts[0]
        )
        if len(marked):
            row, col = divmod(int(marked[0]), cols)
            ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, ec="black", lw=2))
    fig.subplots_adjust(left=0.02, right=0.94, top=0.9, bottom=0.04, wspace=0.15)
    return fig


# --- the plots -------------------------------------------------------------------------------

PLOTS = (
    (
        "bullying prevalence (last 52 weeks)",
        ("bullied_by_public", "bullied_by_colleagues", "bullied_by_managers"),
    ),
    ("compassion climate", ("compassion_climate",)),
    ("mean strain", ("mean_strain",)),
    ("leavers and vacancies", ("leaver_rate", "vacancy_rate")),
    ("care quality", ("care_quality",)),
    ("cascade reproduction number R", ("reproduction_number",)),
)
"""The live plots: a title and weekly measures; legends (panels of several) use their labels."""


class PlotsPicture:
    """The live plots, one panel per outcome; dashed lines mark weeks a lever was moved."""

    def __init__(self, width: float = 9.0) -> None:
        self.fig = Figure(figsize=(width, 4.6))
        self.axes = list(self.fig.subplots(2, 3, sharex=True).flat)
        self.lines: list[tuple[Line2D, str]] = []
        self.markers: list = []
        for ax, (name, columns) in zip(self.axes, PLOTS, strict=True):
            for column in columns:
                # a dot on the latest week: shows the value now, and week 1's lone point
                (line,) = ax.plot(
                    [],
                    [],
                    lw=1.2,
                    label=measure(column, WEEKLY).label,
                    marker="o",
                    ms=3,
                    markevery=[-1],
                )
                self.lines.append((line, column))
            if name.endswith("R"):
                ax.axhline(1.0, color="grey", lw=0.8, ls=":")
            title(ax, name)
            ax.tick_params(labelsize=8)
            ax.locator_params(nbins=4)  # fewer tick labels: text is most of the drawing time
            ax.ticklabel_format(axis="y", useOffset=False)  # an offset would cover the title
            if len(columns) > 1:
                ax.legend(fontsize=7, frameon=False)
        self.fig.text(0.5, 0.01, "week", ha="center", va="bottom", fontsize=8)
        self.fig.subplots_adjust(
            left=0.06, right=0.99, top=0.93, bottom=0.1, hspace=0.3, wspace=0.22
        )

    def update(self, series: pd.DataFrame, lever_log=()) -> Figure:
        """Plot the whole series so far and mark every lever move."""
        weeks = series["week"] if "week" in series else []
        for line, column in self.lines:
            line.set_data(weeks, series[column] if column in series else [])
        for marker in self.markers:
            marker.remove()
        self.markers = [
            ax.axvline(change.week, color="#555555", lw=0.8, ls="--")
            for change in lever_log
            for ax in self.axes
        ]
        for ax in self.axes:
            ax.relim()
            ax.autoscale_view()
        return self.fig


# --- a cascade -------------------------------------------------------------------------------


def tree_layout(episode: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x of each node of a tree (leaves side by side, parents above their children's middle).

    Returns x and the depth of each node. Written as loops over an explicit stack, since a
    cascade can be deeper than Python's recursion limit.
    """
    index = {int(e): i for i, e in enumerate(episode)}
    children: dict[int, list[int]] = {i: [] for i in range(len(episode))}
    roots = []
    for i, p in enumerate(parent):
        if int(p) in index:
            children[index[int(p)]].append(i)
        else:
            roots.append(i)
    x = np.zeros(len(episode))
    depth = np.zeros(len(episode), dtype=int)
    order: list[int] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        order.append(node)
        for child in reversed(children[node]):
            depth[child] = depth[node] + 1
            stack.append(child)
    next_leaf = 0
    for node in order:
        if not children[node]:
            x[node] = next_leaf
            next_leaf += 1
    for node in reversed(order):
        if children[node]:
            x[node] = np.mean(x[children[node]])
    return x, depth


def draw_cascade(
    cascade: pd.DataFrame, level: np.ndarray, level_names, width: float = 9.0
) -> Figure:
    """The largest cascade as a tree: who converted whom, coloured by each perpetrator's level."""
    fig = Figure(figsize=(width, 4.0))
    ax = fig.add_axes((0.02, 0.12, 0.96, 0.78))
    ax.set_axis_off()
    if cascade is None or len(cascade) == 0:
        ax.text(0.5, 0.5, "no cascade yet", ha="center", va="center", color="grey")
        return fig
    x, depth = tree_layout(cascade["episode"].to_numpy(), cascade["parent"].to_numpy())
    index = {int(e): i for i, e in enumerate(cascade["episode"])}
    segments = [
        ((x[index[int(p)]], depth[index[int(p)]]), (x[i], depth[i]))
        for i, p in enumerate(cascade["parent"])
        if int(p) in index
    ]
    ax.add_collection(LineCollection(segments, colors="#999999", linewidths=0.8, zorder=1))
    levels = level[cascade["post"].to_numpy()]
    ax.scatter(x, depth, s=30, c=np.array(LEVEL_COLOURS)[levels], zorder=2)
    ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
    ax.set_ylim(depth.max() + 0.5, -0.5)
    first = int(cascade["start_week"].min())
    since = f"week {first}" + (" (in the model's burn-in)" if first < 0 else "")
    title(
        ax,
        f"largest cascade: {len(cascade)} episodes over {depth.max() + 1} generations, "
        f"since {since}",
    )
    handles = [
        Line2D([], [], ls="", marker="o", color=c, label=level_names[i].replace("_", " "))
        for i, c in enumerate(LEVEL_COLOURS)
    ]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    return fig


# --- a person's or a team's history ----------------------------------------------------------


class HistoryPicture:
    """A person's or a team's strain over time above; acts suffered and committed below."""

    def __init__(self, width: float = 9.0) -> None:
        self.fig = Figure(figsize=(width, 4.0))
        self.top, self.bottom = self.fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        (self.strain,) = self.top.plot([], [], color="#333333", lw=1.2)
        self.top.set_ylim(0, 1)
        self.top.text(0.005, 0.97, "strain", transform=self.top.transAxes, va="top", fontsize=8)
        # one collection of vertical lines per kind: far faster than a bar per week
        self.bullied = LineCollection([], colors="#7b3294", linewidths=2, label="bullied")
        self.bullying = LineCollection(
            [], colors=BEHAVIOUR_COLOURS[BULLYING], linewidths=2, label="bullied others"
        )
        self.bottom.add_collection(self.bullied)
        self.bottom.add_collection(self.bullying)
        self.bottom.axhline(0, color="grey", lw=0.6)
        self.bottom.legend(
            handles=[self.bullied, self.bullying],
            fontsize=7,
            frameon=False,
            ncol=2,
            loc="upper left",
            title="acts a week",
            title_fontsize=7,
            alignment="left",
        )
        self.fig.text(0.5, 0.01, "week", ha="center", va="bottom", fontsize=8)
        for ax in (self.top, self.bottom):
            ax.tick_params(labelsize=8)
            ax.locator_params(nbins=4)
        self.fig.subplots_adjust(left=0.09, right=0.98, top=0.92, bottom=0.12, hspace=0.1)

    def update(self, history: pd.DataFrame, heading: str) -> Figure:
        """Show a history frame (week, strain, bullied, bullied_others) under a heading."""
        weeks = history["week"].to_numpy()
        self.strain.set_data(weeks, history["strain"])
        up = history["bullied"].to_numpy()
        down = -history["bullied_others"].to_numpy()
        self.bullied.set_segments([[(w, 0), (w, n)] for w, n in zip(weeks, up, strict=True) if n])
        self.bullying.set_segments(
            [[(w, 0), (w, n)] for w, n in zip(weeks, down, strict=True) if n]
        )
        first, last = (weeks[0], weeks[-1]) if len(weeks) else (0, 1)
        self.top.set_xlim(first - 0.5, last + 0.5)
        self.bottom.set_ylim(min(down.min(initial=0), -1) - 0.5, max(up.max(initial=0), 1) + 1.5)
        title(self.top, heading)
        return self.fig
