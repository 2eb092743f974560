"""The value checks and joint constraints, run on whole columns: the one backend of every path.

A frame (pandas or polars), a list of dicts, a CSV and a request body all reach here the same
way: :mod:`.cells` has read each parameter column and converted it losslessly, so a column
holds the parameter's dtype and a mask says which cells passed the type checks. This module
then finds, in the service's order, the cells outside the choices (``isin``), then outside the
range (``in_range``, ``greater_than_or_equal_to``, ``less_than_or_equal_to``) — each cell fails
at most once — and the rows that break a joint constraint among those whose cells all passed.
Numbers are compared in numpy, strings with one Arrow ``is_in``; nothing is looked at cell by
cell.

>>> import pandas as pd
>>> from infinityframe.params.spec import ParamSpec
>>> param = ParamSpec("n", "int", 1, min=1, max=3)
>>> [(check, rows.tolist()) for check, rows in value_failures(param, pd.Series([1, 5, 0]), None)]
[('in_range', [1, 2])]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from .cells import default_of, pandas_dtype, text_categories
from .spec import CompiledConstraint, GeneratorSpec, ParamSpec

__all__ = ["Broken", "Summary", "complete_frame", "constraint_failures", "range_check", "summarise_polars",
           "suspect_columns", "value_checks", "value_failures"]

# Up to this many choices, ``==`` per choice beats np.isin's sort or table.
_FEW_CHOICES = 8
_NUMPY = {"int": np.int64, "float": np.float64, "bool": np.bool_}
_NEUTRAL = {"int": 0, "float": np.nan, "bool": False}


def range_check(param: ParamSpec) -> str | None:
    """The name of a parameter's range check: both bounds, a lower or an upper one (``None``: no range)."""
    if param.type not in ("int", "float") or (param.min is None and param.max is None):
        return None
    if param.min is not None and param.max is not None:
        return "in_range"
    return "greater_than_or_equal_to" if param.min is not None else "less_than_or_equal_to"


def value_checks(param: ParamSpec) -> list[str]:
    """The value checks of a parameter, in the order a cell meets them."""
    checks = ["isin"] if param.choices is not None else []
    ranged = range_check(param)
    return [*checks, ranged] if ranged else checks


def _numbers(column: Any, param: ParamSpec) -> np.ndarray:
    """A converted number or bool column as numpy, missing cells filled with a neutral value."""
    if isinstance(column, np.ndarray):
        return column if column.dtype != object else np.asarray(column, dtype=_NUMPY[param.type])
    if isinstance(column, pl.Series):
        filled = column.cast(pl.Float64) if param.type == "float" else column.fill_null(_NEUTRAL[param.type])
        as_numpy: np.ndarray = filled.to_numpy()
        return as_numpy
    values: np.ndarray = column.to_numpy(dtype=_NUMPY[param.type], na_value=_NEUTRAL[param.type])
    return values


def _strings(column: Any) -> pa.Array | pa.ChunkedArray:
    """A converted string column as Arrow: the data behind pandas' str dtype and polars, not a copy."""
    if isinstance(column, pl.Series):
        return (column if column.dtype == pl.String else column.cast(pl.String)).to_arrow()
    if isinstance(column, np.ndarray):
        return pa.array(column, type=pa.large_string(), from_pandas=True)
    if isinstance(column.dtype, pd.CategoricalDtype):  # each cell's category, copied in C
        codes = column.cat.codes.to_numpy()
        pool = pa.array(column.cat.categories.to_numpy(dtype=object), type=pa.large_string())
        return pool.take(pa.array(codes, mask=codes < 0))
    if column.dtype == object:  # job ids: str or None
        return pa.array(column.to_numpy(), type=pa.large_string(), from_pandas=True)
    return pa.array(column.array)


def _allowed_numbers(param: ParamSpec, values: np.ndarray) -> np.ndarray:
    """Which values are among the choices, as the service's ``value in choices`` decides for numbers."""
    choices: list[Any]
    if param.type == "bool":
        choices = [c for c in param.choices or () if isinstance(c, (bool, np.bool_))]
    else:
        choices = [c for c in param.choices or () if isinstance(c, Real) and not isinstance(c, bool)]
    if not choices:
        return np.zeros(len(values), dtype=bool)
    allowed = np.asarray(choices)
    if len(allowed) > _FEW_CHOICES:
        return np.isin(values, allowed)
    ok = values == allowed[0]
    for choice in allowed[1:]:
        ok |= values == choice
    return np.asarray(ok, dtype=bool)


def _allowed_strings(param: ParamSpec, strings: pa.Array | pa.ChunkedArray) -> np.ndarray:
    choices = [c for c in param.choices or () if isinstance(c, str)]
    if not choices:
        return np.zeros(len(strings), dtype=bool)
    found = pc.is_in(strings, value_set=pa.array(choices, type=strings.type))
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)


def value_failures(param: ParamSpec, column: Any, eligible: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    """The rows failing each value check of ``param``, in order; each row fails at most once.

    ``column`` is converted (the parameter's dtype, pandas or polars); ``eligible`` marks the
    cells that passed the type checks and hold a value (``None``: every cell does).
    """
    checks = value_checks(param)
    if not checks or not len(column):
        return []
    present = _present(column)
    if present is not None:
        eligible = present if eligible is None else eligible & present
    if param.type in ("str", "uuid"):
        return _found("isin", ~_allowed_strings(param, _strings(column)), eligible)
    values = _numbers(column, param)
    failures: list[tuple[str, np.ndarray]] = []
    if param.choices is not None:
        bad = ~_allowed_numbers(param, values)
        failures += _found("isin", bad, eligible)
        if failures:
            eligible = (np.ones(len(values), dtype=bool) if eligible is None else eligible.copy())
            eligible[failures[0][1]] = False
    ranged = range_check(param)
    if ranged is not None:
        bad = np.zeros(len(values), dtype=bool)
        if param.min is not None:
            bad |= values < param.min
        if param.max is not None:
            bad |= values > param.max
        failures += _found(ranged, bad, eligible)
    return failures


def _as_polars(column: Any) -> pl.Series:
    """A converted pandas or polars column as a polars Series, without copying numbers."""
    if isinstance(column, pl.Series):
        categorical = isinstance(column.dtype, (pl.Categorical, pl.Enum))
        return column.cast(pl.String) if categorical else column
    if isinstance(column.dtype, np.dtype) and column.dtype != object:
        return pl.Series(values=column.to_numpy())
    if isinstance(column.dtype, pd.StringDtype):
        return pl.Series(values=pa.array(column.array))
    return pl.Series(values=pa.array(column.array, from_pandas=True))


def _bad_anywhere(param: ParamSpec, name: str, dtype: Any) -> pl.Expr:
    """Whether any value of a column falls outside the choices or the range (nulls never do)."""
    column = pl.col(name)
    bad = pl.lit(False)
    if param.choices is not None:
        if param.type in ("str", "uuid"):
            allowed = pl.Series([c for c in param.choices if isinstance(c, str)], dtype=pl.String)
        elif param.type == "bool":
            allowed = pl.Series([c for c in param.choices if isinstance(c, (bool, np.bool_))], dtype=pl.Boolean)
        else:
            allowed = pl.Series([c for c in param.choices if isinstance(c, Real) and not isinstance(c, bool)],
                                dtype=pl.Float64).cast(dtype, strict=False)
        bad = bad | ~column.is_in(allowed.drop_nulls().implode())
    if range_check(param) is not None:
        if param.min is not None:
            bad = bad | (column < param.min)
        if param.max is not None:
            bad = bad | (column > param.max)
    return bad.fill_null(False).any().alias(name)


def _within(param: ParamSpec, low: Any, high: Any) -> bool:
    """Whether a column whose least and greatest values are ``low`` and ``high`` is in range.

    Written so that a NaN bound (a missing value in a float column) is not.
    """
    return bool((param.min is None or low >= param.min) and (param.max is None or high <= param.max))


def plainly_valid(param: ParamSpec, column: np.ndarray, present: np.ndarray) -> bool:
    """Whether every cell of a converted numpy column (all of them ``present``) passes its value
    checks, judged in one look: ranged numbers by their least and greatest value, text choices
    by the set of values. ``False`` means "read it row by row" (:func:`value_failures`), not
    that a value fails: numeric choices, missing cells and NaN always go that way.
    """
    if not value_checks(param) or not len(column):
        return True
    if not present.all():
        return False
    if param.type in ("str", "uuid"):
        allowed = {c for c in param.choices or () if isinstance(c, str)}
        return param.choices is not None and set(column.tolist()) <= allowed
    if param.choices is not None or column.dtype.kind not in "iuf":
        return False
    return _within(param, column.min(), column.max())


def _by_dtype(param: ParamSpec, dtype: Any) -> bool | None:
    """Whether a text column may hold a value outside the choices, from its dtype alone: a pandas
    Categorical or polars Enum whose categories are all allowed holds none (its missing cells
    are the type checks' business). ``None``: the dtype does not say."""
    if param.type not in ("str", "uuid") or param.choices is None or range_check(param) is not None:
        return None
    categories = text_categories(dtype)
    if categories is None:
        return None
    allowed = {c for c in param.choices if isinstance(c, str)}
    return not allowed.issuperset(categories)


def _pandas_numbers(param: ParamSpec, column: Any) -> bool | None:
    """Whether a numpy-backed pandas (or numpy) number column may break its range or choices:
    a range from the least and greatest value, choices by comparison with each (few) choice.
    ``None``: not such a column; ask the polars query."""
    if isinstance(column, pl.Series) or not (isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf"):
        return None
    values = column if isinstance(column, np.ndarray) else column.to_numpy()
    if not len(values):
        return False
    if param.choices is not None:
        if values.dtype.kind == "f" or param.type == "bool" or len(param.choices) > _FEW_CHOICES:
            return None  # NaN is a missing value, not a bad choice: the query knows how to skip it
        if not bool(_allowed_numbers(param, values).all()):
            return True
    if range_check(param) is None:
        return False
    return not _within(param, values.min(), values.max())


def _aggregates(param: ParamSpec, name: str, dtype: Any) -> list[pl.Expr]:
    """What the one polars query computes for a column: a ranged number's least and greatest
    value (and, for floats, its sum, which is NaN exactly when a value is), or whether any value
    falls outside the choices (nulls never do). None for an Enum of allowed categories, which
    its dtype decides."""
    column = pl.col(name)
    if dtype.is_numeric() and param.choices is None:
        if range_check(param) is None and not dtype.is_float():
            return []
        exprs = [column.min().alias(f"{name}\0min"), column.max().alias(f"{name}\0max")]
        return [*exprs, column.sum().alias(f"{name}\0sum")] if dtype.is_float() else exprs
    if not value_checks(param) or _by_dtype(param, dtype) is False:
        return []
    return [_bad_anywhere(param, name, dtype).alias(f"{name}\0bad")]


@dataclass(frozen=True)
class Summary:
    """What one query over a polars frame found per parameter column: the least and greatest
    value of a number column (``finite``: no NaN or infinity among them, floats only), or
    whether a column with choices holds a value outside them (``bad``)."""

    low: Any = None
    high: Any = None
    finite: bool | None = None
    bad: bool | None = None

    def outside(self, param: ParamSpec) -> bool | None:
        """Whether the column may break its range or choices (``None``: this summary cannot say)."""
        if self.bad is not None:
            return self.bad
        if self.finite is False:
            return None  # a NaN or an infinity: the type checks' business, then row by row
        if range_check(param) is None:
            return False
        return self.low is not None and not _within(param, self.low, self.high)


def summarise_polars(df: pl.DataFrame, spec: GeneratorSpec) -> dict[str, Summary]:
    """:class:`Summary` of every parameter column of a polars frame, in one lazy ``select`` of
    aggregates collected once (polars spreads it over the machine's cores); a column whose
    dtype polars will not aggregate is left out (judged the slow way)."""
    exprs: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        if name in spec and (dtype.is_numeric() or dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)):
            exprs += _aggregates(spec[name], name, dtype)
    if not exprs:
        return {}
    try:
        found = df.lazy().select(exprs).collect().row(0, named=True)
    except Exception:  # nothing known: every column is judged on its own
        return {}
    out: dict[str, Summary] = {}
    for key in found:
        name = key.split("\0")[0]
        if name in out:
            continue
        if f"{name}\0bad" in found:
            out[name] = Summary(bad=found[f"{name}\0bad"] is not False)
            continue
        low, high = found[f"{name}\0min"], found[f"{name}\0max"]
        finite = None
        if f"{name}\0sum" in found:  # min and max skip NaN; a sum is NaN when a value is
            total = found[f"{name}\0sum"]
            finite = low is None or (math.isfinite(low) and math.isfinite(high) and not math.isnan(total))
        out[name] = Summary(low, high, finite)
    return out


def suspect_columns(spec: GeneratorSpec, columns: Mapping[str, Any],
                    known: Mapping[str, Summary] | None = None) -> set[str]:
    """The columns that may hold a value outside their choices or range; a column not named
    here has no value failure, one named is then checked row by row (:func:`value_failures`).

    ``columns`` are converted columns whose cells all passed the type checks; ``known`` what
    :func:`summarise_polars` found for those among them that are the caller's own. A
    Categorical or Enum of allowed categories is judged by its dtype; a pandas number column by
    its minimum and maximum (and, for a few numeric choices, one comparison each); every other
    column (polars ones, text) by one polars query of aggregates over them all, collected once
    and run across the machine's cores. Anything this pass cannot judge (a dtype polars will
    not compare) is named.
    """
    suspects: set[str] = set()
    queried: dict[str, Any] = {}
    for name, column in columns.items():
        param = spec[name]
        if not value_checks(param):
            continue
        outside = _by_dtype(param, column.dtype)
        if outside is None and known is not None and name in known:
            outside = known[name].outside(param)
        if outside is None:
            outside = _pandas_numbers(param, column)
        if outside is None:
            queried[name] = column
        elif outside:
            suspects.add(name)
    if not queried:
        return suspects
    try:
        frame = pl.DataFrame([_as_polars(column).alias(name) for name, column in queried.items()])
        exprs = [pl.lit(True).alias("\0"), *(e for name in queried for e in _aggregates(spec[name], name,
                                                                                       frame.schema[name]))]
        found = frame.lazy().select(exprs).collect().row(0, named=True)
    except Exception:  # never a missed failure: judge every column the slow way
        return suspects | set(queried)
    for name in queried:
        if f"{name}\0bad" in found:
            bad = found[f"{name}\0bad"] is not False
        elif f"{name}\0min" in found:
            low, high = found[f"{name}\0min"], found[f"{name}\0max"]
            bad = low is not None and not _within(spec[name], low, high)  # every cell null: nothing to judge
        else:
            bad = True  # nothing computed for it: the slow way
        if bad:
            suspects.add(name)
    return suspects


def _present(column: Any) -> np.ndarray | None:
    """Which cells of a converted column hold a value (``None``: all of them)."""
    if isinstance(column, np.ndarray):
        if column.dtype == object:
            missing = column == None  # noqa: E711  (elementwise, in C)
        elif column.dtype.kind == "f":
            missing = np.isnan(column)
        else:
            return None
        return ~missing if missing.any() else None
    if isinstance(column, pl.Series):
        if column.dtype.is_float():
            return None if not column.is_nan().any() and not column.null_count() else ~(
                column.is_null() | column.is_nan()).to_numpy()
        return None if not column.null_count() else ~column.is_null().to_numpy()
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iub":
        return None  # numpy integers and bools hold no missing values
    missing = column.isna().to_numpy()
    return ~missing if missing.any() else None


def _found(check: str, bad: np.ndarray, eligible: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    if eligible is not None:
        bad &= eligible
    rows = np.flatnonzero(bad)
    return [(check, rows)] if rows.size else []


@dataclass(frozen=True)
class Broken:
    """A joint constraint some rows break (``rows``), or that could not be evaluated (``reason``)."""

    constraint: CompiledConstraint
    rows: np.ndarray
    reason: str | None = None


def _as_array(column: Any) -> np.ndarray:
    if isinstance(column, np.ndarray):
        return column
    values: np.ndarray = column.to_numpy()
    return values


def constraint_failures(compiled: Sequence[CompiledConstraint], spec: GeneratorSpec, columns: Mapping[str, Any],
                        height: int, judged: np.ndarray | None) -> list[Broken]:
    """The constraints broken by rows where ``judged`` (``None``: every row), on converted columns.

    A parameter without a column takes its default. An expression reads its columns as numpy;
    a callable gets a pandas frame of the parameters (polars columns cross over for it).
    """
    out: list[Broken] = []
    for constraint in compiled:
        try:
            holds = _holds(constraint, spec, columns, height)
        except Exception as exc:  # a callable that raised, a result of the wrong length
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            out.append(Broken(constraint, np.array([-1], dtype=np.int64), reason))
            continue
        bad = ~holds if judged is None else ~holds & judged
        rows = np.flatnonzero(bad)
        if rows.size:
            out.append(Broken(constraint, rows))
    return out


def _holds(constraint: CompiledConstraint, spec: GeneratorSpec, columns: Mapping[str, Any], height: int) -> np.ndarray:
    if constraint.expression is not None:
        arrays = {name: _as_array(columns[name]) if name in columns else np.full(height, default_of(spec[name]))
                  for name in constraint.columns}
        held = constraint.expression(arrays) if arrays else np.broadcast_to(constraint.expression({}), (height,))
        return np.asarray(held, dtype=bool)
    frame = complete_frame(spec, columns, height, constraint.columns or tuple(spec.names))
    held = np.asarray(constraint.check(frame), dtype=bool)
    if held.shape != (height,):
        raise ValueError(f"it returned {held.size} values for {height} rows")
    return held


def complete_frame(spec: GeneratorSpec, columns: Mapping[str, Any], height: int, names: Sequence[str],
                   index: pd.Index | None = None) -> pd.DataFrame:
    """A pandas frame of the ``names`` parameters: their converted columns, a missing one holding its default."""
    data = {}
    for name in names:
        column = columns.get(name)
        if column is None:
            data[name] = pd.Series(default_of(spec[name]), index=pd.RangeIndex(height),
                                   dtype=pandas_dtype(spec[name])).array
        elif isinstance(column, pl.Series):
            data[name] = column.to_pandas().array
        elif isinstance(column, np.ndarray):  # a list of jobs' values
            data[name] = pd.array(column.tolist()) if column.dtype == object else column
        else:
            data[name] = column.array
    return pd.DataFrame(data, index=pd.RangeIndex(height) if index is None else index)
