"""The live plots: each outcome week by week for the main run and its branch, and the
branch's difference from the main run.

Both pictures are built once per session and updated in place each week (making axes and tick
marks costs more than drawing them). Lever moves are dashed lines; the branch week is a solid
line labelled "branch".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from culturesim.engine.measures import WEEKLY, measure
from culturesim.viz.views import FONT, title

PANELS = (
    (
        "bullying prevalence (last 52 weeks)",
        ("bullied_by_public", "bullied_by_colleagues", "bullied_by_managers"),
    ),
    ("compassion climate", ("compassion_climate",)),
    ("mean strain", ("mean_strain",)),
    ("leavers and vacancies", ("leaver_rate", "vacancy_rate")),
    ("care quality", ("care_quality",)),
    ("cascade R", ("reproduction_number",)),
)
"""The live plots: a title and its weekly measures (names from the measure registry)."""
PLOTS = tuple(
    (name, tuple((c, measure(c, WEEKLY).label if len(columns) > 1 else None) for c in columns))
    for name, columns in PANELS
)
"""Each panel's measures with their legend labels (from the registry; none for a lone line)."""
MEASURES = tuple(column for _, columns in PLOTS for column, _ in columns)
"""Every column plotted, in panel order."""
NUMERICAL_ZERO = 1e-9
"""A difference whose every value is below this is floating-point rounding, drawn as zero."""
COLOURS = ("#0072b2", "#e69f00", "#cc79a7")
BRANCH_COLOUR = "#000000"


class PanelsPicture:
    """Six panels of outcomes over weeks, with lever moves and the branch week marked."""

    def __init__(self, heading: str, width: float = 8.5, height: float = 4.6) -> None:
        self.fig = Figure(figsize=(width, height))
        self.axes = list(self.fig.subplots(2, 3, sharex=True).flat)
        self.markers: list = []
        for ax, (name, _) in zip(self.axes, PLOTS, strict=True):
            title(ax, name)
            ax.tick_params(labelsize=FONT - 1)
            ax.locator_params(nbins=4)  # fewer tick labels: text is most of the drawing time
            ax.ticklabel_format(axis="y", useOffset=False)  # an offset would cover the title
        self.fig.text(0.5, 0.005, "week", ha="center", va="bottom", fontsize=FONT)
        self.heading = heading
        self.fig.suptitle(heading, fontsize=FONT, y=0.995)
        self.fig.subplots_adjust(
            left=0.07, right=0.99, top=0.86, bottom=0.09, hspace=0.35, wspace=0.28
        )

    def mark(self, lever_weeks: list[int], branch_week: int | None) -> None:
        for marker in self.markers:
            marker.remove()
        self.markers = [
            ax.axvline(week, color="#777777", lw=0.8, ls="--")
            for week in sorted(set(lever_weeks))
            for ax in self.axes
        ]
        if branch_week is not None:
            for ax in self.axes:
                self.markers.append(ax.axvline(branch_week, color=BRANCH_COLOUR, lw=1.4))
            self.markers.append(
                self.axes[0].annotate(
                    f"branch (week {branch_week})",
                    (branch_week, 0.02),
                    xycoords=("data", "axes fraction"),
                    xytext=(3, 3),
                    textcoords="offset points",
                    fontsize=FONT - 2,
                )
            )

    def rescale(self) -> Figure:
        for ax in self.axes:
            ax.relim()
            ax.autoscale_view()
        return self.fig


class ArmsPicture(PanelsPicture):
    """The outcomes of the main run (solid) and of the branch (dashed), week by week."""

    def __init__(self, width: float = 8.5) -> None:
        super().__init__("solid: main run; dashed: branch", width)
        self.lines: dict[tuple[str, str], Line2D] = {}
        for ax, (_, columns) in zip(self.axes, PLOTS, strict=True):
            for (column, label), colour in zip(columns, COLOURS, strict=False):
                for arm, style in (("main", "-"), ("branch", "--")):
                    (line,) = ax.plot([], [], lw=1.4, ls=style, color=colour,
                                      label=label if arm == "main" else None)  # fmt: skip
                    self.lines[arm, column] = line
            if len(columns) > 1:
                ax.legend(fontsize=FONT - 2, frameon=False, loc="best")
        self.axes[-1].axhline(1.0, color="grey", lw=0.8, ls=":")

    def update(
        self, main: pd.DataFrame, branch: pd.DataFrame | None, lever_weeks, branch_week
    ) -> Figure:
        for (arm, column), line in self.lines.items():
            series = main if arm == "main" else branch
            if series is None or series.empty:
                line.set_data([], [])
            else:
                line.set_data(series["week"], series[column])
        self.mark(lever_weeks, branch_week)
        return self.rescale()


class DifferencePicture(PanelsPicture):
    """Branch minus main run for each outcome, from the branch week on."""

    def __init__(self, width: float = 8.5) -> None:
        super().__init__("branch minus main run (the effect of the lever moved on the branch)",
                         width, height=4.2)  # fmt: skip
        self.lines: dict[str, Line2D] = {}
        for ax, (_, columns) in zip(self.axes, PLOTS, strict=True):
            ax.axhline(0.0, color="grey", lw=0.8)
            for (column, label), colour in zip(columns, COLOURS, strict=False):
                (self.lines[column],) = ax.plot([], [], lw=1.4, color=colour, label=label)
            if len(columns) > 1:
                ax.legend(fontsize=FONT - 2, frameon=False, loc="best")
        self.bands: list = []

    def update(
        self,
        difference: pd.DataFrame,
        lever_weeks,
        branch_week: int,
        band: pd.DataFrame | None = None,
    ) -> Figure:
        """Draw the twin's difference; with `band` (the long frame of
        `viz.replicates.ReplicatePairs.differences`), the 95% interval over replicate pairs
        around it, shaded in each line's colour."""
        for column, line in self.lines.items():
            line.set_data(difference["week"], difference[column])
        for shaded in self.bands:
            shaded.remove()
        self.bands = []
        heading = self.heading
        if band is not None:
            since = band[band["week"] >= branch_week - 1]
            heading = (
                "branch minus main run; shaded: 95% interval over "
                f"{int(band['pairs'].iloc[0])} replicate pairs"
            )
        self.fig.suptitle(heading, fontsize=FONT, y=0.995)
        self.mark(lever_weeks, branch_week)
        self.rescale()
        if band is not None:
            for column, line in self.lines.items():
                rows = since[since["measure"] == column]
                weeks, low, high = rows["week"], rows["low"], rows["high"]
                ax = line.axes
                shade = ax.fill_between(weeks, low, high, color=line.get_color(), alpha=0.25, lw=0)
                self.bands.append(shade)
                # relim() leaves collections out: widen the limits to hold the band
                ax.update_datalim(np.column_stack([[*weeks, *weeks], [*low, *high]]))
                ax.autoscale_view()
        for ax in self.axes:  # rounding (1e-13), not an effect: drawn as the flat zero it is
            if max(map(abs, ax.get_ylim())) < NUMERICAL_ZERO:
                ax.set_ylim(-0.05, 0.05, auto=True)  # autoscale again next week
        return self.fig


def arm_difference(main: pd.DataFrame, branch: pd.DataFrame, since_week: int) -> pd.DataFrame:
    """Branch minus main for every plotted measure, week by week from `since_week`."""
    weeks = min(len(main), len(branch))
    a = main.iloc[:weeks].set_index("week")[list(MEASURES)]
    b = branch.iloc[:weeks].set_index("week")[list(MEASURES)]
    difference = (b - a).reset_index()
    return difference[difference["week"] >= since_week - 1]
