"""The four tidy tables, assembled once from every job's columns.

Every table starts with ``batch_id`` and ``job_id`` and ends with the job's parameters, so a
plot of any measured column against any parameter needs no join. The parameters are stored
once per job and repeated over its rows with one ``numpy.repeat`` per column (of the codes,
for strings); repeated strings (ids, categories, keypoint names, string parameters) are Arrow
dictionaries, which become pandas ``category`` and polars ``Categorical``. Numeric
parameters stay numeric (``float64``, ``int64``, ``bool``), so they plot on a continuous
axis. A parameter whose name a table already uses (``frame``, ``path``…) appears in that
table as ``param_<name>``.

Examples
--------
>>> tables = build_tables([read_job(folder)], ["my-batch"])  # doctest: +SKIP
>>> tables["objects"].column_names[:6]                       # doctest: +SKIP
['batch_id', 'job_id', 'frame', 'object_id', 'image_id', 'category']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from .columns import Cat, Column, cat_from_values, concat, repeat, scalar_column, to_arrow
from .readers import JobData

__all__ = ["ARMATURE_COLUMNS", "BASE_COLUMNS", "TABLES", "TEXT_COLUMNS", "build_tables"]

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


def _repeat(column: Column, lengths: NDArray[np.int64] | None) -> pa.Array:
    """A job-level column as Arrow, each job's value repeated over its rows (``lengths``) if given."""
    return to_arrow(column) if lengths is None else repeat(column, lengths)


def _with_params(columns: dict[str, pa.Array], params: dict[str, Column],
                 lengths: NDArray[np.int64] | None) -> pa.Table:
    for name, values in params.items():
        columns[name if name not in columns else f"param_{name}"] = _repeat(values, lengths)
    return pa.table(columns)


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
    table = _with_params(columns, params, None)
    for name in means:
        values = np.array([j.summary.get(name, np.nan) for j in jobs], dtype=np.float64)
        table = table.append_column(name if name not in table.column_names else f"summary_{name}",
                                    pa.array(values, from_pandas=True))
    return table


def _rows_table(jobs: Sequence[JobData], table: str, keys: dict[str, Column], params: dict[str, Column],
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
    return _with_params(columns, params, lengths)


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
    n = len(jobs)
    keys: dict[str, Column] = {
        "batch_id": cat_from_values(batch_ids, n),
        "job_id": Cat(np.arange(n, dtype=np.int32), [job.job_id for job in jobs]),
    }
    params = _param_columns(jobs)
    tables = {"jobs": _jobs_table(jobs, keys, params)}
    for table in TABLES[1:]:
        base = BASE_COLUMNS[table] | (ARMATURE_COLUMNS if armature and table == "keypoints" else {})
        tables[table] = _rows_table(jobs, table, keys, params, base)
    return tables
