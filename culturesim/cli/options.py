"""Options and helpers several commands share: --set, --posterior, progress bars, warnings."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from culturesim.errors import ScenarioError

if TYPE_CHECKING:
    from culturesim.engine.scenario import Scenario

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


def checked_posterior(posterior: int | None, posterior_file: Path | None) -> int | None:
    """--posterior N and --posterior-file, checked before any run: N, or None without
    --posterior (a missing or corrupt posterior file is reported here)."""
    if posterior is None:
        if posterior_file is not None:
            raise ScenarioError("--posterior-file: applies only with --posterior N")
        return None
    from culturesim.batch.posterior import check_draws, load_posterior

    draws = check_draws(posterior)
    load_posterior(posterior_file)
    return draws


@contextlib.contextmanager
def progress_bar(length: int, label: str, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True) as bar:
        yield bar.update


def warn_about_late_changes(scenario: Scenario, origin: str) -> None:
    """A change scheduled after the run's end is legal (a longer run would apply it): say so."""
    for change in scenario.changes_after_the_end():
        click.echo(
            f"warning: {origin}: {change} is not before the run's end "
            f"(run.steps = {scenario.run.steps}): it never takes effect",
            err=True,
        )
