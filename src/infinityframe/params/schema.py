"""pandera schemas for a generator's parameters, and the tidy table of what breaks them.

:func:`build_schema` and :func:`build_polars_schema` declare a generator's rules as pandera
schemas; :func:`failure_cases` and :func:`validate_frame` run them on a frame with the service's
strictness (``rules.py``): a value is never converted unless nothing is lost, so ``"3"`` is not
an int, ``"false"`` is not a bool and ``True`` is not a number, while 3.0 is a fine 3.

The failure table has one row per failure and the same columns, dtypes and values for a pandas
frame and for ``pl.from_pandas`` of it:

``row``
    0-based position in the frame (int64); ``-1`` for a problem of a whole column (an unknown or
    duplicated column, a constraint that could not be evaluated).
``column``
    The parameter, the offending column, or for a joint constraint the first of its parameters
    present in the frame (the constraint's name when none is).
``check``
    ``dtype``, ``nullable``, ``finite``, ``isin``, ``in_range``, ``greater_than_or_equal_to``,
    ``less_than_or_equal_to``, ``unknown_column``, ``duplicate_column``, or a constraint's name.
``value``
    The offending value as a Python object; ``None`` for nulls and whole-column problems; for a
    constraint, ``"a=1, b=2"`` with the values its expression read.
``message``
    A sentence naming the row, the column, the value and what is allowed.

Each cell fails at most once, in the service's order (null, type, choices, range), and like the
service, joint constraints are only judged on rows whose values all pass; missing columns take
their defaults there. Failures are sorted by row, then by column in the generator's order.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pandera.polars as pap
import polars as pl
from pandera.errors import SchemaErrors

from ..errors import ValidationError
from .failures import (
    CELL_CHECKS,
    OK,
    Block,
    Cells,
    assemble,
    cell_message,
    default_of,
    duplicate_message,
    frame_message,
    inspect_pandas,
    inspect_polars,
    pandas_dtype,
    polars_dtype,
    python_value,
    unknown_message,
)
from .spec import PACKAGE_COLUMNS, CompiledConstraint, Constraint, GeneratorSpec, ParamSpec, compile_constraints

__all__ = ["build_polars_schema", "build_schema", "failure_cases", "validate_frame"]

ConstraintLike = str | Callable[[pd.DataFrame], Any] | Constraint
Frame = TypeVar("Frame", pd.DataFrame, pl.DataFrame)


def _compile(spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> list[CompiledConstraint]:
    return compile_constraints(spec, constraints)


def _value_checks(param: ParamSpec, api: Any) -> list[Any]:
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


def _complete(frame: pd.DataFrame, spec: GeneratorSpec, names: Sequence[str]) -> pd.DataFrame:
    """The ``names`` columns of ``frame``, a missing one holding its parameter's default."""
    present = set(frame.columns)
    data = {name: frame[name].array if name in present
            else pd.Series(default_of(spec[name]), index=frame.index, dtype=pandas_dtype(spec[name])).array
            for name in names}
    return pd.DataFrame(data, index=frame.index)


def _needed(constraint: CompiledConstraint, spec: GeneratorSpec) -> tuple[str, ...]:
    # A callable may read any parameter; an expression only the names it mentions.
    return constraint.columns or tuple(spec.names)


def _constraint_error(constraint: CompiledConstraint) -> str:
    return f"{constraint.name}: {constraint.message or constraint.description}"


def _pandas_constraint(constraint: CompiledConstraint, spec: GeneratorSpec, cases: int | None) -> pa.Check:
    needed = _needed(constraint, spec)

    def holds(df: pd.DataFrame) -> pd.Series:
        return pd.Series(constraint.check(_complete(df, spec, needed)), index=df.index, dtype=bool)

    return pa.Check(holds, name=constraint.name, error=_constraint_error(constraint), element_wise=False,
                    ignore_na=False, n_failure_cases=cases, description=constraint.description)


def _polars_constraint(constraint: CompiledConstraint, spec: GeneratorSpec, cases: int | None) -> pap.Check:
    needed = _needed(constraint, spec)

    def holds(data: Any) -> pl.LazyFrame:
        frame = data.lazyframe
        present = [name for name in needed if name in frame.collect_schema().names()]
        height = frame.select(pl.len()).collect().item()
        # The compiled constraints run on pandas frames; only the columns they read cross over.
        table = frame.select(present).collect().to_pandas() if present else pd.DataFrame(index=range(height))
        return pl.LazyFrame({"check_output": constraint.check(_complete(table, spec, needed))})

    return pap.Check(holds, name=constraint.name, error=_constraint_error(constraint), ignore_na=False,
                     n_failure_cases=cases, description=constraint.description)


def _lossless(param: ParamSpec) -> pa.Parser:
    def parse(series: pd.Series) -> pd.Series:
        cells = inspect_pandas(series, param)
        # Anything lossy stays as it came, for pandera's dtype check to refuse.
        return cells.column.set_axis(series.index) if cells.changed and (cells.codes == OK).all() else series

    return pa.Parser(parse)


def _pandas_schema(spec: GeneratorSpec, compiled: Sequence[CompiledConstraint], *,
                   internal: bool = False) -> pa.DataFrameSchema:
    columns = {p.name: pa.Column(pandas_dtype(p), _value_checks(p, pa), nullable=p.nullable, required=False,
                                 parsers=None if internal else [_lossless(p)], description=p.description or None)
               for p in spec}
    columns.update({name: pa.Column(required=False, nullable=True) for name in PACKAGE_COLUMNS if name not in spec})
    # Internally, pandera need not list each failing row's values (a million rows: minutes); the
    # rows come from each error's check_output instead.
    checks = [_pandas_constraint(c, spec, 1 if internal else None) for c in compiled]
    return pa.DataFrameSchema(columns, checks=checks, strict=True, name=spec.name, coerce=False)


def _polars_schema(spec: GeneratorSpec, compiled: Sequence[CompiledConstraint], *,
                   internal: bool = False) -> pap.DataFrameSchema:
    columns = {p.name: pap.Column(polars_dtype(p), _value_checks(p, pap), nullable=p.nullable, required=False,
                                  description=p.description or None)
               for p in spec}
    columns.update({name: pap.Column(required=False, nullable=True) for name in PACKAGE_COLUMNS if name not in spec})
    checks = [_polars_constraint(c, spec, 1 if internal else None) for c in compiled]
    return pap.DataFrameSchema(columns, checks=checks, strict=True, name=spec.name, coerce=False)


def build_schema(spec: GeneratorSpec, constraints: Sequence[ConstraintLike] = ()) -> pa.DataFrameSchema:
    """A pandera schema of a generator's parameters for pandas frames.

    One optional column per parameter (a missing parameter takes its default later) with its
    dtype (int64, float64, bool, pandas' ``str``; nullable integer/boolean and NaN-holding
    columns where the default is null), range and choice checks; the package's own columns
    (``job_id``, ``valid``, …) are allowed, any other column is refused. Joint constraints, the
    generator's and ``constraints`` (expressions, :class:`Constraint` objects or callables
    taking a pandas frame), are frame-wide checks, evaluated with defaults for missing columns.
    Each column's parser converts only losslessly (3.0 → 3, an object column of strings → ``str``).

    Parameters
    ----------
    spec : GeneratorSpec
        The generator's parameters.
    constraints : sequence of str, Constraint or callable, optional
        Joint constraints added to the generator's own.

    Returns
    -------
    pandera.pandas.DataFrameSchema
        Named after the generator; ``.validate(df, lazy=True)`` works directly, but
        :func:`failure_cases` reports cell by cell where pandera reports a wrong dtype once.

    Examples
    --------
    >>> from infinityframe.params.spec import GeneratorSpec, ParamSpec
    >>> spec = GeneratorSpec("demo", (ParamSpec("n", "int", 1, min=1, max=3),))
    >>> build_schema(spec).validate(pd.DataFrame({"n": [1.0, 2.0]}))["n"].dtype
    dtype('int64')
    """
    return _pandas_schema(spec, _compile(spec, constraints))


def build_polars_schema(spec: GeneratorSpec, constraints: Sequence[ConstraintLike] = ()) -> pap.DataFrameSchema:
    """The same rules as :func:`build_schema`, as a pandera schema for polars frames.

    pandera's polars backend takes no custom parsers, so this schema converts nothing: columns
    must already be Int64, Float64, Boolean or String. :func:`validate_frame` converts
    losslessly before validating.

    Parameters
    ----------
    spec : GeneratorSpec
        The generator's parameters.
    constraints : sequence of str, Constraint or callable, optional
        Joint constraints added to the generator's own; callables receive a pandas frame.

    Returns
    -------
    pandera.polars.DataFrameSchema

    Examples
    --------
    >>> from infinityframe.params.spec import GeneratorSpec, ParamSpec
    >>> spec = GeneratorSpec("demo", (ParamSpec("n", "int", 1, min=1, max=3),))
    >>> build_polars_schema(spec).validate(pl.DataFrame({"n": [1, 3]})).shape
    (2, 1)
    """
    return _polars_schema(spec, _compile(spec, constraints))


class _Schemas:
    """The internal pandera schemas of one (spec, constraints), built on first use."""

    def __init__(self, spec: GeneratorSpec, compiled: Sequence[CompiledConstraint]) -> None:
        self._spec, self._compiled = spec, compiled
        self._pandas: pa.DataFrameSchema | None = None
        self._polars: pap.DataFrameSchema | None = None

    def pandas(self) -> pa.DataFrameSchema:
        if self._pandas is None:
            self._pandas = _pandas_schema(self._spec, self._compiled, internal=True)
        return self._pandas

    def polars(self) -> pap.DataFrameSchema:
        if self._polars is None:
            self._polars = _polars_schema(self._spec, self._compiled, internal=True)
        return self._polars


@functools.lru_cache(maxsize=64)
def _prepared_cached(spec: GeneratorSpec, constraints: tuple[Any, ...]) -> tuple[list[CompiledConstraint], _Schemas]:
    compiled = _compile(spec, constraints)
    return compiled, _Schemas(spec, compiled)


def _prepared(spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> tuple[
        list[CompiledConstraint], _Schemas]:
    """Compiled constraints and schemas, reused across calls: pandera deep-copies every column
    when a schema is built, which costs more than validating a small frame."""
    key = tuple(constraints)
    try:
        return _prepared_cached(spec, key)
    except TypeError:  # an unhashable constraint: build afresh
        compiled = _compile(spec, constraints)
        return compiled, _Schemas(spec, compiled)


class _Run(ABC):
    """One check of a frame: cell types first, then pandera on the losslessly converted columns."""

    def __init__(self, df: Any, spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> None:
        self.df, self.spec = df, spec
        self.compiled, self.schemas = _prepared(spec, constraints)
        self.labels: list[Any] = list(df.columns)
        self.height = len(df)
        self.blocks: list[Block] = []
        self.taken: dict[str, np.ndarray] = {}  # per parameter: cells that already failed
        self.cells: dict[int, Cells] = {}  # by column position
        order = {name: i for i, name in enumerate(spec.names)}
        self.rank = {label: order.get(label, len(order) + pos) if isinstance(label, str) else len(order) + pos
                     for pos, label in reversed(list(enumerate(self.labels)))}
        counts = pd.Series(self.labels, dtype=object).value_counts(sort=False)
        self.duplicated = {label for label, count in counts.items() if count > 1}
        for label in self.duplicated:
            self._add([-1], str(label), self.rank[label], "duplicate_column", [None],
                      duplicate_message(str(label), int(counts[label])))
        clean: dict[str, Any] = {}  # the parameter columns, converted: all pandera gets to see
        for pos, label in enumerate(self.labels):
            if label in self.duplicated:
                continue
            if isinstance(label, str) and label in spec:
                self._inspect(pos, label, self._column(pos))
                clean[label] = self.cells[pos].column
            elif label not in PACKAGE_COLUMNS:
                # Checked here rather than by strict=True: pandera's polars backend names only the first.
                self._add([-1], str(label), self.rank[label], "unknown_column", [None],
                          unknown_message(str(label), spec.name, spec.names, PACKAGE_COLUMNS))
        schema, errors = self._validate(clean)
        self._from_pandera(schema, errors, clean)
        self.failures = assemble(self.blocks)

    # -- what differs between pandas and polars -----------------------------------------------
    @abstractmethod
    def _column(self, pos: int) -> Any:
        """The input column at a position."""

    @abstractmethod
    def _cells(self, column: Any, param: ParamSpec) -> Cells:
        """Type codes and the losslessly converted column."""

    @abstractmethod
    def _values(self, column: Any, rows: np.ndarray) -> list[Any]:
        """A column's cells at some rows, as Python objects."""

    @abstractmethod
    def _validate(self, clean: dict[str, Any]) -> tuple[Any, SchemaErrors | None]:
        """Run the internal pandera schema on the converted columns: the schema and its errors."""

    @abstractmethod
    def _failing(self, check_output: Any) -> np.ndarray:
        """Rows where a frame-wide check's output is false."""

    # -- shared -------------------------------------------------------------------------------
    def _add(self, rows: Any, column: str, rank: int, check: str, values: list[Any],
             message: Callable[[int, Any], str]) -> None:
        self.blocks.append(Block(np.asarray(rows, dtype=np.int64), column, rank, check, values, message))

    def _inspect(self, pos: int, label: str, original: Any) -> None:
        param = self.spec[label]
        cells = self.cells[pos] = self._cells(original, param)
        self.taken[label] = cells.codes != OK
        if not self.taken[label].any():
            return
        for code, check in CELL_CHECKS.items():
            rows = np.flatnonzero(cells.codes == code)
            if rows.size:
                values = [None] * rows.size if check == "nullable" else self._values(original, rows)
                self._add(rows, label, self.rank[label], check, values, cell_message(param, check))

    def _from_pandera(self, schema: Any, errors: SchemaErrors | None, clean: dict[str, Any]) -> None:
        if errors is None:
            return
        cases = errors.failure_cases
        if isinstance(cases, pl.DataFrame):
            cases = cases.to_pandas()
        cases = cases.assign(index=pd.to_numeric(cases["index"], errors="coerce").fillna(-1).astype(np.int64))
        for (context, column, check, number), group in cases.groupby(
                ["schema_context", "column", "check", "check_number"], dropna=False, sort=False):
            if context == "Column" and isinstance(column, str) and column in self.spec:
                self._column_failures(column, check, number, group["index"].to_numpy())
            elif pd.isna(number):  # any other frame-level complaint; constraint rows come from check_output
                self._add([-1] * len(group), str(column), len(self.rank), str(check), [None] * len(group),
                          frame_message(str(column), str(check)))
        bad_rows = np.zeros(self.height, dtype=bool)
        for taken in self.taken.values():
            bad_rows |= taken
        constraint_of = {id(check): i for i, check in enumerate(schema.checks)}
        for error in errors.schema_errors:
            if id(error.check) in constraint_of:
                i = constraint_of[id(error.check)]
                self._constraint_failures(i, self.compiled[i], error, bad_rows, clean)

    def _column_failures(self, column: str, check: str, number: Any, rows: np.ndarray) -> None:
        param = self.spec[column]
        if pd.isna(number):
            name = "nullable" if check == "not_nullable" else "dtype" if str(check).startswith("dtype") else check
        else:
            name = _value_checks(param, pa)[int(number)].name
        taken = self.taken.setdefault(column, np.zeros(self.height, dtype=bool))
        rows = rows[rows >= 0]
        rows = rows[~taken[rows]]
        if rows.size:
            taken[rows] = True  # one failure per cell: the first check in the service's order wins
            pos = self.labels.index(column)
            self._add(rows, column, self.rank[column], name, self._values(self._column(pos), rows),
                      cell_message(param, name))

    def _constraint_failures(self, i: int, constraint: CompiledConstraint, error: Any, bad_rows: np.ndarray,
                             clean: dict[str, Any]) -> None:
        present = [n for n in _needed(constraint, self.spec) if n in clean]
        if any(n in self.duplicated for n in _needed(constraint, self.spec)):
            return  # which of the duplicates would it read? the duplicate_column failure says enough
        column = present[0] if present and constraint.columns else constraint.name
        rank = self.rank[column] if column in self.rank else len(self.rank) + i
        if error.check_output is None:  # the check raised: say so once, for the whole frame
            cases = getattr(error, "failure_cases", None)
            reason = cases if isinstance(cases, str) else str(error).splitlines()[0]
            self._add([-1], column, rank, constraint.name, [None], lambda row, value:
                      f"all rows, {column}: constraint {constraint.name} ({constraint.description}) could not be "
                      f"evaluated: {reason}")
            return
        rows = self._failing(error.check_output)
        rows = rows[~bad_rows[rows]]
        if not rows.size:
            return
        values: list[Any] = [None] * rows.size
        if constraint.columns:
            read = {n: self._values(clean[n], rows) if n in clean else [default_of(self.spec[n])] * rows.size
                    for n in constraint.columns}
            values = [", ".join(f"{n}={read[n][k]!r}" for n in constraint.columns)
                      for k in range(rows.size)]
        what = constraint.message or "the condition is false"
        self._add(rows, column, rank, constraint.name, values, lambda row, value:
                  f"row {row}, {column}: breaks constraint {constraint.name}: {what} "
                  + (f"({constraint.description}; got {value})" if value is not None
                     else "(the callable returned False for this row)"))


class _PandasRun(_Run):
    def _column(self, pos: int) -> pd.Series:
        column: pd.Series = self.df.iloc[:, pos]
        return column

    def _cells(self, column: pd.Series, param: ParamSpec) -> Cells:
        return inspect_pandas(column, param)

    def _values(self, column: pd.Series, rows: np.ndarray) -> list[Any]:
        return [python_value(v) for v in column.iloc[rows].tolist()]

    def _validate(self, clean: dict[str, Any]) -> tuple[Any, SchemaErrors | None]:
        frame = pd.DataFrame(clean, index=pd.RangeIndex(self.height), copy=False)
        schema = self.schemas.pandas()
        try:
            schema.validate(frame, lazy=True, inplace=True)
        except SchemaErrors as errors:
            return schema, errors
        return schema, None

    def _failing(self, check_output: Any) -> np.ndarray:
        return np.flatnonzero(~np.asarray(check_output, dtype=bool))


class _PolarsRun(_Run):
    def _column(self, pos: int) -> pl.Series:
        column: pl.Series = self.df.to_series(pos)
        return column

    def _cells(self, column: pl.Series, param: ParamSpec) -> Cells:
        return inspect_polars(column, param)

    def _values(self, column: pl.Series, rows: np.ndarray) -> list[Any]:
        return [python_value(v) for v in column.gather(rows).to_list()]

    def _validate(self, clean: dict[str, Any]) -> tuple[Any, SchemaErrors | None]:
        frame = pl.DataFrame(list(clean.values()))
        if not clean and self.height:
            # A polars frame without columns has no rows, yet constraints must see every row (all
            # defaults); a column of nulls under a package name, which the schema allows, keeps them.
            holder = next(name for name in PACKAGE_COLUMNS if name not in self.spec)
            frame = pl.DataFrame({holder: pl.Series([None] * self.height)})
        schema = self.schemas.polars()
        try:
            schema.validate(frame, lazy=True)
        except SchemaErrors as errors:
            return schema, errors
        return schema, None

    def _failing(self, check_output: Any) -> np.ndarray:
        return np.flatnonzero(~check_output["check_output"].fill_null(False).to_numpy())


def _run(df: Any, spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> _Run:
    if isinstance(df, pd.DataFrame):
        return _PandasRun(df, spec, constraints)
    if isinstance(df, pl.DataFrame):
        return _PolarsRun(df, spec, constraints)
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(df).__name__}")


def failure_cases(df: pd.DataFrame | pl.DataFrame, spec: GeneratorSpec,
                  constraints: Sequence[ConstraintLike] = ()) -> pd.DataFrame:
    """Every way a frame breaks a generator's rules, one row per failure.

    Parameters
    ----------
    df : pandas.DataFrame or polars.DataFrame
        Job parameters, one row per job; missing parameter columns take their defaults.
    spec : GeneratorSpec
        The generator's parameters.
    constraints : sequence of str, Constraint or callable, optional
        Joint constraints added to the generator's own.

    Returns
    -------
    pandas.DataFrame
        Columns ``row`` (int64; -1 for a whole column), ``column``, ``check``, ``value`` and
        ``message``, as described in the module docstring; empty when the frame is valid. The
        same table for a pandas frame and for ``pl.from_pandas`` of it.

    Examples
    --------
    >>> from infinityframe.params.spec import GeneratorSpec, ParamSpec
    >>> spec = GeneratorSpec("demo", (ParamSpec("n", "int", 1, min=1, max=3),))
    >>> failure_cases(pd.DataFrame({"n": [1, 5, "2"]}), spec)[["row", "column", "check", "value"]]
       row column     check value
    0    1      n  in_range     5
    1    2      n     dtype     2
    """
    return _run(df, spec, constraints).failures


def _summary(failures: pd.DataFrame, spec: GeneratorSpec, shown: int = 5) -> str:
    count = len(failures)
    lines = [f"{count} problem{'s' if count != 1 else ''} in the job parameters for {spec.name}:"]
    lines += failures["message"].head(shown).tolist()
    if count > shown:
        lines.append(f"… and {count - shown} more.")
    lines.append("ValidationError.failure_cases lists every one (row, column, check, value, message).")
    return "\n".join(lines)


def validate_frame(df: Frame, spec: GeneratorSpec, constraints: Sequence[ConstraintLike] = ()) -> Frame:
    """The frame with lossless conversions applied, or a :class:`ValidationError` naming what is wrong.

    Parameters
    ----------
    df : pandas.DataFrame or polars.DataFrame
        Job parameters, one row per job. It is never modified.
    spec : GeneratorSpec
        The generator's parameters.
    constraints : sequence of str, Constraint or callable, optional
        Joint constraints added to the generator's own.

    Returns
    -------
    pandas.DataFrame or polars.DataFrame
        A new frame of the same type, index and columns, each parameter column in its dtype
        (3.0 → 3 for an int, an object column of strings → ``str``).

    Raises
    ------
    ValidationError
        When anything fails; the message lists the first five failures and the count, and
        ``.failure_cases`` holds the table :func:`failure_cases` returns.

    Examples
    --------
    >>> from infinityframe.params.spec import GeneratorSpec, ParamSpec
    >>> spec = GeneratorSpec("demo", (ParamSpec("n", "int", 1, min=1, max=3),))
    >>> validate_frame(pd.DataFrame({"n": [1.0, 3.0]}), spec)["n"].tolist()
    [1, 3]
    """
    run = _run(df, spec, constraints)
    if len(run.failures):
        raise ValidationError(_summary(run.failures, spec), failure_cases=run.failures)
    changed = {pos: cells.column for pos, cells in run.cells.items() if cells.changed}
    if isinstance(df, pl.DataFrame):
        return df.with_columns(list(changed.values())) if changed else df.clone()
    out = df.copy(deep=False)  # copy-on-write: replacing columns below leaves ``df`` untouched
    for pos, column in changed.items():
        out.isetitem(pos, column.array)
    return out
