"""`compare(A, B)`: does B change the headline outcomes of A, by how much, how sure?

Both scenarios run as pairs with common random numbers (culturesim.batch.paired). For each
headline measure of the run summary: the means of A and B, the difference B − A and the ratio
B / A (ratio of means), each with a 95% paired t interval over replicates (seed noise only).
The folder it writes holds the table (comparison.csv), every replicate's measures
(replicates.csv), the weekly paired differences (differences_over_time.csv and .png), both
resolved scenarios and the provenance; it is written under a temporary name and renamed when
complete.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from culturesim.batch.intervals import (
    difference_range,
    format_interval,
    format_number,
    ratio_range,
)
from culturesim.batch.paired import (
    INTERVAL,
    WEEKLY_MEASURES,
    PairedRuns,
    as_scenario,
    mean_interval,
    ratio_interval,
    replicate_seeds,
    run_pairs,
    weekly_differences,
)
from culturesim.batch.posterior import POSTERIOR_INTERVAL
from culturesim.engine.measures import OUTCOME_MEASURES as OUTCOMES
from culturesim.engine.scenario import Scenario
from culturesim.files import FolderLock, swap_in
from culturesim.run.outputs import (
    check_destination,
    prepare_folder,
    provenance,
    resolved_toml,
    write_json,
)

COMPARISON_FOLDER_ENTRIES = (
    "comparison.csv", "replicates.csv", "differences_over_time.csv",
    "differences_over_time.png", "A.scenario.resolved.toml", "B.scenario.resolved.toml",
    "provenance.json",
)  # fmt: skip
"""Everything a comparison folder holds: `--overwrite` replaces a folder holding nothing else."""
TABLE_COLUMNS = (
    "measure", "mean_a", "mean_b", "difference", "difference_low", "difference_high",
    "ratio", "ratio_low", "ratio_high", "replicates",
)  # fmt: skip


def headline_outcomes(result) -> dict:
    """What each run of a comparison reports: its headline summary measures."""
    return {m: result.summary[m] for m in OUTCOMES}


@dataclass
class Comparison:
    """The paired runs of two scenarios and what they say about B − A."""

    runs: PairedRuns
    table: pd.DataFrame  # one row per outcome: TABLE_COLUMNS
    over_time: pd.DataFrame  # weekly mean difference and interval of WEEKLY_MEASURES
    started: datetime
    finished: datetime
    posterior: Any = None  # the Posterior the replicates drew from, or None (seed noise only)
    draws: list = field(default_factory=list)

    @property
    def interval(self) -> str:
        """Which kind of interval the table shows."""
        if self.posterior is None:
            return INTERVAL
        return "95% paired t interval over replicates; " + POSTERIOR_INTERVAL

    @property
    def a(self) -> Scenario:
        return self.runs.a

    @property
    def b(self) -> Scenario:
        return self.runs.b

    def replicates(self) -> pd.DataFrame:
        """Every run's outcomes: one row per arm and replicate, with its seed."""
        frames = []
        for arm, scenario in (("A", self.a), ("B", self.b)):
            frame = self.runs.measures[arm].copy()
            frame.insert(0, "seed", self.runs.seeds)
            frame.insert(0, "replicate", range(len(self.runs.seeds)))
            frame.insert(0, "scenario", scenario.name)
            frame.insert(0, "arm", arm)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def text(self) -> str:
        """The table as printed by `culturesim compare`."""
        seeds = self.runs.seeds
        lines = [
            f"A = {self.a.name}, B = {self.b.name}: {len(seeds)} paired replicates "
            f"(seeds {seeds[0]}..{seeds[-1]}, {self.a.run.steps} weeks each)",
            f"difference B - A and ratio B / A (ratio of means); intervals: {self.interval}",
            "",
        ]
        width = max(len(m) for m in OUTCOMES)
        lines.append(
            f"{'measure':<{width}}  {'A':>9}  {'B':>9}  {'B - A':>9}  {'95% interval':<21}  "
            f"{'B / A':>6}  95% interval"
        )
        for row in self.table.itertuples():
            means = f"{format_number(row.mean_a):>9}  {format_number(row.mean_b):>9}"
            difference = format_interval(row.difference_low, row.difference_high)
            ratio = format_interval(row.ratio_low, row.ratio_high, 3)
            lines.append(
                f"{row.measure:<{width}}  {means}  {format_number(row.difference):>9}  "
                f"{difference:<21}  {format_number(row.ratio, 3):>6}  {ratio}"
            )
        return "\n".join(lines)

    def figure(self):
        """The weekly paired differences of the key measures: mean and 95% band over replicates."""
        from matplotlib.figure import Figure

        figure = Figure(figsize=(12, 6.5), layout="constrained")
        axes = figure.subplots(2, 3, sharex=True)
        for axis, measure in zip(axes.flat, WEEKLY_MEASURES, strict=True):
            rows = self.over_time[self.over_time.measure == measure]
            axis.axhline(0, color="0.6", linewidth=0.8)
            axis.fill_between(rows.week, rows.low, rows.high, alpha=0.3, linewidth=0)
            axis.plot(rows.week, rows.difference, linewidth=1.5)
            axis.set_title(measure.replace("_", " "), fontsize=10)
        for axis in axes[-1]:
            axis.set_xlabel("week")
        figure.suptitle(
            f"{self.b.name} minus {self.a.name}: paired difference per week "
            f"(mean, 95% t band over {len(self.runs.seeds)} replicates; "
            f"{'seed noise only' if self.posterior is None else 'posterior draws and seeds'})",
            fontsize=10,
        )
        return figure

    def write(self, out: Path, overwrite: bool = False) -> Path:
        """Write the comparison folder atomically; returns its path."""
        out = Path(out)
        with FolderLock(out):
            temporary = prepare_folder(out, overwrite, "comparison", COMPARISON_FOLDER_ENTRIES)
            try:
                self._write_into(temporary)
                swap_in(temporary, out)
            except BaseException:
                shutil.rmtree(temporary, ignore_errors=True)
                raise
        return out

    def _write_into(self, temporary: Path) -> None:
        self.table.to_csv(temporary / "comparison.csv", index=False)
        self.replicates().to_csv(temporary / "replicates.csv", index=False)
        self.over_time.to_csv(temporary / "differences_over_time.csv", index=False)
        figure = self.figure()
        figure.savefig(temporary / "differences_over_time.png", dpi=110)
        (temporary / "A.scenario.resolved.toml").write_text(resolved_toml(self.a))
        (temporary / "B.scenario.resolved.toml").write_text(resolved_toml(self.b))
        origin = provenance(self.a, self.started, self.finished)
        origin.update(
            scenario={"A": self.a.name, "B": self.b.name},
            steps=self.a.run.steps,
            seed=self.runs.seeds[0],
            replicates=len(self.runs.seeds),
            seeds=self.runs.seeds,
            interval=self.interval,
            folder="comparison",
        )
        if self.posterior is not None:
            origin["posterior"] = self.posterior.summary()
            origin["draws"] = [draw.record() for draw in self.draws]
        write_json(temporary / "provenance.json", origin)


def outcome_table(runs: PairedRuns) -> pd.DataFrame:
    """Per outcome: both means, the paired difference and the ratio, with their intervals."""
    rows = []
    for measure in OUTCOMES:
        a = pd.to_numeric(runs.measures["A"][measure], errors="coerce").to_numpy(float)
        b = pd.to_numeric(runs.measures["B"][measure], errors="coerce").to_numpy(float)
        both = ~(pd.isna(a) | pd.isna(b))
        difference = mean_interval(b - a, within=difference_range(measure))
        ratio = ratio_interval(a, b, within=ratio_range(measure))
        mean_a = float(a[both].mean()) if both.any() else float("nan")
        mean_b = float(b[both].mean()) if both.any() else float("nan")
        rows.append((measure, mean_a, mean_b, *difference, *ratio, int(both.sum())))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def default_folder(a: Scenario, b: Scenario) -> Path:
    return Path("comparisons") / f"{a.name}-vs-{b.name}"


def compare(
    a: Scenario | str | Path,
    b: Scenario | str | Path,
    replicates: int = 10,
    seed: int | None = None,
    workers: int = 1,
    out: Path | str | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    posterior: int | None = None,
    posterior_file: str | Path | None = None,
) -> Comparison:
    """Paired runs of A and B with common random numbers, and their differences.

    Replicate r runs both arms with seed `seed` + r (default: A's own seed). With `posterior`
    = N, there are N replicates and replicate r also gives both arms the parameters of draw r
    from the calibration posterior (culturesim.batch.posterior), so the intervals include
    parameter uncertainty. With `out`, the comparison folder is also written there.
    """
    a, b = as_scenario(a), as_scenario(b)
    first = a.run.seed if seed is None else seed
    fitted, draws = None, None
    if posterior is not None:
        from culturesim.batch.posterior import check_draws, load_posterior

        replicates = check_draws(posterior)
        replicate_seeds(first, replicates)
        fitted = load_posterior(posterior_file)
        draws = fitted.draw(replicates, first)
    seeds = replicate_seeds(first, replicates)
    if out is not None:
        check_destination(
            Path(out), overwrite, "comparison", COMPARISON_FOLDER_ENTRIES
        )  # refuse before the runs, not after
    started = datetime.now(UTC)
    runs = run_pairs(a, b, seeds, headline_outcomes, workers, progress, draws)
    comparison = Comparison(
        runs=runs,
        table=outcome_table(runs),
        over_time=weekly_differences(runs),
        started=started,
        finished=datetime.now(UTC),
        posterior=fitted,
        draws=draws or [],
    )
    if out is not None:
        comparison.write(Path(out), overwrite)
    return comparison
