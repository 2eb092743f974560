"""The pandera schemas behind :mod:`infinityframe.params.schema`: a generator's column rules
(dtype, nullability, ``isin``, the range) and its joint constraints as frame-wide checks, for
pandas and for polars, plus a cache of the internal ones that a validation run reuses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pandera.polars as pap
import polars as pl

from .failures import OK, default_of, inspect_pandas, pandas_dtype, polars_dtype
from .spec import PACKAGE_COLUMNS, CompiledConstraint, Constraint, GeneratorSpec, ParamSpec, compile_constraints

__all__ = ["ConstraintLike", "Schemas", "compile_all", "complete", "pandas_schema", "polars_schema", "prepared",
           "reads", "value_checks"]

ConstraintLike = str | Callable[[pd.DataFrame], Any] | Constraint


def compile_all(spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> list[CompiledConstraint]:
    """The generator's joint constraints and the user's, compiled."""
    return compile_constraints(spec, constraints)


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


def complete(frame: pd.DataFrame, spec: GeneratorSpec, names: Sequence[str]) -> pd.DataFrame:
    """The ``names`` columns of ``frame``, a missing one holding its parameter's default."""
    present = set(frame.columns)
    data = {name: frame[name].array if name in present
            else pd.Series(default_of(spec[name]), index=frame.index, dtype=pandas_dtype(spec[name])).array
            for name in names}
    return pd.DataFrame(data, index=frame.index)


def reads(constraint: CompiledConstraint, spec: GeneratorSpec) -> tuple[str, ...]:
    """The parameters a constraint reads: a callable any, an expression only those it names."""
    return constraint.columns or tuple(spec.names)


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
    columns = {p.name: pa.Column(pandas_dtype(p), value_checks(p, pa), nullable=p.nullable, required=False,
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



class Schemas:
    """The internal pandera schemas of one (spec, constraints), built on first use."""

    def __init__(self, spec: GeneratorSpec, compiled: Sequence[CompiledConstraint]) -> None:
        self._spec, self._compiled = spec, compiled
        self._pandas: pa.DataFrameSchema | None = None
        self._polars: pap.DataFrameSchema | None = None

    def pandas(self) -> pa.DataFrameSchema:
        if self._pandas is None:
            self._pandas = pandas_schema(self._spec, self._compiled, internal=True)
        return self._pandas

    def polars(self) -> pap.DataFrameSchema:
        if self._polars is None:
            self._polars = polars_schema(self._spec, self._compiled, internal=True)
        return self._polars


@functools.lru_cache(maxsize=64)
def _prepared_cached(spec: GeneratorSpec, constraints: tuple[Any, ...]) -> tuple[list[CompiledConstraint], Schemas]:
    compiled = compile_all(spec, constraints)
    return compiled, Schemas(spec, compiled)


def prepared(spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> tuple[
        list[CompiledConstraint], Schemas]:
    """Compiled constraints and schemas, reused across calls: pandera deep-copies every column
    when a schema is built, which costs more than validating a small frame."""
    key = tuple(constraints)
    try:
        return _prepared_cached(spec, key)
    except TypeError:  # an unhashable constraint: build afresh
        compiled = compile_all(spec, constraints)
        return compiled, Schemas(spec, compiled)

