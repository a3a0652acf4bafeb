"""The commands that read and present: scenarios, show, validate, analyse, cascades, viz."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import click

from culturesim.cli.errors import EXIT_BAD_INPUT, friendly_errors
from culturesim.cli.options import (
    SET_HELP,
    load_with_settings,
    progress_bar,
    set_option,
    warn_about_late_changes,
)
from culturesim.errors import ScenarioError, UserError


@click.command()
def scenarios() -> None:
    """List the bundled scenarios and the question each asks."""
    from culturesim.engine.scenario import SCENARIO_DIR, bundled_scenarios

    listed = bundled_scenarios()
    width = max(len(name) for name, _ in listed)
    for name, question in listed:
        click.echo(f"{name:<{width}}  {question}")
    click.echo(f"\n(files in {SCENARIO_DIR}; run one with `culturesim run NAME`)")


@click.command()
@click.argument("scenario")
@click.option(
    "--format", "form", type=click.Choice(["toml", "json"]), default="toml", show_default=True
)
@set_option()
@friendly_errors
def show(scenario: str, form: str, settings: tuple[str, ...]) -> None:
    """Print SCENARIO fully resolved, every default filled in (and every --set applied)."""
    from culturesim.run.outputs import resolved_toml

    resolved = load_with_settings(scenario, settings)
    if form == "json":
        click.echo(json.dumps(resolved.model_dump(mode="json"), indent=2))
    else:
        click.echo(resolved_toml(resolved), nl=False)


@click.command()
@click.argument("files", nargs=-1, required=True)
@friendly_errors
def validate(files: tuple[str, ...]) -> None:
    """Check scenario and experiment files; report the first problem in each."""
    from culturesim.batch.experiment import is_experiment_file, load_experiment
    from culturesim.engine.scenario import load_scenario

    failures = 0
    for file in files:
        try:
            if is_experiment_file(file):
                click.echo(f"ok: {file} ({load_experiment(file).describe()})")
                continue
            warn_about_late_changes(load_scenario(file), file)
            click.echo(f"ok: {file}")
        except UserError as error:
            failures += 1
            click.echo(f"error: {error}", err=True)
    if failures:
        sys.exit(EXIT_BAD_INPUT)


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), help="Where to write (default RESULTS/analysis)."
)
@friendly_errors
def analyse(results: Path, out: Path | None) -> None:
    """Tables, phase diagrams and sensitivity indices from a sweep's RESULTS folder."""
    from culturesim.batch.analysis import analyse as run_analysis

    click.echo(run_analysis(results, out).text())


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    help="Where to draw the size distribution (default RUN_DIR/figures/cascade_sizes.png).",
)
@click.option(
    "--causal",
    is_flag=True,
    help="Measure conversions against twin runs without the victimisation channel (same "
    "seeds, common random numbers): excess conversions and the causal R with 95% intervals "
    "over replicates. RUN_DIR may then also be a scenario (a file or a bundled name); a run "
    "folder's resolved scenario is re-run, replicate 0 with the folder's own seed.",
)
@click.option(
    "--replicates", type=int, default=10, show_default=True, help="Twin pairs, with --causal."
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    help="With --causal: seed of replicate 0, replicate r uses seed + r (default: the run's).",
)
@click.option("--workers", type=click.IntRange(1), help="Local processes (default: all cores).")
@set_option(SET_HELP + " With --causal only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly_errors
def cascades(
    run_dir: Path,
    plot: Path | None,
    causal: bool,
    replicates: int,
    seed: int | None,
    workers: int | None,
    settings: tuple[str, ...],
    quiet: bool,
) -> None:
    """Print a run's cascade statistics and draw its size distribution (CCDF, log-log).

    The observed episode trees are temporal, not causal: a conversion is a victim who bullies
    within W weeks, whether or not being bullied made them. --causal measures how many were.
    """
    from culturesim.run.outputs import cascade_report

    if not causal:
        if not run_dir.exists():
            raise ScenarioError(
                f"{run_dir}: no such run folder (for a scenario's cascades, add --causal)"
            )
        if settings:
            raise ScenarioError(
                "--set: applies only with --causal (a run folder's results are fixed)"
            )
        report, figure_path = cascade_report(run_dir, plot)
        click.echo(report)
        click.echo(f"size distribution: {figure_path}")
        return

    from culturesim.batch.causal import causal_cascades
    from culturesim.batch.paired import replicate_seeds

    resolved = run_dir / "scenario.resolved.toml"
    if run_dir.is_dir():
        report, figure_path = cascade_report(run_dir, plot)
        click.echo(report)
        click.echo(f"size distribution: {figure_path}\n")
        scenario = load_with_settings(str(resolved), settings)
    else:
        scenario = load_with_settings(str(run_dir), settings)
    replicate_seeds(scenario.run.seed if seed is None else seed, replicates)
    with progress_bar(replicates, f"{scenario.name}: twin pairs", quiet) as advance:
        measured = causal_cascades(
            scenario, replicates, seed, workers or os.cpu_count() or 1, progress=advance
        )
    click.echo(measured.text())


@click.command()
@click.argument("scenario", required=False)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (localhost only unless told otherwise).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to serve on (0 picks a free one).",
)
@set_option()
@friendly_errors
def viz(scenario: str | None, host: str, port: int, settings: tuple[str, ...]) -> None:
    """Explore SCENARIO (default baseline) interactively in the browser, offline."""
    from culturesim.engine.scenario import load_scenario
    from culturesim.run.memory import check_memory
    from culturesim.run.outputs import resolved_toml
    from culturesim.viz.server import serve

    if settings:  # the page opens a file: give it the changed scenario, resolved
        changed = load_with_settings(scenario or "baseline", settings)
        check_memory(changed, scenario or "baseline")
        with tempfile.TemporaryDirectory(prefix="culturesim-viz-") as folder:
            path = Path(folder) / f"{changed.name}.toml"
            path.write_text(resolved_toml(changed))
            serve(str(path), host, port)
        return
    if scenario is not None:
        check_memory(load_scenario(scenario), scenario)

    serve(scenario, host, port)
