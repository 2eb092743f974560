"""The ``infinityframe`` command, built on Click.

``serve``, ``accounts add``, ``generators`` and ``demo`` work on the local service (:mod:`._local`);
``submit``, ``status`` and ``download`` talk to any service (:mod:`._remote`). Every error is
one message in the command's own terms, naming the flag that fixes it, and ends the command
with the exit status :mod:`._base` documents (the table in docs/howto/cli.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._app import main
from ._base import EXIT_CODES, cli

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from ..params.spec import GeneratorSpec

__all__ = ["EXIT_CODES", "cli", "main", "read_jobs"]


def read_jobs(path: Path, spec: GeneratorSpec) -> pd.DataFrame:
    """A job frame from a CSV or parquet file, as ``infinityframe submit`` reads it.

    See :func:`infinityframe.params.jobfile.read_jobs`.
    """
    from ..params.jobfile import read_jobs as read

    return read(path, spec)
