"""The four tidy tables, assembled once from every job's columns.

Every table starts with ``batch_id`` and ``job_id`` and ends with the job's parameters, so a
plot of any measured column against any parameter needs no join. The parameters are stored
once per job, in ``jobs``, and attached to the other tables by :func:`attach_params`, which
looks up each row's job once and, per parameter, only indexes into the per-job values:

- in ``frames`` and ``objects`` (one row per frame or annotation, the tables sweeps are
  plotted from) numeric parameters stay numeric (``float64``, ``int64``, ``bool``), so they
  plot on a continuous axis;
- in ``keypoints`` (17 or more rows per annotation, a million rows at 1,000 jobs) every
  parameter is an Arrow dictionary whose dictionary holds the distinct per-job values (sorted
  for numbers) and whose indices are as narrow as they can be (``int8`` up to 127 values):
  pandas ``category`` (ordered, for numbers), so a parameter costs one or two bytes a row
  instead of eight. polars has no numeric categorical, so there numbers are plain columns.

Repeated strings (ids, categories, keypoint names, string parameters) are dictionaries in
every table, which become pandas ``category`` and polars ``Categorical``. A parameter whose
name a table already uses (``frame``, ``path``…) appears in that table as ``param_<name>``.

The parquet cache holds the tables *bare* (:func:`bare_tables`: parameters in ``jobs`` only,
named in its schema metadata), so a cached read attaches them as a fresh read does.

Examples
--------
>>> from infinityframe.results.readers import read_job
>>> tables = build_tables([read_job(folder / job_id) for job_id in batch.job_ids], ["my-batch"] * 2)
>>> tables["objects"].column_names[:6]
['batch_id', 'job_id', 'frame', 'object_id', 'image_id', 'category']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from .columns import Cat, Column, cat_from_values, concat, repeat, scalar_column, to_arrow
from .readers import JobData

__all__ = ["ARMATURE_COLUMNS", "BASE_COLUMNS", "DICTIONARY_TABLES", "TABLES", "TEXT_COLUMNS", "attach_params",
           "bare_tables", "build_tables", "compact_params", "param_names"]

TABLES = ("jobs", "frames", "objects", "keypoints")
_CAT = pa.dictionary(pa.int32(), pa.string())
# Columns every table has, whatever its jobs hold (null where no job had the field), so that
# code written against one batch runs on the next, even one of previews or of shapes.
BASE_COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "frames": {"frame": pa.int64(), "image_id": pa.int64(), "time_s": pa.float64(), "width": pa.int64(),
               "height": pa.int64(), "image_path": pa.string()},
    "objects": {"frame": pa.int64(), "object_id": pa.int64(), "image_id": pa.int64(), "category": _CAT,
                "category_id": pa.int64(), "bbox_x": pa.float64(), "bbox_y": pa.float64(),
                "bbox_w": pa.float64(), "bbox_h": pa.float64(), "area": pa.float64(), "iscrowd": pa.int64(),
                "num_keypoints": pa.int64(), "percent_in_fov": pa.float64(), "percent_occlusion": pa.float64()},
    "keypoints": {"frame": pa.int64(), "object_id": pa.int64(), "kind": _CAT, "keypoint_index": pa.int16(),
                  "keypoint": _CAT, "x": pa.float64(), "y": pa.float64(), "v": pa.int8()},
}
ARMATURE_COLUMNS: dict[str, pa.DataType] = {name: pa.float64() for name in ("z", "x_global", "y_global", "z_global")}
# Free text, unique per row: plain strings, not categories.
TEXT_COLUMNS = frozenset({"path", "image_path", "problem"})
# Tables whose parameters are all dictionaries, numbers too: those with many rows per annotation.
DICTIONARY_TABLES = frozenset({"keypoints"})
# The jobs table's schema metadata naming its parameter columns: [[parameter, column], …].
PARAMS_KEY = "infinityframe.params"


def _param_columns(jobs: Sequence[JobData]) -> dict[str, Column]:
    """One typed value per job for every parameter any job has (missing where a job lacks it)."""
    names: dict[str, None] = {}
    for job in jobs:
        names.update(dict.fromkeys(job.params))
    out: dict[str, Column] = {}
    for name in names:
        values = [job.params.get(name) for job in jobs]
        column = scalar_column(values)
        if column is None:  # a list- or object-valued parameter: keep it comparable as its JSON text
            column = cat_from_values((None if v is None else _json_text(v) for v in values), len(values))
        out[name] = column
    return out


def _json_text(value: Any) -> str:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _repeat(column: Column, lengths: NDArray[np.int64]) -> pa.Array:
    """A job-level key column as Arrow, each job's value repeated over its rows (``lengths``)."""
    return repeat(column, lengths)


def _jobs_table(jobs: Sequence[JobData], keys: dict[str, Column], params: dict[str, Column]) -> pa.Table:
    n = len(jobs)
    columns: dict[str, pa.Array] = {name: to_arrow(values) for name, values in keys.items()}
    columns["generator"] = to_arrow(cat_from_values((j.generator for j in jobs), n))
    columns["preview"] = pa.array([j.preview for j in jobs], type=pa.bool_())
    columns["path"] = pa.array([str(j.path) for j in jobs], type=pa.string())
    columns["num_frames"] = pa.array([j.num_frames for j in jobs], type=pa.int64())
    columns["num_annotations"] = pa.array([j.rows("objects") for j in jobs], type=pa.int64())
    columns["problem"] = pa.array([j.problem for j in jobs], type=pa.string())
    means: dict[str, None] = {}
    for job in jobs:
        means.update(dict.fromkeys(job.summary))
    named: list[tuple[str, str]] = []
    for name, values in params.items():
        column = name if name not in columns else f"param_{name}"
        columns[column] = to_arrow(values)
        named.append((name, column))
    table = pa.table(columns)
    for name in means:
        values = np.array([j.summary.get(name, np.nan) for j in jobs], dtype=np.float64)
        table = table.append_column(name if name not in table.column_names else f"summary_{name}",
                                    pa.array(values, from_pandas=True))
    return table.replace_schema_metadata({PARAMS_KEY: orjson.dumps(named).decode()})


def _rows_table(jobs: Sequence[JobData], table: str, keys: dict[str, Column],
                base: dict[str, pa.DataType]) -> pa.Table:
    lengths = np.array([job.rows(table) for job in jobs], dtype=np.int64)
    columns: dict[str, pa.Array] = {name: _repeat(values, lengths) for name, values in keys.items()}
    names: dict[str, None] = dict.fromkeys(base)
    for job in jobs:
        names.update(dict.fromkeys(getattr(job, table)))
    total = int(lengths.sum())
    for name in names:
        pieces: list[Column | None] = [getattr(job, table).get(name) for job in jobs]
        if name in base and all(p is None for p in pieces):
            columns[name] = pa.nulls(total, type=base[name])
        else:
            columns[name] = concat(pieces, lengths.tolist(), text=name in TEXT_COLUMNS)
    return pa.table(columns)


def param_names(jobs: pa.Table) -> list[tuple[str, str]]:
    """The parameters of a ``jobs`` table: (parameter name, its column in ``jobs``), in order.

    Read from the schema metadata :func:`bare_tables` writes; empty for a table without it.
    """
    meta = jobs.schema.metadata or {}
    raw = meta.get(PARAMS_KEY.encode())
    return [] if raw is None else [(str(name), str(column)) for name, column in orjson.loads(raw)]


def _index_type(size: int) -> type[np.signedinteger[Any]]:
    """The narrowest signed integer type that indexes ``size`` dictionary entries (and -1 for null)."""
    return np.int8 if size <= 127 else np.int16 if size <= 32767 else np.int32


def _job_runs(table: pa.Table, jobs: pa.Table) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The rows of ``table`` as runs of one job each: the job's position in ``jobs`` (-1 for none), the run's length.

    A table's rows come job by job, so there are about as many runs as jobs, and spreading a
    parameter over the rows is one ``numpy.repeat`` of its per-run values. Job ids are matched
    through each chunk's dictionary (one entry per job), never the rows' strings.
    """
    none = np.empty(0, dtype=np.intp)
    if table.num_rows == 0:
        return none, none
    ids = jobs["job_id"].combine_chunks()
    ids = ids.dictionary_decode() if pa.types.is_dictionary(ids.type) else ids
    ids = ids.cast(pa.string())
    if len(pc.unique(ids)) != len(ids):
        raise ValueError("the jobs table holds a job id twice, so rows cannot be matched to their job's parameters")
    starts_of: list[NDArray[np.intp]] = []
    lengths_of: list[NDArray[np.intp]] = []
    for chunk in table["job_id"].chunks:
        if len(chunk) == 0:
            continue
        if pa.types.is_dictionary(chunk.type):
            where = pc.index_in(chunk.dictionary.cast(pa.string()), value_set=ids).fill_null(-1)
            lookup = np.append(where.to_numpy(zero_copy_only=False).astype(np.intp), -1)
            codes = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        else:
            lookup = None
            codes = pc.index_in(chunk.cast(pa.string()), value_set=ids).fill_null(-1).to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
        starts = np.concatenate([[0], starts]).astype(np.intp)
        lengths_of.append(np.diff(np.append(starts, len(codes))).astype(np.intp))
        first = codes[starts].astype(np.intp)
        starts_of.append(lookup[first] if lookup is not None else first)
    return np.concatenate(starts_of), np.concatenate(lengths_of)


def _dictionary(values: pa.Array, jobs: NDArray[np.intp], lengths: NDArray[np.intp]) -> pa.DictionaryArray:
    """A per-job column spread over runs of rows as a dictionary: the distinct values once, narrow indices."""
    if pa.types.is_dictionary(values.type):
        found, dictionary, ordered = values.indices, values.dictionary, False
    else:
        present = values.drop_null()
        dictionary = pc.unique(present).sort() if len(present) else pa.array([], type=values.type)
        found, ordered = pc.index_in(values, value_set=dictionary), True
    # -1 for a job without the value; one more slot at the end for runs without a job (-1)
    per_job = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(_index_type(len(dictionary)))
    per_run = np.append(per_job, per_job.dtype.type(-1))[jobs]
    rows = np.repeat(per_run, lengths)
    indices = pa.array(rows, mask=rows < 0) if (per_run < 0).any() else pa.array(rows)
    return pa.DictionaryArray.from_arrays(indices, dictionary, ordered=ordered)


def _spread(values: pa.Array, jobs: NDArray[np.intp], lengths: NDArray[np.intp], *, dictionary: bool) -> pa.Array:
    """A per-job column with one value per row: each run's job's value (null for job -1), ``lengths`` times."""
    if dictionary or pa.types.is_dictionary(values.type):
        return _dictionary(values, jobs, lengths)
    missing = jobs < 0
    per_run = values.take(pa.array(jobs, mask=missing) if missing.any() else pa.array(jobs))
    kind = values.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
        return per_run.take(pa.array(np.repeat(np.arange(len(per_run)), lengths)))
    zero = False if pa.types.is_boolean(kind) else 0
    data = np.repeat(per_run.fill_null(zero).to_numpy(zero_copy_only=False), lengths)
    if not per_run.null_count:
        return pa.array(data, type=kind)
    mask = np.repeat(per_run.is_null().to_numpy(zero_copy_only=False), lengths)
    return pa.array(data, mask=mask, type=kind)


def attach_params(tables: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    """The tables with every job's parameters attached to each of its rows (see the module docstring).

    ``tables`` are as :func:`bare_tables` makes them: parameters in ``jobs`` only.
    """
    jobs = tables["jobs"]
    params = param_names(jobs)
    out = {"jobs": jobs}
    for name in TABLES[1:]:
        table = tables[name]
        if not params:
            out[name] = table
            continue
        runs, lengths = _job_runs(table, jobs)
        for param, column in params:
            values = jobs[column].combine_chunks()
            target = param if param not in table.column_names else f"param_{param}"
            spread = _spread(values, runs, lengths, dictionary=name in DICTIONARY_TABLES)
            table = table.append_column(target, spread)
        out[name] = table
    return out


def compact_params(tables: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    """The tables with the parameters of :data:`DICTIONARY_TABLES` as dictionaries, numbers too.

    For tables that come from elsewhere than :func:`attach_params` (polars, saved parquet),
    where numbers are plain columns. A parameter column is one that ``jobs`` has too (by its
    name, or its name without ``param_``), other than the keys and ``split`` and the table's
    own columns (``x`` when there is a ``param_x``).
    """
    jobs = set(tables["jobs"].column_names) - {"batch_id", "job_id", "split"}
    out = dict(tables)
    for name in DICTIONARY_TABLES:
        table = tables[name]
        names = set(table.column_names)
        for i, field in enumerate(table.schema):
            # a name the table has twice over (its own ``x`` beside ``param_x``) is the table's own
            own = f"param_{field.name}" in names
            is_param = (field.name in jobs and not own) or (
                field.name.startswith("param_") and field.name.removeprefix("param_") in jobs)
            if not is_param or pa.types.is_dictionary(field.type) or pa.types.is_null(field.type):
                continue
            if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
                    or pa.types.is_boolean(field.type)):
                continue
            values = table[field.name].combine_chunks()
            every = np.arange(len(values), dtype=np.intp)
            table = table.set_column(i, field.name, _dictionary(values, every, np.ones_like(every)))
        out[name] = table
    return out


def bare_tables(jobs: Sequence[JobData], batch_ids: Sequence[str], *, armature: bool = False,
                ) -> dict[str, pa.Table]:
    """The four tables with the parameters in ``jobs`` only (as cached); see :func:`build_tables`."""
    n = len(jobs)
    keys: dict[str, Column] = {
        "batch_id": cat_from_values(batch_ids, n),
        "job_id": Cat(np.arange(n, dtype=np.int32), [job.job_id for job in jobs]),
    }
    tables = {"jobs": _jobs_table(jobs, keys, _param_columns(jobs))}
    for table in TABLES[1:]:
        base = BASE_COLUMNS[table] | (ARMATURE_COLUMNS if armature and table == "keypoints" else {})
        tables[table] = _rows_table(jobs, table, keys, base)
    return tables


def build_tables(jobs: Sequence[JobData], batch_ids: Sequence[str], *, armature: bool = False,
                 ) -> dict[str, pa.Table]:
    """The ``jobs``, ``frames``, ``objects`` and ``keypoints`` tables of some jobs.

    Parameters
    ----------
    jobs : sequence of JobData
        The jobs, in the order their rows should appear.
    batch_ids : sequence of str
        Each job's batch id.
    armature : bool
        Whether the jobs were read with armature points (adds z, x_global… to ``keypoints``).

    Returns
    -------
    dict of str to pyarrow.Table
        Keyed by table name (:data:`TABLES`).
    """
    return attach_params(bare_tables(jobs, batch_ids, armature=armature))
