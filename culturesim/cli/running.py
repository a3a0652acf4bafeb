"""The commands that run the model and write a folder: run, sweep, compare."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from culturesim.cli.errors import EXIT_INTERRUPTED, friendly_errors
from culturesim.cli.options import (
    SET_HELP,
    checked_posterior,
    load_with_settings,
    posterior_options,
    progress_bar,
    set_option,
    warn_about_late_changes,
)
from culturesim.errors import ScenarioError

if TYPE_CHECKING:
    from culturesim.engine.scenario import Scenario


@click.command()
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override the scenario's seed.")
@click.option("--steps", type=click.IntRange(1, 5200), help="Override the number of weeks.")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Run folder (default runs/NAME-seedN)."
)
@click.option(
    "--overwrite", is_flag=True, help="Replace an existing run folder (only a run folder)."
)
@set_option()
@click.option(
    "--causal",
    is_flag=True,
    help="Also run the twin without the victimisation channel (same seed) and add excess "
    "conversions and the causal R to the summary (one pair; for intervals use "
    "`culturesim cascades SCENARIO --causal`).",
)
@posterior_options
@click.option("--workers", type=click.IntRange(1), help="With --posterior: local processes.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.option(
    "--ignore-memory-check",
    is_flag=True,
    help="Run even if the memory estimate exceeds the memory available.",
)
@friendly_errors
def run(
    scenario: str,
    seed: int | None,
    steps: int | None,
    out: Path | None,
    overwrite: bool,
    settings: tuple[str, ...],
    causal: bool,
    posterior: int | None,
    posterior_file: Path | None,
    workers: int | None,
    quiet: bool,
    ignore_memory_check: bool,
) -> None:
    """Run SCENARIO (a file or a bundled name) and write its run folder.

    With --posterior N: N runs, each a parameter set drawn from the calibration posterior with
    its own seed, summarised with intervals (a folder of tables, not a run folder).
    """
    from culturesim.batch.experiment import is_experiment_file

    if is_experiment_file(scenario):
        raise ScenarioError(f"{scenario}: an experiment file; run it with `culturesim sweep`")
    if checked_posterior(posterior, posterior_file) is not None and causal:
        raise ScenarioError("--causal: not with --posterior (use one or the other)")
    loaded = load_with_settings(scenario, settings)  # bad input is refused before Mesa loads

    from culturesim.run.memory import check_memory
    from culturesim.run.outputs import check_destination
    from culturesim.run.simulate import default_run_folder, run_to_folder, settle

    resolved = settle(loaded, seed, steps)
    if not ignore_memory_check:
        check_memory(resolved, scenario, min(workers or 1, posterior or 1), streamed=True)
    warn_about_late_changes(resolved, scenario)
    if posterior is not None:
        run_with_posterior(resolved, posterior, posterior_file, out, overwrite, workers, quiet)
        return
    out = out or default_run_folder(resolved)
    check_destination(out, overwrite)
    if quiet or not sys.stderr.isatty():
        folder, result = run_to_folder(resolved, out, overwrite=overwrite, causal=causal)
    else:
        from culturesim.progress import progress_bar

        weeks = resolved.run.steps * (2 if causal else 1)
        with progress_bar(weeks, f"{resolved.name}: weeks", "week") as bar:
            folder, result = run_to_folder(
                resolved, out, overwrite=overwrite, progress=bar.update, causal=causal
            )
    if not quiet:
        length = resolved.run
        click.echo(
            f"{resolved.name}, seed {length.seed}, {length.steps} weeks after"
            f" {length.burn_in_weeks} burn-in weeks: end of run (every measure: summary.json)"
        )
        click.echo(format_summary(result.summary))
    click.echo(f"run folder: {folder}")


def run_with_posterior(
    scenario: Scenario,
    draws: int,
    posterior_file: Path | None,
    out: Path | None,
    overwrite: bool,
    workers: int | None,
    quiet: bool,
) -> None:
    from culturesim.batch.uncertainty import default_folder, run_posterior

    out = out or default_folder(scenario, draws, scenario.run.seed)
    with progress_bar(draws, f"{scenario.name}: posterior draws", quiet) as advance:
        runs = run_posterior(
            scenario,
            draws,
            workers=workers or os.cpu_count() or 1,
            posterior_file=posterior_file,
            out=out,
            overwrite=overwrite,
            progress=advance,
        )
    if not quiet:
        click.echo(runs.text())
    click.echo(f"posterior runs folder: {out}")


def format_summary(summary: dict) -> str:
    """The headline figures as a short aligned table ('n/a' where a measure is undefined)."""
    from culturesim.run.outputs import headline_figures

    rows = headline_figures(summary)
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


@click.command()
@click.argument("experiment")
@click.option("--workers", type=click.IntRange(1), help="Local processes (default: all cores).")
@click.option("--scheduler", help="Run on the Dask cluster at this address (tcp://HOST:PORT).")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Results folder (default results/NAME)."
)
@click.option("--resume", is_flag=True, help="Finish an interrupted sweep in --out.")
@click.option("--overwrite", is_flag=True, help="Replace an existing sweep results folder.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--ignore-memory-check",
    is_flag=True,
    help="Run even if the memory estimate exceeds the memory available.",
)
@friendly_errors
def sweep(
    experiment: str,
    workers: int | None,
    scheduler: str | None,
    out: Path | None,
    resume: bool,
    overwrite: bool,
    quiet: bool,
    ignore_memory_check: bool,
) -> None:
    """Run EXPERIMENT (a file or a bundled name): every design point and replicate.

    Exit status 1 if any run failed (each is recorded with its error), 2 for bad input.
    """
    from culturesim.batch.experiment import load_experiment
    from culturesim.batch.sweep import sweep as run_sweep
    from culturesim.run.memory import check_memory

    loaded = load_experiment(experiment)
    if not ignore_memory_check and scheduler is None:
        at_once = workers or loaded.spec.executor.workers or os.cpu_count() or 1
        check_memory(largest_run(loaded), experiment, min(at_once, loaded.n_runs))
    folder = out or Path("results") / loaded.name
    try:
        report = run_sweep(
            loaded,
            folder,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            overwrite=overwrite,
            progress=not quiet,
        )
    except KeyboardInterrupt:
        click.echo(
            f"interrupted: finished runs are saved; finish with "
            f"`culturesim sweep {experiment} --out {folder} --resume`",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    click.echo(report.line())
    if report.failed_total:
        for failure in report.failures[:5]:
            click.echo(f"  {failure}", err=True)
        click.echo(
            f"error: {report.failed_total} of {report.total} runs failed (recorded in {folder})",
            err=True,
        )
        sys.exit(1)


MEMORY_PATHS = (
    "organisation.trusts",
    "organisation.staff_per_trust",
    "organisation.peer_ties",
    "organisation.cross_team_ties",
    "run.steps",
)
"""The varied parameters the memory estimate grows with."""


def largest_run(experiment: Any) -> Scenario:
    """The base scenario with each varied size parameter at its largest value in the design."""
    largest = {
        m.path: max(m.values) if m.values is not None else m.cast([m.range[1]])[0]
        for m in experiment.maps
        if m.path in MEMORY_PATHS
    }
    return (
        experiment.base.with_overrides(largest, experiment.origin) if largest else experiment.base
    )


@click.command()
@click.argument("scenario_a", metavar="A")
@click.argument("scenario_b", metavar="B")
@click.option(
    "--replicates", type=int, default=10, show_default=True, help="Paired runs (at least 2)."
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    help="Seed of replicate 0; replicate r runs both arms with seed + r (default: A's seed).",
)
@click.option("--workers", type=click.IntRange(1), help="Local processes (default: all cores).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Comparison folder (default comparisons/A-vs-B).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing comparison folder.")
@set_option(
    SET_HELP + " Prefix A: or B: to change one arm only (--set B:regulator.stance=0.9); "
    "without a prefix it changes both."
)
@posterior_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly_errors
def compare(
    scenario_a: str,
    scenario_b: str,
    replicates: int,
    seed: int | None,
    workers: int | None,
    out: Path | None,
    overwrite: bool,
    settings: tuple[str, ...],
    posterior: int | None,
    posterior_file: Path | None,
    quiet: bool,
) -> None:
    """Paired runs of scenarios A and B with common random numbers: for each headline outcome,
    the difference B - A and the ratio B / A with 95% intervals over replicates (seed noise
    only; with --posterior N, N replicates each drawing both arms' parameters from the
    calibration posterior), printed and written with a figure of the weekly differences.
    """
    from culturesim.engine.overrides import ARMS, apply_settings, parse_settings
    from culturesim.engine.scenario import load_scenario

    changes = parse_settings(settings, ARMS)
    a = apply_settings(load_scenario(scenario_a), changes, "A")
    b = apply_settings(load_scenario(scenario_b), changes, "B")

    from culturesim.batch.compare import compare as run_compare  # the model: after bad input
    from culturesim.batch.compare import default_folder
    from culturesim.batch.paired import replicate_seeds

    replicates = checked_posterior(posterior, posterior_file) or replicates
    replicate_seeds(a.run.seed if seed is None else seed, replicates)  # bad input before work
    out = out or default_folder(a, b)
    workers = workers or os.cpu_count() or 1
    with progress_bar(replicates, f"{a.name} vs {b.name}: pairs", quiet) as advance:
        comparison = run_compare(
            a,
            b,
            replicates,
            seed,
            workers,
            out=out,
            overwrite=overwrite,
            progress=advance,
            posterior=posterior,
            posterior_file=posterior_file,
        )
    click.echo(comparison.text())
    click.echo(f"comparison folder: {out}")
