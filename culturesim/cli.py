"""The command line: thin wrappers over the Python API, with one-line errors and exit status 2."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from culturesim.engine.scenario import Scenario
from culturesim.errors import ScenarioError, UserError, one_line

EXIT_BAD_INPUT = 2


def friendly_errors(command: Callable) -> Callable:
    """Turn the errors a user can fix into `error: ...` on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as error:
            click.echo(f"error: {one_line(str(error))}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except OSError as error:  # a folder that cannot be made, a name too long, a full disk
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"error: {one_line(f'{where}{error.strerror or error}')}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper


class OneLineUsageError(click.UsageError):
    """A bad option or argument, shown as one `error:` line that ends with where help is."""

    def show(self, file: Any = None) -> None:
        where = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"error: {one_line(self.format_message())}{where}", err=True)


class OneLineErrors(click.Group):
    """click's usage errors as one line: `error: MESSAGE (see 'COMMAND --help')`, exit 2."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _one_line_usage():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _one_line_usage():
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line_usage() -> Iterator[None]:
    try:
        yield
    except OneLineUsageError:
        raise
    except click.exceptions.NoArgsIsHelpError:
        raise
    except click.UsageError as error:
        raise OneLineUsageError(error.format_message(), error.ctx) from None
    except click.ClickException as error:
        raised = OneLineUsageError(error.format_message())
        raised.exit_code = error.exit_code
        raise raised from None


SET_HELP = (
    "Change one parameter, validated like a scenario file: PATH=VALUE with VALUE a TOML value "
    '(0.9, true, [7, 5, 6, 12], "text"), e.g. --set regulator.stance=0.9. Repeatable.'
)


def set_option(help_text: str = SET_HELP) -> Callable:
    return click.option("--set", "settings", multiple=True, metavar="PATH=VALUE", help=help_text)


def load_with_settings(scenario: str, settings: tuple[str, ...]) -> Scenario:
    """A scenario file or bundled name with the command line's `--set` changes applied."""
    from culturesim.engine.overrides import apply_settings, parse_settings
    from culturesim.engine.scenario import load_scenario

    changes = parse_settings(settings)
    return apply_settings(load_scenario(scenario), changes)


POSTERIOR_HELP = (
    "Run N times, each with a parameter set drawn from the calibration posterior (and seed "
    "S + i), so intervals include parameter uncertainty (docs/validation.md)."
)


def posterior_options(command: Callable) -> Callable:
    command = click.option(
        "--posterior-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Posterior to draw from (default: the one shipped with culturesim).",
    )(command)
    return click.option("--posterior", "posterior", type=int, metavar="N", help=POSTERIOR_HELP)(
        command
    )


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
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
    from culturesim.run.memory import check_memory
    from culturesim.run.outputs import check_destination
    from culturesim.run.simulate import default_run_folder, run_to_folder, settle

    if is_experiment_file(scenario):
        raise ScenarioError(f"{scenario}: an experiment file; run it with `culturesim sweep`")
    if posterior is not None:
        from culturesim.batch.posterior import check_draws, load_posterior

        check_draws(posterior)
        load_posterior(posterior_file)  # a missing or corrupt file is reported before any run
        if causal:
            raise ScenarioError("--causal: not with --posterior (use one or the other)")
    elif posterior_file is not None:
        raise ScenarioError("--posterior-file: applies only with --posterior N")
    resolved = settle(load_with_settings(scenario, settings), seed, steps)
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


def warn_about_late_changes(scenario: Scenario, origin: str) -> None:
    """A change scheduled after the run's end is legal (a longer run would apply it): say so."""
    for change in scenario.changes_after_the_end():
        click.echo(
            f"warning: {origin}: {change} is not before the run's end "
            f"(run.steps = {scenario.run.steps}): it never takes effect",
            err=True,
        )


def format_summary(summary: dict) -> str:
    """The headline figures as a short aligned table ('n/a' where a measure is undefined)."""
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
        except UserError as error:
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


@main.command()
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
    from culturesim.batch.compare import compare as run_compare
    from culturesim.batch.compare import default_folder
    from culturesim.batch.paired import replicate_seeds
    from culturesim.engine.overrides import ARMS, apply_settings, parse_settings
    from culturesim.engine.scenario import load_scenario

    changes = parse_settings(settings, ARMS)
    a = apply_settings(load_scenario(scenario_a), changes, "A")
    b = apply_settings(load_scenario(scenario_b), changes, "B")
    if posterior is not None:
        from culturesim.batch.posterior import check_draws, load_posterior

        replicates = check_draws(posterior)
        load_posterior(posterior_file)  # a missing or corrupt file is reported before any run
    elif posterior_file is not None:
        raise ScenarioError("--posterior-file: applies only with --posterior N")
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


@contextlib.contextmanager
def progress_bar(length: int, label: str, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True) as bar:
        yield bar.update


@main.command()
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


if __name__ == "__main__":
    main()
