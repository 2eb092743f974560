"""Results saved as parquet, partitioned by batch and job (hive layout).

``Results.to_parquet(path)`` writes ``path/<table>/batch_id=<id>/job_id=<id>/<file>.parquet``
for each of the four tables, plus ``path/infinityframe-results.json`` holding each table's
Arrow schema (column order and types, and the schema of a table with no rows, which writes
no files). Any hive-aware reader can scan it lazily::

    pl.scan_parquet(path / "objects/**/*.parquet", hive_partitioning=True)

and :func:`infinityframe.read_results` reads it back with the same columns and types.

Examples
--------
>>> from infinityframe.results.readers import read_job
>>> from infinityframe.results.tables import build_tables
>>> tables = build_tables([read_job(folder / job_id) for job_id in batch.job_ids], [batch.id] * 2)
>>> saved = write(tables, Path("out/results"))
>>> read(saved)["objects"].num_rows
2
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Mapping
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .tables import TABLES

__all__ = ["MARKER", "is_saved", "read", "write"]

MARKER = "infinityframe-results.json"
_FORMAT = 1
_PARTITIONS = pa.schema([("batch_id", pa.string()), ("job_id", pa.string())])


def is_saved(path: Path) -> bool:
    """Whether ``path`` is a folder written by :func:`write`."""
    return (path / MARKER).is_file()


def write(tables: Mapping[str, pa.Table], path: Path) -> Path:
    """Write the tables under ``path``, replacing an earlier save there.

    Raises
    ------
    FileExistsError
        When ``path`` is a non-empty folder that is not an earlier save: it is never overwritten.
    """
    path = Path(path)
    if path.exists() and any(path.iterdir()) and not is_saved(path):
        raise FileExistsError(f"{path} is not empty and holds no saved results ({MARKER}); "
                              "choose a new or empty folder for Results.to_parquet.")
    path.mkdir(parents=True, exist_ok=True)
    schemas = {}
    for name in TABLES:
        table = tables[name]
        shutil.rmtree(path / name, ignore_errors=True)
        # Partition values become folder names, so the key columns must be plain strings there.
        # pandas metadata would describe columns as pandas saw them (an all-null categorical
        # ``state`` among them, which Dask then refuses); the Arrow types alone describe the files.
        keyed = table.replace_schema_metadata(None)
        for key in ("batch_id", "job_id"):
            keyed = keyed.set_column(keyed.schema.get_field_index(key), key, keyed[key].cast(pa.string()))
        if table.num_rows:
            pq.write_to_dataset(keyed, root_path=path / name, partition_cols=["batch_id", "job_id"],
                                basename_template="part-{i}.parquet")
        schemas[name] = base64.b64encode(table.schema.serialize().to_pybytes()).decode()
    (path / MARKER).write_bytes(orjson.dumps({"format": _FORMAT, "schemas": schemas}, option=orjson.OPT_INDENT_2))
    return path


def read(path: Path) -> dict[str, pa.Table]:
    """The four tables of a folder written by :func:`write`, with their saved column order and types."""
    meta = orjson.loads((Path(path) / MARKER).read_bytes())
    out: dict[str, pa.Table] = {}
    for name in TABLES:
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(meta["schemas"][name])))
        folder = Path(path) / name
        if not folder.is_dir():
            out[name] = schema.empty_table()
            continue
        partitioning = ds.partitioning(_PARTITIONS, flavor="hive")
        table = ds.dataset(folder, format="parquet", partitioning=partitioning).to_table()
        # Numbers saved as dictionaries (the parameters of keypoints) read back as plain numbers,
        # which Arrow cannot cast to a dictionary: keep them plain; Results.from_arrow encodes them.
        plain = pa.schema([_plain_numbers(field, table.schema.field(field.name)) for field in schema],
                          metadata=schema.metadata)
        out[name] = table.select(schema.names).cast(plain)
    return out


def _plain_numbers(saved: pa.Field, read: pa.Field) -> pa.Field:
    """``saved``, or its value type when it is a dictionary of numbers that was read back plain."""
    kind = saved.type
    if pa.types.is_dictionary(kind) and not pa.types.is_dictionary(read.type):
        values = kind.value_type
        if pa.types.is_integer(values) or pa.types.is_floating(values) or pa.types.is_boolean(values):
            return saved.with_type(values)
    return saved
