"""`culturesim run SCENARIO --posterior N`: a scenario's outcomes under parameter uncertainty.

Each of N runs takes a parameter set drawn from the calibration posterior
(culturesim.batch.posterior) and its own seed, so the spread of an outcome over the runs is its
posterior predictive distribution: parameter uncertainty and seed noise together. The folder
holds the table (summary.csv: mean, 95% predictive interval and 95% interval of the mean per
outcome), every draw's parameters and outcomes (draws.csv), the resolved base scenario and the
provenance, which lists every draw's parameter set and the posterior's own provenance.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from culturesim.batch.intervals import format_interval, format_number, possible_values
from culturesim.batch.paired import mean_interval, process_pool
from culturesim.batch.posterior import (
    POSTERIOR_INTERVAL,
    Draw,
    Posterior,
    apply_draw,
    load_posterior,
)
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
from culturesim.run.simulate import simulate, summary_only

FOLDER_ENTRIES = ("summary.csv", "draws.csv", "scenario.resolved.toml", "provenance.json")
FEW_DRAWS = 20
"""Below this many draws the text table warns that its intervals are rough."""
TABLE_COLUMNS = (
    "measure", "mean", "predictive_low", "predictive_high", "mean_low", "mean_high", "runs",
)  # fmt: skip


def run_draw(scenario: Scenario, draw: Draw) -> tuple[dict, dict]:
    """One posterior draw's run (in a worker): its outcomes and the parameters it set."""
    drawn, applied = apply_draw(scenario, draw)
    summary = simulate(drawn, seed=draw.seed).summary
    return {m: summary.get(m) for m in OUTCOMES}, applied


@dataclass
class PosteriorRuns:
    scenario: Scenario
    posterior: Posterior
    draws: list[Draw]
    outcomes: pd.DataFrame  # one row per draw
    applied: list[dict]
    started: datetime
    finished: datetime

    def table(self) -> pd.DataFrame:
        """Per outcome: mean over draws, 95% predictive interval, 95% t interval of the mean."""
        rows = []
        for measure in OUTCOMES:
            values = pd.to_numeric(self.outcomes[measure], errors="coerce").to_numpy(float)
            values = values[~np.isnan(values)]
            if len(values):
                low, high = np.quantile(values, [0.025, 0.975])
            else:
                low = high = float("nan")
            mean, mean_low, mean_high = mean_interval(values, within=possible_values(measure))
            rows.append((measure, mean, low, high, mean_low, mean_high, len(values)))
        return pd.DataFrame(rows, columns=TABLE_COLUMNS)

    def draws_table(self) -> pd.DataFrame:
        """One row per draw: its parameters, those the scenario sets itself (so the draw's
        value was not used: `kept_from_scenario`, usually empty) and its outcomes."""
        rows = [
            draw.record()
            | {"kept_from_scenario": ",".join(p for p in draw.values if p not in applied)}
            | outcomes
            for draw, applied, outcomes in zip(
                self.draws, self.applied, self.outcomes.to_dict("records"), strict=True
            )
        ]
        return pd.DataFrame(rows)

    def text(self) -> str:
        lines = [
            f"{self.scenario.name}: {len(self.draws)} posterior draws "
            f"(seeds {self.draws[0].seed}..{self.draws[-1].seed}, {self.scenario.run.steps} "
            "weeks each)",
            f"intervals: {POSTERIOR_INTERVAL}; 'predictive' holds 95% of runs, "
            "'of mean' is the 95% t interval of the mean (cut to the values a measure can take)",
            "",
            f"{'measure':<34}  {'mean':>9}  {'95% predictive':<21}  95% of mean",
        ]
        for row in self.table().itertuples():
            lines.append(
                f"{row.measure:<34}  {format_number(row.mean):>9}  "
                f"{format_interval(row.predictive_low, row.predictive_high):<21}  "
                f"{format_interval(row.mean_low, row.mean_high)}"
            )
        if len(self.draws) < FEW_DRAWS:
            lines.append(
                f"note: from {len(self.draws)} draws both intervals are rough (the predictive one"
                f" nearly the runs' range); {FEW_DRAWS} or more draws steady them"
            )
        return "\n".join(lines)

    def write(self, out: Path, overwrite: bool = False) -> Path:
        out = Path(out)
        with FolderLock(out):
            temporary = prepare_folder(out, overwrite, "posterior-runs", FOLDER_ENTRIES)
            try:
                self.table().to_csv(temporary / "summary.csv", index=False)
                self.draws_table().to_csv(temporary / "draws.csv", index=False)
                (temporary / "scenario.resolved.toml").write_text(resolved_toml(self.scenario))
                origin = provenance(self.scenario, self.started, self.finished)
                origin.update(
                    folder="posterior-runs",
                    interval=POSTERIOR_INTERVAL,
                    posterior=self.posterior.summary(),
                    draws=[
                        draw.record() | {"set": applied}
                        for draw, applied in zip(self.draws, self.applied, strict=True)
                    ],
                )
                write_json(temporary / "provenance.json", origin)
                swap_in(temporary, out)
            except BaseException:
                shutil.rmtree(temporary, ignore_errors=True)
                raise
        return out


def default_folder(scenario: Scenario, draws: int, seed: int) -> Path:
    return Path("runs") / f"{scenario.name}-posterior{draws}-seed{seed}"


def run_posterior(
    scenario: Scenario,
    draws: int,
    seed: int | None = None,
    workers: int = 1,
    posterior_file: str | Path | None = None,
    out: Path | str | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> PosteriorRuns:
    """Run `scenario` once per posterior draw (draw i with seed `seed` + i)."""
    posterior = load_posterior(posterior_file)
    chosen = posterior.draw(draws, scenario.run.seed if seed is None else seed)
    if out is not None:
        check_destination(Path(out), overwrite, "posterior-runs", FOLDER_ENTRIES)
    lean = summary_only(scenario)
    started = datetime.now(UTC)
    if workers > 1 and len(chosen) > 1:
        with process_pool(min(workers, len(chosen))) as pool:
            futures = [pool.submit(run_draw, lean, draw) for draw in chosen]
            results = []
            for future in futures:
                results.append(future.result())
                if progress:
                    progress(1)
    else:
        results = []
        for draw in chosen:
            results.append(run_draw(lean, draw))
            if progress:
                progress(1)
    runs = PosteriorRuns(
        scenario=scenario,
        posterior=posterior,
        draws=chosen,
        outcomes=pd.DataFrame([outcomes for outcomes, _ in results]),
        applied=[applied for _, applied in results],
        started=started,
        finished=datetime.now(UTC),
    )
    if out is not None:
        runs.write(Path(out), overwrite)
    return runs
