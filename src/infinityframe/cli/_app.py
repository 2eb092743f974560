"""``main``: run the command group with its commands and return the exit status (see :mod:`._base`)."""

from __future__ import annotations

from collections.abc import Sequence

import click

from . import _local, _remote  # noqa: F401  (they add their commands to the group)
from ._base import INTERRUPTED, OK, cli

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command and return its exit status (the table in :mod:`._base`).

    Examples
    --------
    >>> from infinityframe.cli import main
    >>> main(["--version"])
    infinityframe 0.1.0
    0
    """
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="infinityframe",
                          standalone_mode=False)
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return INTERRUPTED
    return int(result) if isinstance(result, int) else OK
