"""What `culturesim analyse` writes: the report of files and notes, and the shared ways a table
or a figure is saved and a measure is labelled (used by culturesim.batch.analysis and
culturesim.batch.sensitivity)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from culturesim.batch.intervals import mean_interval  # noqa: F401 (re-exported)
from culturesim.engine import measures as registry

PREVALENCE = ("bullied_by_staff", "bullied_by_colleagues", "bullied_by_managers")
"""Prevalence measures, in order of preference for the phase diagram's colour."""
REPRODUCTION = "reproduction_number"
KEY_MEASURES = (
    *PREVALENCE,
    REPRODUCTION,
    "compassion_climate",
    "mean_strain",
    "leaver_rate",
    "care_quality",
    "harm_per_1000_staff_year",
)
"""The summary measures shown first in figures (each declared in culturesim.engine.measures)."""


def measure_label(name: str) -> str:
    """A measure's label from the measure registry (the name itself if it is not a measure)."""
    try:
        return registry.measure(name).label
    except KeyError:
        return name


@dataclass
class AnalysisReport:
    """What `analyse` wrote, and a few lines to print."""

    out: Path
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [*self.notes, *(f"wrote {path}" for path in self.files)]
        return "\n".join(lines)


def save_csv(frame: pd.DataFrame, path: Path, report: AnalysisReport) -> None:
    frame.to_csv(path, index=False, float_format="%.6g")
    report.files.append(path)


def save_figure(figure: Any, path: Path, report: AnalysisReport) -> None:
    figure.savefig(path, dpi=120)
    report.files.append(path)
