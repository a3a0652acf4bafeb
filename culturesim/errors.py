"""The errors a user can fix: each carries one line for the user, and the CLI turns any of them
into `error: ...` on stderr with exit status 2 (no traceback)."""

from __future__ import annotations

import re


def one_line(text: str) -> str:
    """The text with line breaks and other control characters escaped, so it stays one line."""
    return re.sub(
        r"[\x00-\x1f\x7f-\x9f\u2028\u2029]",
        lambda found: found.group().encode("unicode_escape").decode(),
        text,
    )


class UserError(ValueError):
    """Bad input or a refused destination; the message is one line naming the file and field.

    Control characters in the message (a key with a newline in it) are escaped, so a message
    can never split over lines.
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(str(message)))


class ScenarioError(UserError):
    """A scenario file that cannot be used."""


class ExperimentError(ScenarioError):
    """An experiment file that cannot be used (a scenario error inside it is one too)."""


class SweepError(UserError):
    """A sweep that cannot start or go on (a results folder in the way, a changed experiment)."""


class OutputError(UserError):
    """A folder that cannot be written where asked, or must not be replaced."""
