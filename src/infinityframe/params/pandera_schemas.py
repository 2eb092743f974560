"""The pandera schemas a user gets as ``sesh.schema``: a generator's declared rules (dtype,
nullability, choices, range, joint constraints) as pandera checks, for pandas and for polars.

Validation never runs them (:mod:`.checks` is the one backend); they are built from the same
declaration, each value check named as :func:`.checks.value_checks` names it, and a property
test holds them to the same verdicts. Only asking for a schema loads pandera.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pandera.polars as pap
import polars as pl
from pandera import dtypes
from pandera.engines import pandas_engine, polars_engine

from .cells import OK, PANDAS_STR, inspect_pandas, pandas_dtype, polars_dtype, text_categories
from .checks import complete_frame, value_checks
from .compiled import reads
from .spec import PACKAGE_COLUMNS, CompiledConstraint, GeneratorSpec, ParamSpec

__all__ = ["pandas_schema", "pandera_checks", "polars_schema"]


@dtypes.immutable(init=True)
class PandasText(pandas_engine.DataType):
    """pandas' ``str``, or a Categorical whose categories are text: the dtypes a text parameter's
    column has (the samplers give a Categorical of the choices), both accepted as they are."""

    def __init__(self) -> None:
        object.__setattr__(self, "type", PANDAS_STR)

    def check(self, pandera_dtype: Any, data_container: Any = None) -> bool:
        dtype = getattr(pandera_dtype, "type", pandera_dtype)
        if isinstance(dtype, pd.CategoricalDtype):
            return text_categories(dtype) is not None
        return bool(dtype == PANDAS_STR)

    def __str__(self) -> str:
        return "str or category of str"


@dtypes.immutable(init=True)
class PolarsText(polars_engine.DataType):
    """polars ``String``, ``Categorical`` or ``Enum``: a text parameter's column as it is."""

    def __init__(self) -> None:
        object.__setattr__(self, "type", pl.String())

    def check(self, pandera_dtype: Any, data_container: Any = None) -> bool:
        dtype = pandera_dtype if isinstance(pandera_dtype, (pl.DataType, type)) else getattr(
            pandera_dtype, "type", None)
        return bool(dtype == pl.String) or isinstance(dtype, (pl.Categorical, pl.Enum))

    def __str__(self) -> str:
        return "String, Categorical or Enum"


def _pandas_column_dtype(param: ParamSpec) -> Any:
    if param.type == "uuid":
        return None  # a job id may be an object column (str or None) or pandas' str: checked cell by cell
    return PandasText() if param.type == "str" else pandas_dtype(param)


def _polars_column_dtype(param: ParamSpec) -> Any:
    return PolarsText() if param.type == "str" else polars_dtype(param)


def pandera_checks(param: ParamSpec, api: Any) -> list[Any]:
    """The parameter's value checks as pandera checks (``api``: pandera.pandas or pandera.polars), in order."""
    made = {
        "isin": lambda: api.Check.isin(list(param.choices or ()),
                                       error=f"{param.name} must be one of {list(param.choices or ())}"),
        "in_range": lambda: api.Check.in_range(param.min, param.max,
                                               error=f"{param.name} must be between {param.min} and {param.max}"),
        "greater_than_or_equal_to": lambda: api.Check.ge(param.min, error=f"{param.name} must be ≥ {param.min}"),
        "less_than_or_equal_to": lambda: api.Check.le(param.max, error=f"{param.name} must be ≤ {param.max}"),
    }
    return [made[check]() for check in value_checks(param)]


def _constraint_error(constraint: CompiledConstraint) -> str:
    return f"{constraint.name}: {constraint.message or constraint.description}"


def _pandas_constraint(constraint: CompiledConstraint, spec: GeneratorSpec) -> pa.Check:
    needed = reads(constraint, spec)

    def holds(df: pd.DataFrame) -> pd.Series:
        present = {name: df[name] for name in needed if name in df.columns}
        table = complete_frame(spec, present, len(df), needed, df.index)
        return pd.Series(constraint.check(table), index=df.index, dtype=bool)

    return pa.Check(holds, name=constraint.name, error=_constraint_error(constraint), element_wise=False,
                    ignore_na=False, description=constraint.description)


def _polars_constraint(constraint: CompiledConstraint, spec: GeneratorSpec) -> pap.Check:
    needed = reads(constraint, spec)

    def holds(data: Any) -> pl.LazyFrame:
        frame = data.lazyframe
        present = [name for name in needed if name in frame.collect_schema().names()]
        height = frame.select(pl.len()).collect().item()
        # The compiled constraints run on pandas frames; only the columns they read cross over.
        read = frame.select(present).collect()
        table = complete_frame(spec, {name: read[name] for name in present}, height, needed)
        return pl.LazyFrame({"check_output": constraint.check(table)})

    return pap.Check(holds, name=constraint.name, error=_constraint_error(constraint), ignore_na=False,
                     description=constraint.description)


def _lossless(param: ParamSpec) -> pa.Parser:
    def parse(series: pd.Series) -> pd.Series:
        cells = inspect_pandas(series, param)
        # Anything lossy stays as it came, for pandera's dtype check to refuse.
        return cells.column.set_axis(series.index) if cells.changed and (cells.codes == OK).all() else series

    return pa.Parser(parse)


def pandas_schema(spec: GeneratorSpec, compiled: Sequence[CompiledConstraint]) -> pa.DataFrameSchema:
    columns = {p.name: pa.Column(_pandas_column_dtype(p), pandera_checks(p, pa),
                                 nullable=p.nullable, required=False,
                                 parsers=[_lossless(p)], description=p.description or None)
               for p in spec}
    columns.update({name: pa.Column(required=False, nullable=True) for name in PACKAGE_COLUMNS if name not in spec})
    checks = [_pandas_constraint(c, spec) for c in compiled]
    return pa.DataFrameSchema(columns, checks=checks, strict=True, name=spec.name, coerce=False)


def polars_schema(spec: GeneratorSpec, compiled: Sequence[CompiledConstraint]) -> pap.DataFrameSchema:
    columns = {p.name: pap.Column(_polars_column_dtype(p), pandera_checks(p, pap), nullable=p.nullable, required=False,
                                  description=p.description or None)
               for p in spec}
    columns.update({name: pap.Column(required=False, nullable=True) for name in PACKAGE_COLUMNS if name not in spec})
    checks = [_polars_constraint(c, spec) for c in compiled]
    return pap.DataFrameSchema(columns, checks=checks, strict=True, name=spec.name, coerce=False)
