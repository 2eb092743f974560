"""The pandera schemas behind :mod:`infinityframe.params.schema`: a generator's column rules
(dtype, nullability, ``isin``, the range) and its joint constraints as frame-wide checks, for
pandas and for polars. Only a frame that fails the quick pre-pass, or a user asking for
``sesh.schema``, loads this module and pandera with it (:mod:`.compiled` builds on demand).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pandera.polars as pap
import polars as pl

from .compiled import complete, reads
from .failures import OK, inspect_pandas, pandas_dtype, polars_dtype
from .spec import PACKAGE_COLUMNS, CompiledConstraint, GeneratorSpec, ParamSpec

__all__ = ["pandas_schema", "polars_schema", "value_checks"]

def value_checks(param: ParamSpec, api: Any) -> list[Any]:
    """isin, then the range: the service's order, which decides the one failure a cell gets."""
    checks = []
    if param.choices is not None:
        checks.append(api.Check.isin(list(param.choices), error=f"{param.name} must be one of {list(param.choices)}"))
    if param.type in ("int", "float"):
        if param.min is not None and param.max is not None:
            checks.append(api.Check.in_range(param.min, param.max,
                                             error=f"{param.name} must be between {param.min} and {param.max}"))
        elif param.min is not None:
            checks.append(api.Check.ge(param.min, error=f"{param.name} must be ≥ {param.min}"))
        elif param.max is not None:
            checks.append(api.Check.le(param.max, error=f"{param.name} must be ≤ {param.max}"))
    return checks


def _constraint_error(constraint: CompiledConstraint) -> str:
    return f"{constraint.name}: {constraint.message or constraint.description}"


def _pandas_constraint(constraint: CompiledConstraint, spec: GeneratorSpec, cases: int | None) -> pa.Check:
    needed = reads(constraint, spec)

    def holds(df: pd.DataFrame) -> pd.Series:
        return pd.Series(constraint.check(complete(df, spec, needed)), index=df.index, dtype=bool)

    return pa.Check(holds, name=constraint.name, error=_constraint_error(constraint), element_wise=False,
                    ignore_na=False, n_failure_cases=cases, description=constraint.description)


def _polars_constraint(constraint: CompiledConstraint, spec: GeneratorSpec, cases: int | None) -> pap.Check:
    needed = reads(constraint, spec)

    def holds(data: Any) -> pl.LazyFrame:
        frame = data.lazyframe
        present = [name for name in needed if name in frame.collect_schema().names()]
        height = frame.select(pl.len()).collect().item()
        # The compiled constraints run on pandas frames; only the columns they read cross over.
        table = frame.select(present).collect().to_pandas() if present else pd.DataFrame(index=range(height))
        return pl.LazyFrame({"check_output": constraint.check(complete(table, spec, needed))})

    return pap.Check(holds, name=constraint.name, error=_constraint_error(constraint), ignore_na=False,
                     n_failure_cases=cases, description=constraint.description)


def _lossless(param: ParamSpec) -> pa.Parser:
    def parse(series: pd.Series) -> pd.Series:
        cells = inspect_pandas(series, param)
        # Anything lossy stays as it came, for pandera's dtype check to refuse.
        return cells.column.set_axis(series.index) if cells.changed and (cells.codes == OK).all() else series

    return pa.Parser(parse)


def pandas_schema(spec: GeneratorSpec, compiled: Sequence[CompiledConstraint], *,
                   internal: bool = False) -> pa.DataFrameSchema:
    # A job id may be an object column (str or None) or pandas' str: its cells are checked one by one.
    columns = {p.name: pa.Column(None if p.type == "uuid" else pandas_dtype(p), value_checks(p, pa),
                                 nullable=p.nullable, required=False,
                                 parsers=None if internal else [_lossless(p)], description=p.description or None)
               for p in spec}
    columns.update({name: pa.Column(required=False, nullable=True) for name in PACKAGE_COLUMNS if name not in spec})
    # Internally, pandera need not list each failing row's values (a million rows: minutes); the
    # rows come from each error's check_output instead.
    checks = [_pandas_constraint(c, spec, 1 if internal else None) for c in compiled]
    return pa.DataFrameSchema(columns, checks=checks, strict=True, name=spec.name, coerce=False)


def polars_schema(spec: GeneratorSpec, compiled: Sequence[CompiledConstraint], *,
                   internal: bool = False) -> pap.DataFrameSchema:
    columns = {p.name: pap.Column(polars_dtype(p), value_checks(p, pap), nullable=p.nullable, required=False,
                                  description=p.description or None)
               for p in spec}
    columns.update({name: pap.Column(required=False, nullable=True) for name in PACKAGE_COLUMNS if name not in spec})
    checks = [_polars_constraint(c, spec, 1 if internal else None) for c in compiled]
    return pap.DataFrameSchema(columns, checks=checks, strict=True, name=spec.name, coerce=False)
