"""The one kind of error a person at the terminal sees: one line, exit code 1."""

from __future__ import annotations

import click


class CLIError(click.ClickException):
    """A user error: printed as one line on stderr, exit code 1, no traceback."""

    def format_message(self) -> str:  # noqa: D102 - click hook
        return " ".join(str(self.message).split())
