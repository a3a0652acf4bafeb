"""The command line: thin wrappers over the Python API, with one-line errors and exit status 2.

The commands that run the model are in `running`, those that read and present in `presenting`;
`errors` and `options` hold what they share.
"""

from __future__ import annotations

import click

from culturesim.cli import presenting, running
from culturesim.cli.errors import OneLineErrors


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="culturesim", prog_name="culturesim")
def main() -> None:
    """culturesim: simulate how organisational culture moves through a health system.

    Start with `culturesim scenarios`, then `culturesim run baseline`.
    """


for command in (
    running.run,
    running.sweep,
    running.compare,
    presenting.scenarios,
    presenting.show,
    presenting.validate,
    presenting.analyse,
    presenting.cascades,
    presenting.viz,
):
    main.add_command(command)
