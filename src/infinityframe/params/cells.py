"""Cell-by-cell type checks and the tidy failure table behind :mod:`infinityframe.params.schema`.

pandera checks a column's *dtype*; the service checks every *value* (``rules.py``: ``"3"`` and
3.0 are an acceptable 3, as DRF reads them (``numeric.py``); ``True`` is not a number, ``"false"``
is not a bool). This module
bridges the two: it reads each parameter column, pandas or polars, as one code per cell
(:data:`OK`, :data:`NULL`, :data:`DTYPE`, :data:`NONFINITE`) and converts it losslessly to the
parameter's dtype, so pandera only ever sees well-typed columns and every failure points at a
cell. It also turns failures into the one table both backends return.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from .numeric import NumberError, coerce_number
from .spec import ParamSpec

__all__ = [
    "CELL_CHECKS",
    "COLUMNS",
    "DTYPE",
    "NONFINITE",
    "NULL",
    "OK",
    "PANDAS_STR",
    "Block",
    "Cells",
    "assemble",
    "cell_message",
    "default_of",
    "duplicate_message",
    "frame_message",
    "inspect_pandas",
    "inspect_polars",
    "pandas_dtype",
    "polars_dtype",
    "python_value",
    "unknown_message",
    "where",
]

OK, NULL, DTYPE, NONFINITE = 0, 1, 2, 3
CELL_CHECKS = {NULL: "nullable", DTYPE: "dtype", NONFINITE: "finite"}
COLUMNS = ("row", "column", "check", "value", "message")

# pandas 3's default string dtype; pandera's ``str`` resolves to exactly this one.
PANDAS_STR = pd.StringDtype(na_value=np.nan)
_INT64 = (-(2**63), 2**63)

_EXPECTED = {"int": "an integer (3.0 and '3' count; 1.5, '1.5' and True do not)",
             "float": "a finite number ('0.5' counts; 'nan', 'inf' and True do not)",
             "bool": "True or False ('false', 0 and 1 do not count)",
             "str": "a string", "uuid": "a job id string or null"}


def python_value(value: Any) -> Any:
    """A cell as a plain Python object, with every kind of missing value as ``None``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value


def _classify_object(value: Any, kind: str) -> tuple[int, Any]:
    """Code and converted value of one Python object for a parameter of type ``kind`` (rules.py's rules)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return NULL, None
    if isinstance(value, (bool, np.bool_)):  # before int: bool is an int subclass, never a number here
        return (OK, bool(value)) if kind == "bool" else (DTYPE, None)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return NULL, None
        if kind == "float":
            return (OK, number) if math.isfinite(number) else (NONFINITE, None)
        if kind == "int" and number.is_integer() and _INT64[0] <= number < _INT64[1]:
            return OK, int(number)
        return DTYPE, None
    if isinstance(value, (int, np.integer)):
        integer = int(value)
        if kind == "int" and _INT64[0] <= integer < _INT64[1]:
            return OK, integer
        return (OK, float(integer)) if kind == "float" else (DTYPE, None)
    if isinstance(value, str) and kind in ("str", "uuid"):
        return OK, value
    if isinstance(value, str) and kind in ("int", "float"):
        try:
            number = coerce_number(kind, value)  # "2" is a 2 to the service, as to DRF
        except NumberError:
            return DTYPE, None
        if kind == "int" and not _INT64[0] <= number < _INT64[1]:
            return DTYPE, None
        return OK, float(number) if kind == "float" else number
    return DTYPE, None


def default_of(param: ParamSpec) -> Any:
    """The default as a value of the column's type (``None`` for a null default).

    It completes missing columns for joint constraints and stands in for failing cells, so
    pandera never reports a cell twice. A default of the wrong type (broken metadata) becomes
    a neutral value: those cells fail anyway.
    """
    code, value = _classify_object(param.default, param.type)
    if code == OK:
        return value
    if param.nullable:
        return None
    return {"int": 0, "float": 0.0, "bool": False}.get(param.type, "")


@dataclass(frozen=True)
class _Source:
    """A column read for classification: its kind, null cells, and its data in a handy form."""

    kind: str  # "int", "float", "bool", "str" or "other"
    null: np.ndarray
    numbers: np.ndarray | None = None  # int/float/bool kinds: values, nulls filled
    strings: Any = None  # str kind: the column (pandas or polars) or list holding them
    codes: np.ndarray | None = None  # set when read cell by cell


def _per_cell(values: Sequence[Any], kind: str) -> _Source:
    """Classify object cells one by one: the slow path for mixed columns."""
    n = len(values)
    codes = np.zeros(n, dtype=np.uint8)
    converted: list[Any] = [None] * n
    for i, value in enumerate(values):
        codes[i], converted[i] = _classify_object(value, kind)
    null = codes == NULL
    if kind in ("str", "uuid"):
        return _Source("str", null, strings=converted, codes=codes)
    fill = {"int": 0, "float": np.nan, "bool": False}[kind]
    dtype = {"int": np.int64, "float": np.float64, "bool": np.bool_}[kind]
    numbers: np.ndarray = np.array([fill if v is None else v for v in converted], dtype=dtype)
    return _Source(kind, null, numbers=numbers, codes=codes)


def _pandas_source(series: pd.Series, kind: str) -> _Source:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if len(dtype.categories) and pd.api.types.infer_dtype(dtype.categories, skipna=False) == "string":
            # Strings by code: Arrow copies each cell's category in C, no Python object per cell.
            codes = series.cat.codes.to_numpy()
            null = codes < 0
            pool = pa.array(dtype.categories.to_numpy(dtype=object), type=pa.large_string())
            strings = pool.take(pa.array(codes, mask=null))
            return _Source("str", null, strings=pd.Series(pd.array(strings, dtype=PANDAS_STR)))
        series, dtype = series.astype(object), np.dtype(object)
    null = series.isna().to_numpy()
    if dtype == np.dtype(object):
        if null.all():  # what infer_dtype calls "empty", without its scan of every cell
            return _Source("other", null)
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred == "string":
            return _Source("str", null, strings=series)
        if inferred == "empty":
            return _Source("other", null)
        if inferred == "boolean":
            return _Source("bool", null, numbers=series.to_numpy(dtype=bool, na_value=False))
        try:
            if inferred == "integer":
                return _Source("int", null, numbers=series.to_numpy(dtype=np.int64, na_value=0))
            if inferred in ("floating", "mixed-integer-float"):
                numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
                return _Source("float", np.isnan(numbers), numbers=numbers)
        except (OverflowError, TypeError, ValueError):
            pass  # Python ints beyond int64: the per-cell path reports each one
        return _per_cell(series.to_numpy(), kind)
    if pd.api.types.is_bool_dtype(dtype):
        return _Source("bool", null, numbers=series.to_numpy(dtype=bool, na_value=False))
    if pd.api.types.is_integer_dtype(dtype):
        unsigned = pd.api.types.is_unsigned_integer_dtype(dtype)
        return _Source("int", null, numbers=series.to_numpy(dtype=np.uint64 if unsigned else np.int64, na_value=0))
    if pd.api.types.is_float_dtype(dtype):
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return _Source("float", np.isnan(numbers), numbers=numbers)
    if pd.api.types.is_string_dtype(dtype):
        return _Source("str", null, strings=series)
    return _Source("other", null)


def _polars_source(series: pl.Series, kind: str) -> _Source:
    dtype = series.dtype
    if dtype == pl.Object:
        return _per_cell(series.to_list(), kind)
    null = series.is_null().to_numpy()
    if dtype.is_integer():
        return _Source("int", null, numbers=series.fill_null(0).to_numpy())
    if dtype.is_float():
        numbers = series.cast(pl.Float64).to_numpy()  # nulls come back as NaN: both are missing here
        return _Source("float", np.isnan(numbers), numbers=numbers)
    if dtype == pl.Boolean:
        return _Source("bool", null, numbers=series.fill_null(False).to_numpy())
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return _Source("str", null, strings=series.cast(pl.String))
    return _Source("other", null)


def _read_numeric_strings(source: _Source, param: ParamSpec) -> _Source:
    """A column of strings for a number parameter, read cell by cell as the service reads them ("2" → 2)."""
    if source.kind != "str" or param.type not in ("int", "float"):
        return source
    strings = source.strings
    cells = strings.to_list() if isinstance(strings, (pd.Series, pl.Series)) else list(strings)
    return _per_cell(cells, param.type)


def _classify(source: _Source, param: ParamSpec) -> np.ndarray:
    """One code per cell for a column read by ``_pandas_source``/``_polars_source``."""
    kind, null, numbers = source.kind, source.null, source.numbers
    codes: np.ndarray
    if source.codes is not None:
        codes = source.codes.copy()
    else:
        codes = np.zeros(len(null), dtype=np.uint8)
        target = "str" if param.type == "uuid" else param.type
        if kind == target or (target == "float" and kind == "int"):
            bad = np.zeros(len(null), dtype=bool)
        elif target == "int" and kind == "float" and numbers is not None:
            with np.errstate(invalid="ignore"):
                whole = np.isfinite(numbers) & (numbers == np.floor(numbers))
                whole &= (numbers >= _INT64[0]) & (numbers < _INT64[1])
            bad = ~null & ~whole
        else:
            bad = ~null
        if target == "int" and kind == "int" and numbers is not None and numbers.dtype == np.uint64:
            bad = bad | (numbers >= np.uint64(_INT64[1]))
        codes[bad] = DTYPE
        if target == "float" and kind == "float" and numbers is not None:
            codes[~null & np.isinf(numbers)] = NONFINITE
        codes[null] = NULL
    if param.nullable:
        codes[codes == NULL] = OK
    return codes


@dataclass(frozen=True)
class Cells:
    """What the type checks found in one parameter column.

    ``codes`` holds one of OK, NULL, DTYPE, NONFINITE per row; ``column`` is the column converted
    losslessly to the parameter's dtype (a pandas Series on a RangeIndex, or a polars Series), with
    failing cells replaced by the default; ``changed`` says whether it differs from the input.
    """

    codes: np.ndarray
    column: Any
    changed: bool


def pandas_dtype(param: ParamSpec) -> Any:
    """The pandas dtype of a parameter column (nullable integer/boolean when the default is null).

    A job id (``uuid``, as ``state``) is an object column of ``str`` or ``None``, as the samplers
    make it: ``None`` is JSON's null wherever the rows go (``to_dict``, infinity-core), NaN is not.
    """
    if param.type == "uuid":
        return np.dtype(object)
    if param.type == "str":
        return PANDAS_STR
    if param.type == "float":
        return np.dtype(np.float64)
    if param.nullable:
        return pd.Int64Dtype() if param.type == "int" else pd.BooleanDtype()
    return np.dtype(np.int64) if param.type == "int" else np.dtype(bool)


def polars_dtype(param: ParamSpec) -> Any:
    """The polars dtype of a parameter column."""
    return {"int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean}.get(param.type, pl.String)


def _numbers(source: _Source, keep: np.ndarray, fill: Any, dtype: type) -> np.ndarray:
    """The kept numbers in ``dtype``, ``fill`` elsewhere."""
    if source.numbers is None:
        return np.full(len(keep), fill, dtype=dtype)
    numbers = source.numbers
    if numbers.dtype.kind != "f":
        # Widen first (int8 cannot take a fill of 256); a uint64 too big for int64 wraps here,
        # but that cell has failed already and takes the fill. Floats are cast after the fill
        # has replaced their NaNs and fractions.
        numbers = numbers.astype(dtype)
    return np.where(keep, numbers, np.asarray(fill, dtype=dtype)).astype(dtype, copy=False)


_NEUTRAL = {"int": 0, "float": np.nan, "bool": False}
_NUMPY = {"int": np.int64, "float": np.float64, "bool": np.bool_}


# The dtypes a valid column keeps as it is, where it is not just the parameter's own: job ids
# given as pandas' str (read from a file, say) stay str.
_KEPT: dict[str, tuple[Any, ...]] = {"uuid": (np.dtype(object), PANDAS_STR)}


def _passes_as_is(series: pd.Series, param: ParamSpec, target: Any) -> bool:
    """Whether a column already in the parameter's dtype has every cell OK: what
    :func:`_classify` would find, in one vectorised look (or none, for int64 and bool)."""
    if series.dtype != target or target == np.dtype(object):  # objects: each cell must be looked at
        return False
    if target == np.dtype(np.float64):
        values = series.to_numpy()
        if np.isfinite(values).all():
            return True
        return param.nullable and not np.isinf(values).any()  # NaN is a null here
    if isinstance(target, pd.StringDtype):
        return param.nullable or not pa.array(series.array).null_count  # Arrow keeps the count
    # numpy int64 and bool hold no nulls; the nullable Int64 and boolean are only for nullable parameters.
    return True


def _on_range(series: pd.Series, index: pd.RangeIndex) -> pd.Series:
    if isinstance(series.index, pd.RangeIndex) and series.index.equals(index):
        return series
    return series.set_axis(index)


def inspect_pandas(series: pd.Series, param: ParamSpec) -> Cells:
    """Classify a pandas column for ``param`` and convert it losslessly."""
    index = pd.RangeIndex(len(series))
    target = pandas_dtype(param)
    if _passes_as_is(series, param, target):
        return Cells(np.zeros(len(series), dtype=np.uint8), _on_range(series, index), False)
    source = _read_numeric_strings(_pandas_source(series, param.type), param)
    codes = _classify(source, param)
    valid = bool((codes == OK).all())
    if valid and series.dtype in _KEPT.get(param.type, (target,)):
        return Cells(codes, _on_range(series, index), False)
    keep = (codes == OK) & ~source.null  # cells holding a usable value; the rest take the fill
    fill = default_of(param)
    if param.type in ("str", "uuid"):
        if source.kind != "str":
            strings = pd.Series(pd.array(pa.nulls(len(index), pa.large_string()), dtype=PANDAS_STR), index)
        else:
            raw = source.strings if isinstance(source.strings, pd.Series) else pd.Series(source.strings, dtype=object)
            strings = raw.astype(PANDAS_STR).set_axis(index)
        strings = strings if valid else strings.where(keep, np.nan if fill is None else fill)
        if param.type == "uuid":
            strings = strings.astype(object).where(strings.notna(), None)
        return Cells(codes, strings, True)
    values = _numbers(source, keep, _NEUTRAL[param.type] if fill is None else fill, _NUMPY[param.type])
    if fill is None and param.type != "float":
        # A null default: pandas' nullable integer or boolean array carries the missing cells.
        array = (pd.arrays.IntegerArray if param.type == "int" else pd.arrays.BooleanArray)(values, ~keep)
        return Cells(codes, pd.Series(array, index), True)
    return Cells(codes, pd.Series(values, index), True)


def _polars_passes_as_is(series: pl.Series, param: ParamSpec, target: Any) -> bool:
    """:func:`_passes_as_is` for polars, where a NaN counts as a null and is rebuilt as one."""
    if series.dtype != target or (series.null_count() and not param.nullable):
        return False
    return target != pl.Float64 or bool(series.is_finite().all())  # all() skips the nulls


def inspect_polars(series: pl.Series, param: ParamSpec) -> Cells:
    """Classify a polars column for ``param`` and convert it losslessly."""
    target = polars_dtype(param)
    if _polars_passes_as_is(series, param, target):
        return Cells(np.zeros(len(series), dtype=np.uint8), series, False)
    source = _read_numeric_strings(_polars_source(series, param.type), param)
    codes = _classify(source, param)
    name = series.name
    valid = bool((codes == OK).all())
    # A NaN is a null here (as pl.from_pandas makes it), so a float column holding one is rebuilt.
    if valid and series.dtype == target and not (param.type == "float" and series.is_nan().any()):
        return Cells(codes, series, False)
    keep = (codes == OK) & ~source.null
    fill = default_of(param)
    if param.type in ("str", "uuid"):
        if source.kind != "str":
            strings = pl.Series(name, [None] * len(series), dtype=pl.String)
        elif isinstance(source.strings, pl.Series):
            strings = source.strings.cast(pl.String)
        else:
            strings = pl.Series(name, source.strings, dtype=pl.String)
        if not valid:
            strings = pl.select(pl.when(pl.lit(pl.Series(keep))).then(pl.lit(strings))
                                .otherwise(pl.lit(fill, dtype=pl.String))).to_series()
        return Cells(codes, strings.alias(name), True)
    neutral = 0.0 if param.type == "float" else _NEUTRAL[param.type]
    values = _numbers(source, keep, neutral if fill is None else fill, _NUMPY[param.type])
    # pyarrow carries the null mask polars needs.
    mask = ~keep if fill is None else None
    return Cells(codes, pl.Series(name, pa.array(values, mask=mask), dtype=target), True)


# -- the failure table --------------------------------------------------------------------------

Message = Callable[[int, Any], str]


@dataclass(frozen=True)
class Block:
    """Failures sharing a column and a check: their rows, offending values and message builder."""

    rows: np.ndarray
    column: str
    rank: int  # sort position of the column: spec order, then other columns, then constraints
    check: str
    values: list[Any]  # Python objects (see python_value), one per row
    message: Message


def where(row: int, column: str) -> str:
    """The start of a message: the row (or all rows) and the column."""
    return f"all rows, {column}" if row < 0 else f"row {row}, {column}"


def _listing(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:12])
    return f"[{shown}{', …' if len(values) > 12 else ''}]"


def cell_message(param: ParamSpec, check: str) -> Message:
    """How to word a failing cell of ``param`` for a given check (rules.py's phrasing)."""
    name, lo, hi = param.name, param.min, param.max
    expected = _EXPECTED.get(param.type, "a value")
    choices = _listing(param.choices or ())
    # One flat f-string per check: a million failing cells are worded in about a second.
    messages: dict[str, Message] = {
        "dtype": (lambda row, v: f"row {row}, {name}: must be {expected}, got {_shown(v)}{_reason(param, v)}"),
        "nullable": lambda row, v: f"row {row}, {name}: is required and may not be null "
                                   f"(type {param.type}, default {param.default!r})",
        "finite": lambda row, v: f"row {row}, {name}: must be a finite number, got {v!r}",
        "in_range": lambda row, v: f"row {row}, {name}: must be between {lo} and {hi} (inclusive), got {v!r}",
        "greater_than_or_equal_to": lambda row, v: f"row {row}, {name}: must be ≥ {lo}, got {v!r}",
        "less_than_or_equal_to": lambda row, v: f"row {row}, {name}: must be ≤ {hi}, got {v!r}",
        "isin": lambda row, v: f"row {row}, {name}: must be one of {choices}, got {v!r}",
    }
    return messages.get(check, lambda row, v: f"{where(row, name)}: fails the check {check}, got {v!r}")


def _shown(value: Any) -> str:
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:40]!r}… ({len(value):,} characters)"
    return repr(value)


def _reason(param: ParamSpec, value: Any) -> str:
    """DRF's reason a string is not a number (" (A valid integer is required.)"), or nothing."""
    if not isinstance(value, str) or param.type not in ("int", "float"):
        return ""
    try:
        coerce_number(param.type, value)
    except NumberError as err:
        return f" ({err.reason})"
    return " (beyond 64 bits)"


def unknown_message(label: str, generator: str, names: Sequence[str], allowed: Sequence[str]) -> Message:
    """Wording for a column that is neither a parameter nor a package column."""
    close = difflib.get_close_matches(label, list(names), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return lambda row, value: (f"{where(row, label)}: {label!r} is not a parameter of {generator}{hint}. "
                               f"Drop or rename the column (besides parameters, only {', '.join(allowed)} "
                               "are allowed).")


def duplicate_message(label: str, count: int) -> Message:
    """Wording for a column name that appears more than once."""
    return lambda row, value: f"{where(row, label)}: the column appears {count} times; keep one of them."


def frame_message(column: str, check: str) -> Message:
    """Wording for any other complaint pandera has about the frame as a whole."""
    return lambda row, value: f"{where(row, column)}: fails {check}"


def assemble(blocks: Sequence[Block]) -> pd.DataFrame:
    """One row per failure, sorted by (row, column rank), insertion order breaking ties."""
    if not blocks:  # the common case: a copy of one empty table beats building five columns
        return _empty_table().copy()
    rows = np.concatenate([b.rows.astype(np.int64) for b in blocks])
    ranks = np.concatenate([np.full(len(b.rows), b.rank) for b in blocks])
    order = np.lexsort((np.arange(len(rows)), ranks, rows))
    columns = [b.column for b in blocks for _ in range(len(b.rows))]
    checks = [b.check for b in blocks for _ in range(len(b.rows))]
    values = [v for b in blocks for v in b.values]  # already Python objects
    messages = [b.message(r, v) for b in blocks for r, v in zip(b.rows.tolist(), b.values, strict=True)]
    picked = order.tolist()
    return pd.DataFrame({
        "row": pd.Series(rows[order], dtype=np.int64),
        "column": pd.Series([columns[i] for i in picked], dtype=PANDAS_STR),
        "check": pd.Series([checks[i] for i in picked], dtype=PANDAS_STR),
        "value": pd.Series([values[i] for i in picked], dtype=object),
        "message": pd.Series([messages[i] for i in picked], dtype=PANDAS_STR),
    })


@functools.cache
def _empty_table() -> pd.DataFrame:
    return assemble([Block(np.zeros(0, dtype=np.int64), "", 0, "", [], where)])
