"""``Results.effects``: a target from any table of the results, one value per job, then the effects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InfinityError
from .effects import effects

if TYPE_CHECKING:
    from ..results import Results

__all__ = ["job_effects", "job_params", "job_target"]

_TABLES = ("jobs", "frames", "objects", "keypoints")
# Columns of res.jobs that describe the job, not its parameters (before "problem", and the means after).
_NOT_PARAMS = {"batch_id", "job_id", "generator", "preview", "path", "num_frames", "num_annotations", "problem",
               "split"}


def job_params(jobs: pd.DataFrame) -> list[str]:
    """The parameter columns of a ``res.jobs`` table."""
    return [str(c) for c in jobs.columns
            if c not in _NOT_PARAMS and not str(c).startswith(("mean_", "summary_"))]


def job_target(res: Results, target: str | Any, level: str) -> pd.Series:
    """One value of ``target`` per job, in the order of ``res.jobs`` (a column averaged per job)."""
    jobs = res.jobs
    ids = jobs["job_id"].astype(str)
    if not isinstance(target, str):
        values = pd.Series(target) if not isinstance(target, pd.Series) else target
        if set(ids) <= {str(i) for i in values.index}:
            values = values.set_axis([str(i) for i in values.index]).reindex(ids.tolist())
        elif len(values) != len(jobs):
            raise InfinityError(f"The target has {len(values)} values for {len(jobs)} jobs: give one per job, "
                                "indexed by job_id or in the order of res.jobs.")
        return pd.Series(np.asarray(values), index=jobs.index, name=str(values.name or "target"))
    if level not in _TABLES:
        raise InfinityError(f"level must be one of {', '.join(_TABLES)}, not {level!r}.")
    table = getattr(res, level)
    if target not in table.columns:
        found = [name for name in _TABLES if target in getattr(res, name).columns]
        hint = f" It is a column of res.{found[0]}: pass level={found[0]!r}." if found else ""
        raise InfinityError(f"No column {target!r} in res.{level}.{hint}")
    if level == "jobs":
        return pd.Series(np.asarray(table[target]), index=jobs.index, name=target)
    column = table[target]
    numbers = column.astype(float) if pd.api.types.is_bool_dtype(column) else pd.to_numeric(column, errors="coerce")
    per_job = numbers.groupby(table["job_id"].astype(str).to_numpy()).mean()
    return pd.Series(per_job.reindex(ids.tolist()).to_numpy(), index=jobs.index, name=target)


def job_effects(res: Results, target: str | Any, params: Sequence[str] | None, level: str,
                **options: Any) -> pd.DataFrame:
    """See :meth:`infinityframe.Results.effects`."""
    pandas_res = res.to_backend("pandas")
    jobs = pandas_res.jobs
    values = job_target(pandas_res, target, level)
    names = list(params) if params is not None else job_params(jobs)
    return effects(jobs, values, names, **options)
