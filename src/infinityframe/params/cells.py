"""How a cell is read: the one coercion table of a parameter's values, pandas, polars or plain Python.

pandera checks a column's *dtype*; the service checks every *value*: ``"3"`` and 3.0 are an
acceptable 3, as DRF reads them (:mod:`.numeric`); ``True`` is not a number, ``"false"`` is not
a bool. This module reads each parameter column, a pandas or polars Series or the cells of a
list of dicts, as one code per cell (:data:`OK`, :data:`NULL`, :data:`DTYPE`,
:data:`NONFINITE`) and converts it losslessly to the parameter's dtype, so the value checks
(:mod:`.checks`) only ever see well-typed columns and every failure points at a cell.

>>> from infinityframe.params.spec import ParamSpec
>>> cells = inspect_pandas(pd.Series([1.0, "2", True], dtype=object), ParamSpec("n", "int", 1))
>>> cells.codes.tolist(), cells.column.tolist()
([0, 0, 2], [1, 2, 1])
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
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
    "DTYPE",
    "NONFINITE",
    "NULL",
    "OK",
    "PANDAS_STR",
    "Cells",
    "Values",
    "choice_dtype",
    "classify_value",
    "default_of",
    "inspect_pandas",
    "inspect_polars",
    "pandas_dtype",
    "polars_choice_dtype",
    "polars_dtype",
    "polars_frame",
    "python_value",
    "read_text",
    "read_values",
    "text_categories",
]

OK, NULL, DTYPE, NONFINITE = 0, 1, 2, 3
CELL_CHECKS = {NULL: "nullable", DTYPE: "dtype", NONFINITE: "finite"}

# pandas 3's default string dtype; pandera's ``str`` resolves to exactly this one.
PANDAS_STR = pd.StringDtype(na_value=np.nan)
_INT64 = (-(2**63), 2**63)


def python_value(value: Any) -> Any:
    """A cell as a plain Python object, with every kind of missing value as ``None``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value


def classify_value(value: Any, kind: str) -> tuple[int, Any]:
    """Code and converted value of one Python object for a parameter of type ``kind``."""
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
    code, value = classify_value(param.default, param.type)
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
        codes[i], converted[i] = classify_value(value, kind)
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


def choice_dtype(param: ParamSpec) -> pd.CategoricalDtype | None:
    """The dtype the samplers give a text parameter with choices: pandas ``Categorical`` whose
    categories are the choices, in the generator's order (``None``: not such a parameter).

    A column of it validates from its dtype alone: categories that are all allowed leave
    nothing to check but the missing cells (code -1).

    >>> from infinityframe.params.spec import ParamSpec
    >>> choice_dtype(ParamSpec("scene", "str", "GYM_1", choices=("GYM_1", "OFFICE_1"))).categories.tolist()
    ['GYM_1', 'OFFICE_1']
    """
    if param.type != "str" or not param.choices or not all(type(c) is str for c in param.choices):
        return None
    return _choice_dtype(param.choices)


@functools.lru_cache(maxsize=256)
def _choice_dtype(choices: tuple[str, ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(dict.fromkeys(choices)), ordered=False)


def polars_choice_dtype(param: ParamSpec) -> pl.Enum | None:
    """:func:`choice_dtype` for polars: an ``Enum`` of the choices, in the generator's order."""
    dtype = choice_dtype(param)
    return None if dtype is None else pl.Enum(dtype.categories.tolist())


def text_categories(dtype: Any) -> list[str] | None:
    """The categories of a pandas Categorical or polars Enum dtype when they are all text
    (``None``: another dtype, or a polars Categorical, whose dtype lists none)."""
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        if not len(categories):
            return []
        if pd.api.types.infer_dtype(categories, skipna=False) != "string":
            return None
        return [str(c) for c in categories.tolist()]
    if isinstance(dtype, pl.Enum):
        return [str(c) for c in dtype.categories.to_list()]
    return None


def polars_frame(frame: pd.DataFrame) -> pl.DataFrame:
    """A frame we made in pandas, as polars: each Categorical of text as an ``Enum`` of its
    categories (``pl.from_pandas`` alone would make a ``Categorical``, whose dtype names none)."""
    out = pl.from_pandas(frame)
    enums = {}
    for name, dtype in frame.dtypes.items():
        categories = text_categories(dtype) if isinstance(dtype, pd.CategoricalDtype) else None
        if categories is not None:
            enums[str(name)] = pl.Enum(categories)
    return out.cast(enums) if enums else out  # type: ignore[arg-type]


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


def _text_categorical_passes(series: pd.Series, param: ParamSpec) -> bool:
    """Whether a Categorical of text is a text parameter's column with every cell OK: decided
    from its categories and its codes (-1 for a missing cell), never from the strings."""
    if param.type != "str" or not isinstance(series.dtype, pd.CategoricalDtype):
        return False
    if text_categories(series.dtype) is None:
        return False
    return param.nullable or not (series.cat.codes.to_numpy() < 0).any()


def _on_range(series: pd.Series, index: pd.RangeIndex) -> pd.Series:
    if isinstance(series.index, pd.RangeIndex) and series.index.equals(index):
        return series
    return series.set_axis(index)


def inspect_pandas(series: pd.Series, param: ParamSpec) -> Cells:
    """Classify a pandas column for ``param`` and convert it losslessly."""
    index = pd.RangeIndex(len(series))
    target = pandas_dtype(param)
    if _passes_as_is(series, param, target) or _text_categorical_passes(series, param):
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


def _polars_passes_as_is(series: pl.Series, param: ParamSpec, target: Any, finite: bool | None) -> bool:
    """:func:`_passes_as_is` for polars, where a NaN counts as a null and is rebuilt as one.

    ``finite``: whether every value of a float column is finite, when the caller already knows.
    """
    if series.dtype != target or (series.null_count() and not param.nullable):
        return False
    if target != pl.Float64:
        return True
    return bool(series.is_finite().all()) if finite is None else finite  # all() skips the nulls


def _polars_kept(dtype: Any, param: ParamSpec, target: Any) -> bool:
    """Whether a valid column keeps the caller's dtype: the parameter's own, or one that holds its
    values exactly (Categorical or Enum text, a narrower or unsigned integer, Float32)."""
    if dtype == target:
        return True
    if param.type in ("str", "uuid"):
        return isinstance(dtype, (pl.Categorical, pl.Enum))
    if param.type == "int":
        return bool(dtype.is_integer())
    return param.type == "float" and dtype == pl.Float32


def inspect_polars(series: pl.Series, param: ParamSpec, finite: bool | None = None) -> Cells:
    """Classify a polars column for ``param`` and convert it losslessly (``finite``: whether every
    value of a float column is finite, when the caller knows: see :func:`.checks.summarise_polars`)."""
    target = polars_dtype(param)
    if _polars_passes_as_is(series, param, target, finite) or (
            param.type == "str" and isinstance(series.dtype, (pl.Categorical, pl.Enum))
            and (param.nullable or not series.null_count())):
        return Cells(np.zeros(len(series), dtype=np.uint8), series, False)
    source = _read_numeric_strings(_polars_source(series, param.type), param)
    codes = _classify(source, param)
    name = series.name
    valid = bool((codes == OK).all())
    # A NaN is a null here (as pl.from_pandas makes it), so a float column holding one is rebuilt.
    if valid and _polars_kept(series.dtype, param, target) and not (param.type == "float" and series.is_nan().any()):
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


# -- text cells: a CSV's, or a value an older output stored as a string ----------------------

TRUE_TEXTS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_TEXTS = frozenset({"false", "f", "no", "n", "0"})


def read_text(text: str, kind: str) -> Any:
    """A cell of text as a value of a parameter of type ``kind``, or ``ValueError``.

    Text has no types, so where a job's values arrive as text (a CSV, an older ``job.json``)
    this is how they are read: numbers as the service reads them (:func:`.numeric.coerce_number`,
    whose :class:`~.numeric.NumberError` is a ``ValueError``), booleans from true/false, yes/no,
    t/f, y/n or 1/0 in any case, and text as it is. (A job given as values, not text, is never
    read this way: ``"false"`` is no bool there.)

    >>> read_text(" 3.0 ", "int"), read_text("Yes", "bool"), read_text("GYM_1", "str")
    (3, True, 'GYM_1')
    """
    if kind in ("int", "float"):
        return coerce_number(kind, text)
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in TRUE_TEXTS:
            return True
        if lowered in FALSE_TEXTS:
            return False
        raise ValueError(f"{text!r} is not true or false")
    return text


# -- plain Python cells: a list of dicts, a request body, a CSV --------------------------------

# Below this many cells a column is read one cell at a time: building a pandas Series costs more.
_BY_CELL = 256


@dataclass(frozen=True)
class Values:
    """A parameter's cells from plain Python values, classified and converted.

    ``column`` holds the converted values as numpy: numbers (missing cells neutral) or an object
    array of ``str``/``None``; ``present`` marks the cells that passed and hold a value.
    """

    codes: np.ndarray
    present: np.ndarray
    column: np.ndarray
    given: Sequence[Any] | None = None  # :meth:`python`'s values, when known already (the cells as given)

    def python(self) -> list[Any]:
        """The converted values as Python objects, a missing one as ``None``."""
        if self.given is not None:  # no Python object made per cell
            return list(self.given)
        out: list[Any] = self.column.tolist()
        if not self.present.all():
            for i in np.flatnonzero(~self.present).tolist():
                out[i] = None
        return out


def _plain_source(values: Sequence[Any], types: set[type] | None = None) -> _Source | None:
    """What :func:`_pandas_source` reads from Python cells all of one type — float, int, bool or
    ``None``, as a batch's numbers nearly always are — read without pandas; ``None`` for any other
    column (mixed types, strings, an int past 64 bits, floats all NaN). ``types``: the cells'
    types, if known already."""
    types = set(map(type, values)) if types is None else set(types)
    if len(types) != 1:
        return None
    kind, n = types.pop(), len(values)
    if kind is float:
        numbers = np.array(values, dtype=np.float64)
        null = np.isnan(numbers)
        return None if null.all() else _Source("float", null, numbers=numbers)
    if kind is bool:
        return _Source("bool", np.zeros(n, dtype=bool), numbers=np.array(values, dtype=bool))
    if kind is int:
        try:
            return _Source("int", np.zeros(n, dtype=bool), numbers=np.array(values, dtype=np.int64))
        except OverflowError:
            return None
    if kind is type(None):
        return _Source("other", np.ones(n, dtype=bool))
    return None


def read_values(values: Sequence[Any], param: ParamSpec, types: set[type] | None = None) -> Values:
    """Classify and convert a parameter's cells given as Python objects (the rules of :func:`classify_value`).

    ``types``: the cells' types, if known already (the cells are not looked at again for them).

    >>> read_values([1, "2", 2.5, None], ParamSpec("n", "int", 1)).codes.tolist()
    [0, 0, 2, 1]
    """
    plain = None
    if len(values) < _BY_CELL:
        source = _per_cell(values, param.type)
    else:  # one vectorised look at the cells' types, as for an object column of a frame
        plain = _plain_source(values, types)
        source = plain or _read_numeric_strings(_pandas_source(pd.Series(values, dtype=object), param.type), param)
    codes = _classify(source, param)
    present = (codes == OK) & ~source.null
    if plain is not None and plain.kind == param.type and plain.numbers is not None and present.all():
        # Every cell a number (or bool) of the parameter's own Python type, present and passed:
        # each is its converted value already (an int stays an int, a float a float).
        return Values(codes, present, plain.numbers, values)
    if param.type in ("str", "uuid"):
        strings = source.strings if source.kind == "str" else [None] * len(values)
        column = np.asarray(strings.to_numpy() if isinstance(strings, pd.Series) else strings, dtype=object)
        if not present.all():
            column = column.copy()
            column[~present] = None
        return Values(codes, present, column)
    column = _numbers(source, present, _NEUTRAL[param.type], _NUMPY[param.type])
    return Values(codes, present, column)
