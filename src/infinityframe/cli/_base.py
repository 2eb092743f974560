"""The command group, its exit statuses and how an error ends a command (``main`` runs it: :mod:`._app`).

Exit statuses (the table in docs/howto/cli.md says the same):

==== =====================================================================================
0    done
1    the service or a job failed: service unreachable or erroring, token refused, unknown
     batch, not enough samples, a job that failed, a data dir another service holds
2    usage or bad input: a flag or its value (an unknown generator too), a missing token, a
     jobs file that is missing, unreadable or empty, invalid jobs (nothing was sent)
3    over the spend cap (``--max-samples`` or ``$INFINITYFRAME_MAX_SAMPLES``): nothing was sent
130  interrupted (Ctrl-C); a batch being waited for goes on
==== =====================================================================================
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from .._version import __version__

__all__ = ["EXIT_CODES", "FAILED", "INTERRUPTED", "OK", "OVER_CAP", "USAGE", "CommandError", "cli", "note",
           "secret"]

OK, FAILED, USAGE, OVER_CAP, INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = {
    OK: "done",
    FAILED: "the service or a job failed",
    USAGE: "usage or bad input (nothing was sent)",
    OVER_CAP: "over the spend cap (nothing was sent)",
    INTERRUPTED: "interrupted",
}

class CommandError(click.ClickException):
    """An error in the command's own words; ``details`` follow its first line, one per line."""

    def __init__(self, message: str, exit_code: int = FAILED, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click's is per class; ours is per error
        self.details = list(details)
        self.where = "infinityframe"
        self.secrets: set[str] = set()

    def bind(self, ctx: click.Context) -> CommandError:
        """Name the command it ended, and learn the tokens no message may show."""
        self.where = ctx.command_path
        self.secrets = set((ctx.find_root().obj or {}).get("secrets", ()))
        return self

    def show(self, file: Any = None) -> None:
        lines = [f"{self.where}: error: {_one_line(self.message)}", *(f"  {_one_line(d)}" for d in self.details)]
        text = "\n".join(lines)
        for token in self.secrets:
            text = text.replace(token, "***")
        click.echo(text, file=file or sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def secret(ctx: click.Context, token: str) -> None:
    """Remember a token the command uses, so no error it ends with can show it."""
    root = ctx.find_root()
    root.ensure_object(dict).setdefault("secrets", set()).add(token)


def note(text: str) -> None:
    """A line for the person at the terminal (standard error); standard output is for results."""
    click.echo(text, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="infinityframe", message="%(prog)s %(version)s")
def cli() -> None:
    """Submit, watch and download synthetic-data jobs from the shell, and run the local service.

    With no --server and no token, the commands use the embedded local service on the data dir.
    Run 'infinityframe COMMAND --help' for a command's flags.
    """
