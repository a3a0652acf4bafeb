"""The command line: thin wrappers over the Python API, with one-line errors and exit status 2."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from culturesim.engine.scenario import Scenario, ScenarioError

EXIT_BAD_INPUT = 2


def friendly_errors(command: Callable) -> Callable:
    """Turn the errors a user can fix into `error: ...` on stderr and exit status 2."""
    from culturesim.run.outputs import OutputError

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ScenarioError, OutputError) as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except OSError as error:  # a folder that cannot be made, a name too long, a full disk
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"error: {where}{error.strerror or error}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="culturesim", prog_name="culturesim")
def main() -> None:
    """culturesim: simulate how organisational culture moves through a health system.

    Start with `culturesim scenarios`, then `culturesim run baseline`.
    """


@main.command()
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override the scenario's seed.")
@click.option("--steps", type=click.IntRange(1, 5200), help="Override the number of weeks.")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Run folder (default runs/NAME-seedN)."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing run folder.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@friendly_errors
def run(
    scenario: str,
    seed: int | None,
    steps: int | None,
    out: Path | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Run SCENARIO (a file or a bundled name) and write its run folder."""
    from culturesim.batch.experiment import is_experiment_file
    from culturesim.engine.scenario import load_scenario
    from culturesim.run.outputs import check_destination
    from culturesim.run.simulate import default_run_folder, run_to_folder, settle

    if is_experiment_file(scenario):
        raise ScenarioError(f"{scenario}: an experiment file; run it with `culturesim sweep`")
    resolved = settle(load_scenario(scenario), seed, steps)
    warn_about_late_changes(resolved, scenario)
    out = out or default_run_folder(resolved)
    check_destination(out, overwrite)
    if quiet or not sys.stderr.isatty():
        folder, result = run_to_folder(resolved, out, overwrite=overwrite)
    else:
        with click.progressbar(
            length=resolved.run.steps,
            label=f"{resolved.name}: weeks",
            file=sys.stderr,
            show_eta=True,
            show_pos=True,
        ) as bar:
            folder, result = run_to_folder(resolved, out, overwrite=overwrite, progress=bar.update)
    if not quiet:
        click.echo(format_summary(result.summary))
    click.echo(f"run folder: {folder}")


def warn_about_late_changes(scenario: Scenario, origin: str) -> None:
    """A change scheduled after the run's end is legal (a longer run would apply it): say so."""
    for change in scenario.changes_after_the_end():
        click.echo(
            f"warning: {origin}: {change} is not before the run's end "
            f"(run.steps = {scenario.run.steps}): it never takes effect",
            err=True,
        )


def format_summary(summary: dict) -> str:
    """The headline figures as a short aligned table."""
    from culturesim.run.outputs import headline_figures

    rows = headline_figures(summary)
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


@main.command()
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
        except ScenarioError as error:
            failures += 1
            click.echo(f"error: {error}", err=True)
    if failures:
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@click.argument("experiment")
@click.option("--workers", type=click.IntRange(1), help="Local processes (default: all cores).")
@click.option("--scheduler", help="Run on the Dask cluster at this address (tcp://HOST:PORT).")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Results folder (default results/NAME)."
)
@click.option("--resume", is_flag=True, help="Finish an interrupted sweep in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly_errors
def sweep(
    experiment: str,
    workers: int | None,
    scheduler: str | None,
    out: Path | None,
    resume: bool,
    quiet: bool,
) -> None:
    """Run EXPERIMENT (a file or a bundled name): every design point and replicate.

    Exit status 1 if any run failed (each is recorded with its error), 2 for bad input.
    """
    from culturesim.batch.experiment import load_experiment
    from culturesim.batch.sweep import sweep as run_sweep

    loaded = load_experiment(experiment)
    folder = out or Path("results") / loaded.name
    try:
        report = run_sweep(
            loaded,
            folder,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            progress=not quiet,
        )
    except KeyboardInterrupt:
        click.echo(
            f"interrupted: finished runs are saved; finish with "
            f"`culturesim sweep {experiment} --out {folder} --resume`",
            err=True,
        )
        sys.exit(130)
    click.echo(report.line())
    if report.failed_total:
        for failure in report.failures[:5]:
            click.echo(f"  {failure}", err=True)
        click.echo(
            f"error: {report.failed_total} of {report.total} runs failed (recorded in {folder})",
            err=True,
        )
        sys.exit(1)


@main.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), help="Where to write (default RESULTS/analysis)."
)
@friendly_errors
def analyse(results: Path, out: Path | None) -> None:
    """Tables, phase diagrams and sensitivity indices from a sweep's RESULTS folder."""
    from culturesim.batch.analysis import analyse as run_analysis

    click.echo(run_analysis(results, out).text())


@main.command()
def scenarios() -> None:
    """List the bundled scenarios and the question each asks."""
    from culturesim.engine.scenario import SCENARIO_DIR, bundled_scenarios

    listed = bundled_scenarios()
    width = max(len(name) for name, _ in listed)
    for name, question in listed:
        click.echo(f"{name:<{width}}  {question}")
    click.echo(f"\n(files in {SCENARIO_DIR}; run one with `culturesim run NAME`)")


@main.command()
@click.argument("scenario")
@click.option(
    "--format", "form", type=click.Choice(["toml", "json"]), default="toml", show_default=True
)
@friendly_errors
def show(scenario: str, form: str) -> None:
    """Print SCENARIO fully resolved, every default filled in."""
    from culturesim.engine.scenario import load_scenario
    from culturesim.run.outputs import resolved_toml

    resolved = load_scenario(scenario)
    if form == "json":
        click.echo(json.dumps(resolved.model_dump(mode="json"), indent=2))
    else:
        click.echo(resolved_toml(resolved), nl=False)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    help="Where to draw the size distribution (default RUN_DIR/figures/cascade_sizes.png).",
)
@friendly_errors
def cascades(run_dir: Path, plot: Path | None) -> None:
    """Print a run's cascade statistics and draw its size distribution (CCDF, log-log)."""
    from culturesim.run.outputs import cascade_report

    report, figure_path = cascade_report(run_dir, plot)
    click.echo(report)
    click.echo(f"size distribution: {figure_path}")


@main.command()
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
@friendly_errors
def viz(scenario: str | None, host: str, port: int) -> None:
    """Explore SCENARIO (default baseline) interactively in the browser, offline."""
    from culturesim.viz.server import serve

    serve(scenario, host, port)


if __name__ == "__main__":
    main()
