"""Join a parameters frame (such as ``batch.jobs``) to one table of :class:`~infinityframe.results.Results`.

A frame with ``job_id`` joins on it. The frame that was submitted has none, so its rows are
matched to jobs by what they are: each row, completed with the generator's defaults and
coerced as the service reads it (``500.0`` is the int ``500``, ``"2"`` is ``2``), is hashed
with the per-job content key that makes submissions idempotent
(:func:`infinityframe.params.keys.job_key`), and so is each job's ``job.json`` parameters.

Examples
--------
>>> from infinityframe.results.join import join
>>> len(join(batch.jobs, res, level="objects"))       # batch.jobs carries job_id
2
>>> len(join(jobs, res, level="frames"))              # the frame that was submitted: matched by content
2
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InfinityError
from .core import _from_arrow, _to_arrow

if TYPE_CHECKING:
    from ..params.spec import GeneratorSpec
    from .core import Results

__all__ = ["LEVELS", "join"]

LEVELS = ("jobs", "frames", "objects", "keypoints")


def join(params: Any, results: Results, *, level: str = "objects", on: str | Sequence[str] | None = None,
         spec: GeneratorSpec | None = None) -> Any:
    """The rows of one results table with the columns of ``params`` joined on ``job_id``, or by content.

    Every row of the table is kept, in order (a left join); jobs missing from ``params`` get
    nulls. Columns of ``params`` that the table already carries (every table carries the job's
    parameters) are not duplicated: **the table's version wins**, and only the new columns of
    ``params`` are added, after the table's own.

    Without ``on`` and without a ``job_id`` column (the frame that was submitted), each row is
    matched to the jobs with the same parameters (see the module docstring):

    - a row submitted once matches its job, and every later job with the same parameters (the
      same frame submitted again in another batch of the results);
    - identical rows (the service gives each its own job) share a batch's identical jobs out,
      one each, in the order of the ``jobs`` table (by job id: the results do not record which
      row made which job, so when your copies differ in a column of yours, join ``batch.jobs``);
      a batch with more such jobs than the frame has rows takes the rows again, in order;
    - a row that matches no job (never submitted, invalid, not in these results) adds no row:
      the table's rows are what is kept; jobs no row matches get nulls, as above.

    The rows must be for the results' generator; rows that are not valid jobs match nothing.

    Parameters
    ----------
    params : pandas.DataFrame or polars.DataFrame
        One row per job, with the ``on`` columns, e.g. ``batch.jobs``.
    results : Results
        The results (either backend).
    level : {"jobs", "frames", "objects", "keypoints"}
        The table to join to.
    on : str or sequence of str, optional
        The key columns, present in both frames (default ``"job_id"``; without it, by content).
    spec : GeneratorSpec, optional
        The generator's parameters, to complete the rows with its defaults when joining by
        content; by default the metadata of the results' generator, if this installation knows
        it (the built-in and plugin generators).

    Returns
    -------
    DataFrame
        Of the same library as ``params`` (polars in, polars out).

    Raises
    ------
    ValueError
        For an unknown ``level``, a missing key column, or a ``params`` frame with several rows
        for one key.
    InfinityError
        Joining by content: when the results hold no job of the rows' generator, when no row
        matches a job, or when the generator's parameters are unknown (pass ``spec``).

    Examples
    --------
    >>> params = pd.DataFrame({"job_id": batch.job_ids, "annotator": ["ana", "bo"]})
    >>> joined = join(params, res, level="frames")
    >>> sorted(joined["annotator"])
    ['ana', 'bo']
    >>> join(jobs.assign(annotator="ana"), res, level="jobs", spec=sesh.spec)["annotator"].tolist()
    ['ana', 'ana']
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if on is None and "job_id" not in params.columns:
        params = _matched_by_content(params, results, spec)
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


# -- matching rows to jobs by content ---------------------------------------------------------------

def _matched_by_content(params: Any, results: Results, spec: GeneratorSpec | None) -> Any:
    """The rows of ``params`` that match a job, one per job (a row may repeat), with its ``job_id``."""
    jobs = _from_arrow(_to_arrow(results.jobs), "pandas")
    batches = _batches(jobs)
    generators = sorted({str(g) for g in jobs["generator"].dropna().unique()}) if "generator" in jobs else []
    spec = spec if spec is not None else _results_spec(generators, batches)
    is_polars = type(params).__module__.startswith("polars")
    frame: pd.DataFrame = params.to_pandas() if is_polars else params
    if not any(name in frame.columns for name in spec.names):
        raise ValueError(f"params has no column(s) ['job_id'] to join on, nor any parameter of {spec.name} to "
                         "match the jobs by: join batch.jobs, or the frame that was submitted")
    if len(frame) == 0:
        return _take(params, [], [], is_polars)
    ours = jobs[jobs["generator"].astype(object) == spec.name] if "generator" in jobs else jobs.iloc[:0]
    if len(jobs) and ours.empty:
        raise InfinityError(
            f"The results ({batches}) hold jobs of {', '.join(generators) or 'an unknown generator'}, not of "
            f"{spec.name}, the generator the frame's rows are for: join the frame with the results of the batch "
            f"it was submitted as, or pass the session of {', '.join(generators) or 'their generator'}.")
    row_keys = _content_keys(frame, spec)
    job_keys = _content_keys(_job_params(ours, spec), spec)
    rows_by_key: dict[str, list[int]] = {}
    for position, key in enumerate(row_keys):
        if key is not None:
            rows_by_key.setdefault(key, []).append(position)
    taken: Counter[tuple[str, str]] = Counter()
    positions: list[int] = []
    job_ids: list[str] = []
    for batch_id, job_id, key in zip(ours["batch_id"].astype(object), ours["job_id"].astype(object), job_keys,
                                     strict=True):
        rows = rows_by_key.get(key) if key is not None else None
        if key is None or not rows:
            continue
        nth = taken[(str(batch_id), key)]
        taken[(str(batch_id), key)] += 1
        positions.append(rows[nth % len(rows)])
        job_ids.append(str(job_id))
    if not positions:
        invalid = sum(k is None for k in row_keys)
        why = (f" ({invalid} of them {'is' if invalid == 1 else 'are'} not a valid {spec.name} job: "
               "see df.infinity.errors())") if invalid else ""
        raise InfinityError(
            f"None of the frame's {len(frame)} row{'s' if len(frame) != 1 else ''}{why} matches a job of "
            f"{batches}: no job has the same parameters, completed with {spec.name}'s defaults. Join the frame "
            "with the results of the batch it was submitted as, or join batch.jobs (which has job_id).")
    unique = dict(zip(job_ids, positions, strict=True))  # a job read twice is matched once
    return _take(params, list(unique.values()), list(unique), is_polars)


def _batches(jobs: pd.DataFrame) -> str:
    ids = list(dict.fromkeys(str(b) for b in jobs["batch_id"].dropna())) if "batch_id" in jobs else []
    if not ids:
        return "no batch: they hold no jobs"
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    return f"batch{'es' if len(ids) != 1 else ''} {shown}"


def _results_spec(generators: list[str], batches: str) -> GeneratorSpec:
    from .casting import known_spec

    if len(generators) != 1:
        raise InfinityError(
            f"The results ({batches}) hold jobs of {len(generators)} generators ({', '.join(generators) or 'none'}), "
            "so which one the frame's rows are for is unknown: pass the session the frame was submitted with "
            "(df.infinity.join(res, session=sesh)).")
    spec = known_spec(generators[0])
    if spec is None:
        raise InfinityError(
            f"The parameters of {generators[0]} (the generator of {batches}) are unknown here, so the frame's rows "
            "cannot be completed with its defaults: pass its session (df.infinity.join(res, session=sesh)).")
    return spec


def _job_params(jobs: pd.DataFrame, spec: GeneratorSpec) -> pd.DataFrame:
    """Each job's parameters under their own names (the tables prefix ``param_`` to a clashing one)."""
    columns: dict[str, Any] = {}
    for name in spec.names:
        column = f"param_{name}" if f"param_{name}" in jobs.columns and name in jobs.columns else name
        if column in jobs.columns:
            values = jobs[column]
            columns[name] = values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values
    return pd.DataFrame(columns, index=jobs.index)


def _content_keys(frame: pd.DataFrame, spec: GeneratorSpec) -> list[str | None]:
    """Per row, the job's content key as submitting it would compute it; ``None`` for an invalid row.

    The same steps as a submission: validated (the service's coercions), completed with the
    defaults, hashed by :func:`~infinityframe.params.keys.job_key`. Which service and
    whether a preview are left out (one origin for both sides), so a job matches its row
    wherever it was rendered.
    """
    from ..params.keys import job_key
    from ..params.sampling import with_defaults
    from ..params.schema import failure_cases, validate_frame

    present = [name for name in spec.names if name in frame.columns]
    rows = frame[present].reset_index(drop=True)
    failures = failure_cases(rows, spec)
    if (failures["row"] < 0).any():  # a failure of every row (a column of the wrong kind)
        return [None] * len(rows)
    bad = set(failures["row"].astype(int))
    valid = [i for i in range(len(rows)) if i not in bad]
    keys: list[str | None] = [None] * len(rows)
    if not valid:
        return keys
    complete = with_defaults(validate_frame(rows.iloc[valid], spec), spec)[spec.names]
    records = complete.astype(object).where(complete.notna(), None).to_dict(orient="records")
    for i, record in zip(valid, records, strict=True):
        job = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in record.items()}
        keys[i] = job_key("", spec.name, False, job)
    return keys


def _take(params: Any, positions: list[int], job_ids: list[str], is_polars: bool) -> Any:
    if is_polars:
        import polars as pl

        taken = params.select(pl.all().gather(pl.Series(positions, dtype=pl.Int64)))
        return taken.with_columns(pl.Series("job_id", job_ids, dtype=pl.String))
    taken = params.iloc[positions].reset_index(drop=True)
    return taken.assign(job_id=pd.Series(job_ids, dtype=object))
