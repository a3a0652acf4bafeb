"""The errors a user can fix: each carries one line for the user, and the CLI turns any of them
into `error: ...` on stderr with exit status 2 (no traceback)."""

from __future__ import annotations


class UserError(ValueError):
    """Bad input or a refused destination; the message is one line naming the file and field."""


class ScenarioError(UserError):
    """A scenario file that cannot be used."""


class ExperimentError(ScenarioError):
    """An experiment file that cannot be used (a scenario error inside it is one too)."""


class SweepError(UserError):
    """A sweep that cannot start or go on (a results folder in the way, a changed experiment)."""


class OutputError(UserError):
    """A folder that cannot be written where asked, or must not be replaced."""
