"""One-line errors for the command line: what a user can fix is `error: ...` on stderr and exit
status 2, never a traceback; click's usage errors likewise, ending with where help is."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from culturesim.errors import UserError, one_line

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


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
        except KeyboardInterrupt:
            click.echo("interrupted: stopped before the end", err=True)
            sys.exit(EXIT_INTERRUPTED)

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
