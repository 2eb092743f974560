"""Join a parameters frame (such as ``batch.jobs``) to one table of :class:`~infinityframe.results.Results`.

Examples
--------
>>> from infinityframe.results.join import join
>>> join(batch.jobs, res, level="objects")           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .core import _from_arrow, _to_arrow

if TYPE_CHECKING:
    from .core import Results

__all__ = ["LEVELS", "join"]

LEVELS = ("jobs", "frames", "objects", "keypoints")


def join(params: Any, results: Results, *, level: str = "objects", on: str | Sequence[str] | None = None) -> Any:
    """The rows of one results table with the columns of ``params`` joined on ``job_id``.

    Every row of the table is kept, in order (a left join); jobs missing from ``params`` get
    nulls. Columns of ``params`` that the table already carries (every table carries the job's
    parameters) are not duplicated: **the table's version wins**, and only the new columns of
    ``params`` are added, after the table's own.

    Parameters
    ----------
    params : pandas.DataFrame or polars.DataFrame
        One row per job, with the ``on`` columns, e.g. ``batch.jobs``.
    results : Results
        The results (either backend).
    level : {"jobs", "frames", "objects", "keypoints"}
        The table to join to.
    on : str or sequence of str, optional
        The key columns, present in both frames (default ``"job_id"``).

    Returns
    -------
    DataFrame
        Of the same library as ``params`` (polars in, polars out).

    Raises
    ------
    ValueError
        For an unknown ``level``, a missing key column, or a ``params`` frame with several rows
        for one key.

    Examples
    --------
    >>> params = pd.DataFrame({"job_id": ["job-0", "job-1"], "annotator": ["ana", "bo"]})
    >>> join(params, res, level="frames")[["job_id", "frame", "annotator"]]   # doctest: +SKIP
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    keys = ["job_id"] if on is None else ([on] if isinstance(on, str) else list(on))
    is_polars = type(params).__module__.startswith("polars")
    table = getattr(results, level)
    if is_polars != (results.backend == "polars"):
        table = _from_arrow(_to_arrow(table), "polars" if is_polars else "pandas")
    for name, frame in (("params", params), (f"the {level} table", table)):
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise ValueError(f"{name} has no column(s) {missing} to join on")
    extra = [c for c in params.columns if c not in keys and c not in table.columns]
    if is_polars:
        return _join_polars(params, table, keys, extra)
    return _join_pandas(params, table, keys, extra)


def _join_pandas(params: pd.DataFrame, table: pd.DataFrame, keys: list[str], extra: list[str]) -> pd.DataFrame:
    right = params[[*keys, *extra]]
    if right.duplicated(subset=keys).any():
        raise ValueError(f"params has several rows for some {keys}; it must have one row per key")
    # Match on plain values: a categorical job_id in one frame and strings in the other still join.
    left_keys = pd.DataFrame({k: table[k].astype(object) for k in keys})
    right = right.assign(**{k: right[k].astype(object) for k in keys})
    added = left_keys.merge(right, on=keys, how="left", sort=False)
    out = pd.concat([table.reset_index(drop=True), added[extra].reset_index(drop=True)], axis=1)
    out.index = table.index
    return out


def _join_polars(params: Any, table: Any, keys: list[str], extra: list[str]) -> Any:
    import polars as pl

    right = params.select([*keys, *extra])
    if right.select(keys).is_duplicated().any():
        raise ValueError(f"params has several rows for some {keys}; it must have one row per key")
    casts = [pl.col(k).cast(pl.String) for k in keys
             if table.schema[k] in (pl.Categorical, pl.Enum) or right.schema[k] in (pl.Categorical, pl.Enum)
             or table.schema[k] != right.schema[k]]
    left_keys = table.select(keys).with_columns(casts) if casts else table.select(keys)
    right = right.with_columns(casts) if casts else right
    added = left_keys.join(right, on=keys, how="left", maintain_order="left", nulls_equal=True)
    return pl.concat([table, added.select(extra)], how="horizontal")
