"""The verbs' polars side: results built with polars expressions, in the caller's dtypes.

Nothing here converts a user's frame to pandas. Two things do pass through pandas, and only
these: the failure table (ours, built by ``params.schema.failure_cases``; :func:`failure_table`
turns it into polars) and, in :func:`fill`, the cells of the parameter columns that have gaps,
which the sampler (``params.sampling.fill``, pandas only) reads as Python values. Every other
column, and every parameter column without a gap, is the caller's own, untouched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import polars as pl

if TYPE_CHECKING:
    from ..params.spec import GeneratorSpec, ParamSpec

__all__ = ["FAILURE_SCHEMA", "NATURAL", "failure_table", "fill", "natural_dtype", "with_defaults"]

# The dtype a parameter gets when we make its column (what ``sesh.sample(backend="polars")`` gives).
NATURAL: dict[str, pl.DataType] = {"int": pl.Int64(), "float": pl.Float64(), "bool": pl.Boolean(),
                                   "str": pl.String(), "uuid": pl.String()}



def natural_dtype(param: ParamSpec) -> pl.DataType:
    """The dtype we give a parameter's polars column: :data:`NATURAL`, text choices as an ``Enum``
    of the choices in the generator's order (what ``pl.Categorical`` cannot say: which values)."""
    from ..params.cells import polars_choice_dtype

    enum = polars_choice_dtype(param)
    return NATURAL[param.type] if enum is None else enum


# ``value`` holds the offending Python objects as they are (5 stays an int, "5" stays text):
# a String column would print both as "5", and the message already says which it was.
FAILURE_SCHEMA: dict[str, pl.DataType] = {"row": pl.Int64(), "column": pl.String(), "check": pl.String(),
                                          "value": pl.Object(), "message": pl.String()}


def failure_table(failures: pd.DataFrame) -> pl.DataFrame:
    """The failure table (pandas, from ``failure_cases``) as polars, with :data:`FAILURE_SCHEMA`."""
    columns = []
    for name in failures.columns:
        dtype = FAILURE_SCHEMA.get(str(name), pl.Object())
        values = failures[name].astype(object).tolist()
        if name == "row":
            values = [int(v) for v in values]
        elif dtype == pl.String:
            values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]
        columns.append(pl.Series(str(name), values, dtype=dtype))
    return pl.DataFrame(columns)


def _kept(values: pl.Series, dtype: pl.DataType) -> pl.Series:
    """``values`` in the caller's ``dtype`` when every value fits it (a choice missing from an Enum does not)."""
    if values.dtype == dtype or dtype == pl.Null:
        return values
    try:
        converted = values.cast(dtype, strict=True)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):
        return values
    return converted if converted.null_count() == values.null_count() else values


def _gaps(column: pl.Series) -> pl.Series:
    """Where a column is missing a value: null, or NaN (as ``pandas.isna`` sees it)."""
    missing = column.is_null()
    if column.dtype.is_float():
        missing = missing | column.is_nan().fill_null(True)
    return missing


def fill(df: pl.DataFrame, spec: GeneratorSpec, *, seed: Any, method: Literal["uniform", "lhs", "sobol"],
         constraints: Sequence[Any], advisory: bool,
         prior: Literal["recommended", "uniform"] = "recommended") -> pl.DataFrame:
    """:func:`infinityframe.params.sampling.fill` for a polars frame, returning polars.

    Parameter columns without a gap and every other column are kept as they are; a filled
    column keeps its dtype when the drawn values fit it, and an added one has its natural dtype.
    """
    from ..params.cells import polars_frame
    from ..params.sampling import fill as fill_frame

    present = [name for name in spec.names if name in df.columns]
    given = pd.DataFrame({name: pd.Series(df[name].to_list(), dtype=object) for name in present},
                         index=pd.RangeIndex(df.height))
    filled = fill_frame(given, spec, seed=seed, method=method, constraints=constraints, advisory=advisory,
                        prior=prior)
    changed = []
    for name in spec.names:
        if name in df.columns and not _gaps(df[name]).any():
            continue
        drawn = polars_frame(filled[[name]]).to_series()
        if not isinstance(drawn.dtype, pl.Enum):  # an Enum already: drawn choices, as sample gives them
            drawn = drawn.cast(NATURAL[spec[name].type])
        changed.append(_kept(drawn, df.schema[name]) if name in df.columns else drawn)
    return df.with_columns(changed)


def _default_expr(param: ParamSpec, dtype: pl.DataType | None) -> pl.Expr:
    """The column ``param`` with its gaps set to the default, in ``dtype`` when the default fits it."""
    natural = natural_dtype(param)
    if isinstance(natural, pl.Enum) and param.default is not None and param.default not in natural.categories:
        natural = NATURAL[param.type]  # a default outside the choices (broken metadata): plain text
    if dtype is None:
        return pl.lit(param.default, dtype=natural).alias(param.name)
    column = pl.col(param.name)
    if param.default is None:
        return column
    if dtype == pl.Null:
        column = column.cast(natural)
    elif isinstance(dtype, pl.Enum) and param.default not in dtype.categories.to_list():
        column = column.cast(pl.String)  # the default is not one of its categories
    if dtype.is_float():
        column = column.fill_nan(None)
    return column.fill_null(pl.lit(param.default))


def with_defaults(df: pl.DataFrame | pl.LazyFrame, spec: GeneratorSpec) -> pl.DataFrame | pl.LazyFrame:
    """Every parameter present, gaps (null, NaN) at their defaults; a LazyFrame stays lazy.

    Given cells and their dtypes are kept; added columns follow the frame's, in the spec's order.
    """
    schema = df.collect_schema() if isinstance(df, pl.LazyFrame) else df.schema
    return df.with_columns([_default_expr(param, schema.get(param.name)) for param in spec])
