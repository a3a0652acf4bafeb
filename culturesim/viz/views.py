"""The page's pictures, drawn with matplotlib into PNG bytes.

The pictures redrawn every week (a directorate, a history) are classes built once
per run and updated in place: making a figure's axes and tick marks cost more than drawing
them, and a Step must redraw everything in under half a second. The rest (`draw_*`) are plain
functions. All use `matplotlib.figure.Figure` directly, never pyplot, so the Play thread shares
no global state. The page shows PNG; any picture can also be downloaded as SVG.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from culturesim.engine.state import BULLYING, COMPASSIONATE, NEUTRAL

# Okabe & Ito's palette, distinguishable with the common colour-vision deficiencies.
BEHAVIOUR_COLOURS = {NEUTRAL: "#bbbbbb", COMPASSIONATE: "#0072b2", BULLYING: "#d55e00"}
BEHAVIOUR_LABELS = {COMPASSIONATE: "compassionate", NEUTRAL: "neutral", BULLYING: "bullying"}
RELATION_COLOURS = {0: "#cc79a7", 1: "#e69f00", 2: "#56b4e9"}
RELATION_LABELS = {0: "manager → report", 1: "colleague", 2: "report → manager"}
LINEAGE_COLOURS = {"bullied them": "#009e73", "they bullied": "#000000"}
LEVEL_COLOURS = ("#000000", "#0072b2", "#009e73", "#e69f00", "#d55e00")
VACANT_COLOUR = "#ffffff"
MAX_PER_ROW = 60
"""People side by side in one row of a directorate; a larger level wraps into sub-rows."""
DPI = 80
CLICK_REACH_INCHES = 0.15
"""How far from a drawn person a click still picks them (12 pixels of the PNG)."""
FONT = 11
"""Text size (points) of titles, ticks and legends: legible at 1366x768."""


def title(ax, text: str) -> None:
    """A panel title at a fixed height: matplotlib's automatic placement measures every tick
    label to dodge them, which was a fifth of the drawing time."""
    ax.set_title(text, fontsize=FONT, y=1.0, pad=3)


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (what the page's <img> shows)."""
    return save(fig, "png")


def save(fig: Figure, kind: str = "png") -> bytes:
    """The figure as PNG or SVG bytes (what the page's downloads hand over)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=kind, dpi=DPI)
    return buffer.getvalue()


# --- the organisation ------------------------------------------------------------------------


def directorate_posts(org, director: int) -> np.ndarray:
    """A director's post, everyone below it, and the chief executive above: the chain of command.

    Each post's reports are a contiguous block of later posts, so each level of a directorate
    is one contiguous range, found from the range above it.
    """
    ranges = [np.array([director])]
    lo, hi = director, director + 1
    while True:
        with_reports = np.arange(lo, hi)[org.n_reports[lo:hi] > 0]
        if not len(with_reports):
            break
        lo = int(org.first_report[with_reports[0]])
        hi = int(org.first_report[with_reports[-1]] + org.n_reports[with_reports[-1]])
        ranges.append(np.arange(lo, hi))
    chief = org.manager[director]
    return np.concatenate([[chief] if chief >= 0 else [], *ranges]).astype(np.int64)


def hierarchy_layout(level: np.ndarray, max_per_row: int = MAX_PER_ROW) -> tuple[np.ndarray, ...]:
    """x and y of each post: a row per level, chief executive at the top.

    Posts at a level are stored ordered by manager, so placing them by rank keeps each team
    together under its leader. A level wider than `max_per_row` wraps into sub-rows, so the
    frontline forms a block rather than a line too long to see.
    """
    x = np.empty(len(level))
    y = np.empty(len(level))
    for depth in np.unique(level):
        at = np.flatnonzero(level == depth)
        rows = math.ceil(len(at) / max_per_row)
        cols = math.ceil(len(at) / rows)
        rank = np.arange(len(at))
        x[at] = (rank // rows + 0.5) / cols
        y[at] = depth + 0.7 * (rank % rows) / rows
    return x, y


class DirectoratePicture:
    """A directorate and its chief executive: colour is behaviour, size is strain, arrows are
    this week's acts, and a chosen person's lineage is drawn over it.

    Built once per directorate (positions never change), then `update()` each week.
    """

    def __init__(self, org, posts: np.ndarray, heading: str, width: float = 8.5) -> None:
        self.posts = posts
        self.index = {int(p): i for i, p in enumerate(posts)}
        self.level = org.level[posts]
        self.x, self.y = hierarchy_layout(self.level)
        self.heading = heading
        self.fig = Figure(figsize=(width, 5.2))
        self.ax = ax = self.fig.add_axes((0.16, 0.02, 0.83, 0.8))
        self.people = ax.scatter(self.x, self.y, s=1.0, linewidths=0.6, zorder=2)
        self.rings = ax.scatter(
            [], [], s=160, facecolors="none", edgecolors="black", linewidths=2, zorder=4
        )
        self.ancestors = ax.scatter(
            [], [], s=160, marker="s", facecolors="none", edgecolors="#009e73", lw=1.5, zorder=4
        )
        self.drawn: list = []
        self.occupied = np.ones(len(posts), dtype=bool)
        ax.set_ylim(self.level.max() + 0.95, -0.5)
        ax.set_xlim(0, 1)
        levels = np.unique(self.level)
        ax.set_yticks(levels, [org.level_names[i].replace("_", " ") for i in levels], fontsize=FONT)
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
        handles += [Line2D([], [], color=c, lw=2.5, label=k) for k, c in LINEAGE_COLOURS.items()]
        self.fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=FONT - 1,
                        frameon=False, bbox_to_anchor=(0.5, 0.995))  # fmt: skip

    def update(self, model, week_acts: pd.DataFrame, chosen=None) -> Figure:
        """Show this week's people and acts; ring the chosen person, draw their lineage."""
        people, posts = model.people, self.posts
        self.occupied = occupied = people.occupied[posts]
        base = np.where(self.level == self.level.max(), 14.0, 40.0)
        self.people.set_sizes(base * (0.3 + 2.0 * people.strain[posts]))
        colours = np.array([BEHAVIOUR_COLOURS[b] for b in range(3)])[people.behaviour[posts]]
        colours[~occupied] = VACANT_COLOUR
        self.people.set_facecolors(colours)
        self.people.set_edgecolors(np.where(occupied, "none", "#777777"))
        for artist in self.drawn:
            artist.remove()
        self.drawn = []
        inside = week_acts["perpetrator"].isin(self.index) & week_acts["victim"].isin(self.index)
        acts = week_acts[inside]
        for relation, colour in RELATION_COLOURS.items():
            some = acts[acts["relation"] == relation]
            self._arrows(some["perpetrator"], some["victim"], colour, 0.0025, 0.75)
        heading = self.heading
        if chosen is None:
            self.rings.set_offsets(np.empty((0, 2)))
            self.ancestors.set_offsets(np.empty((0, 2)))
        else:
            at = self._at([chosen.post])
            self.rings.set_offsets(np.column_stack([self.x[at], self.y[at]]))
            up = self._at(chosen.ancestry)
            self.ancestors.set_offsets(np.column_stack([self.x[up], self.y[up]]))
            them = chosen.bullied_by.drop_duplicates("perpetrator")
            self._arrows(them["perpetrator"], np.full(len(them), chosen.post),
                         LINEAGE_COLOURS["bullied them"], 0.004, 1.0)  # fmt: skip
            theirs = chosen.bullied.drop_duplicates("victim")
            self._arrows(np.full(len(theirs), chosen.post), theirs["victim"],
                         LINEAGE_COLOURS["they bullied"], 0.004, 1.0)  # fmt: skip
            outside = len(chosen.posts) - len(self._at(chosen.posts))
            heading += f"; ringed: post {chosen.post}" + (
                f" ({outside} of their lineage outside this directorate)" if outside else ""
            )
        title(self.ax, heading)
        return self.fig

    def place_of(self, post: int) -> tuple[float, float]:
        """Where a post is drawn, as fractions of the picture's width and height from its top
        left (the inverse of `post_at`)."""
        at = self.index[int(post)]
        x, y = self.fig.transFigure.inverted().transform(
            self.ax.transData.transform((self.x[at], self.y[at]))
        )
        return float(x), float(1 - y)

    def post_at(self, x: float, y: float) -> int | None:
        """The occupied post drawn nearest a click at (x, y), fractions of the picture's width
        and height from its top left; None if nobody is drawn within a few pixels."""
        click = self.fig.transFigure.transform((x, 1 - y))
        drawn = self.ax.transData.transform(np.column_stack([self.x, self.y]))
        distance = np.hypot(*(drawn - click).T)
        distance[~self.occupied] = np.inf
        nearest = int(np.argmin(distance))
        reach = CLICK_REACH_INCHES * self.fig.dpi
        return int(self.posts[nearest]) if distance[nearest] <= reach else None

    def _at(self, posts) -> np.ndarray:
        """Positions in this picture of those `posts` that are in it."""
        return np.array([self.index[int(p)] for p in posts if int(p) in self.index], dtype=int)

    def _arrows(self, source, target, colour: str, width: float, alpha: float) -> None:
        pairs = [
            (self.index[int(s)], self.index[int(t)])
            for s, t in zip(source, target, strict=True)
            if int(s) in self.index and int(t) in self.index
        ]
        if not pairs:
            return
        s, t = np.array(pairs).T
        x, y = self.x, self.y
        self.drawn.append(
            self.ax.quiver(
                x[s],
                y[s],
                x[t] - x[s],
                y[t] - y[s],
                angles="xy",
                scale_units="xy",
                scale=1,
                color=colour,
                width=width,
                headwidth=4,
                headlength=5,
                alpha=alpha,
                zorder=3,
            )  # fmt: skip
        )


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
    cascade: pd.DataFrame,
    level: np.ndarray,
    level_names,
    as_of: int | None = None,
    width: float = 8.5,
) -> Figure:
    """The largest live cascade as a tree: who converted whom, coloured by each perpetrator's
    level. With `as_of`, episodes begun after that week are drawn faint: stepping the week
    replays how the cascade grew."""
    fig = Figure(figsize=(width, 4.6))
    ax = fig.add_axes((0.02, 0.14, 0.96, 0.78))
    ax.set_axis_off()
    if cascade is None or len(cascade) == 0:
        ax.text(0.5, 0.5, "no cascade yet", ha="center", va="center", color="grey", fontsize=FONT)
        return fig
    x, depth = tree_layout(cascade["episode"].to_numpy(), cascade["parent"].to_numpy())
    start = cascade["start_week"].to_numpy()
    shown = np.ones(len(cascade), dtype=bool) if as_of is None else start <= as_of
    index = {int(e): i for i, e in enumerate(cascade["episode"])}
    links = [(index[int(p)], i) for i, p in enumerate(cascade["parent"]) if int(p) in index]
    segments = [((x[p], depth[p]), (x[i], depth[i])) for p, i in links]
    alphas = [1.0 if shown[i] else 0.15 for _, i in links]
    lines = LineCollection(segments, colors="#777777", linewidths=1.0, zorder=1)
    lines.set_alpha(alphas)
    ax.add_collection(lines)
    colours = np.array(LEVEL_COLOURS)[level[cascade["post"].to_numpy()]]
    ax.scatter(x[shown], depth[shown], s=36, c=colours[shown], zorder=2)
    ax.scatter(x[~shown], depth[~shown], s=36, c=colours[~shown], alpha=0.15, zorder=2)
    ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
    ax.set_ylim(depth.max() + 0.5, -0.5)
    first = int(start.min())
    since = f"week {first}" + (" (in the model's burn-in)" if first < 0 else "")
    heading = f"largest live cascade: {len(cascade)} episodes, {depth.max() + 1} generations, "
    heading += f"since {since}"
    if as_of is not None:
        heading += f"; as of week {as_of}: {int(shown.sum())} episodes"
    title(ax, heading)
    handles = [
        Line2D([], [], ls="", marker="o", color=c, label=level_names[i].replace("_", " "))
        for i, c in enumerate(LEVEL_COLOURS)
    ]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=FONT - 1, frameon=False)
    return fig


# --- a person's or a team's history ----------------------------------------------------------


class HistoryPicture:
    """A person's or a team's strain over time above; acts suffered and committed below."""

    def __init__(self, width: float = 9.0) -> None:
        self.fig = Figure(figsize=(width, 4.0))
        self.top, self.bottom = self.fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        (self.strain,) = self.top.plot([], [], color="#333333", lw=1.2)
        self.top.set_ylim(0, 1)
        self.top.text(
            0.005, 0.97, "strain", transform=self.top.transAxes, va="top", fontsize=FONT - 1
        )
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
            fontsize=FONT - 2,
            frameon=False,
            ncol=2,
            loc="upper left",
            title="acts a week",
            title_fontsize=FONT - 2,
            alignment="left",
        )
        self.fig.text(0.5, 0.01, "week", ha="center", va="bottom", fontsize=FONT - 1)
        for ax in (self.top, self.bottom):
            ax.tick_params(labelsize=FONT - 1)
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
