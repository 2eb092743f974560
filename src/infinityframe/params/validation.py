"""One validation of a job frame against a generator's rules, pandas or polars alike.

Each parameter column is read cell by cell first (``failures.py``: types, nulls, infinities;
lossless conversion), unknown and duplicated columns are noted, then the converted columns go
through the quick pre-pass (``quick.py``) and, unless it finds them certainly valid, through
the internal pandera schema (``pandera_schemas.py``), whose failure cases become rows of the
failure table described in :mod:`infinityframe.params.schema`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl

from .compiled import ConstraintLike, prepared, reads
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
    python_value,
    unknown_message,
)
from .quick import pandas_passes, polars_passes
from .spec import PACKAGE_COLUMNS, CompiledConstraint, GeneratorSpec, ParamSpec

if TYPE_CHECKING:
    from pandera.errors import SchemaErrors

__all__ = ["Run", "run"]


class Run(ABC):
    """One check of a frame: cell types first, then the rules on the losslessly converted columns.

    The rules are pandera's, through the internal schema; a frame whose cells all passed goes
    through :mod:`~infinityframe.params.quick` first, and reaches pandera only if that finds
    (or cannot rule out) a failure.
    """

    def __init__(self, df: Any, spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> None:
        self.df, self.spec = df, spec
        self.compiled, self.schemas = prepared(spec, constraints)
        self.labels: list[Any] = list(df.columns)
        self.height = len(df)
        self.blocks: list[Block] = []
        self.taken: dict[str, np.ndarray] = {}  # per parameter: cells that already failed
        self.cells: dict[int, Cells] = {}  # by column position
        order = {name: i for i, name in enumerate(spec.names)}
        self.rank = {label: order.get(label, len(order) + pos) if isinstance(label, str) else len(order) + pos
                     for pos, label in reversed(list(enumerate(self.labels)))}
        counts = Counter(self.labels)
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
        self.clean = clean
        if self.blocks or not self._passes(clean):
            schema, errors = self.pandera(clean)
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
    def _passes(self, clean: dict[str, Any]) -> bool:
        """Whether the quick pre-pass finds the converted columns certainly valid."""

    @abstractmethod
    def pandera(self, clean: dict[str, Any]) -> tuple[Any, SchemaErrors | None]:
        """Run the internal pandera schema on the converted columns: the schema and its errors (``None``: passed)."""

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
            import pandera.pandas as pa

            from .pandera_schemas import value_checks

            name = value_checks(param, pa)[int(number)].name
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
        present = [n for n in reads(constraint, self.spec) if n in clean]
        if any(n in self.duplicated for n in reads(constraint, self.spec)):
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


class _PandasRun(Run):
    def _column(self, pos: int) -> pd.Series:
        if not hasattr(self, "_series"):
            self._series = [series for _, series in self.df.items()]  # cheaper than iloc, column by column
        column: pd.Series = self._series[pos]
        return column

    def _cells(self, column: pd.Series, param: ParamSpec) -> Cells:
        return inspect_pandas(column, param)

    def _values(self, column: pd.Series, rows: np.ndarray) -> list[Any]:
        return [python_value(v) for v in column.iloc[rows].tolist()]

    def _passes(self, clean: dict[str, Any]) -> bool:
        return pandas_passes(clean, self.spec, self.compiled, self.height)

    def pandera(self, clean: dict[str, Any]) -> tuple[Any, SchemaErrors | None]:
        frame = pd.DataFrame(clean, index=pd.RangeIndex(self.height), copy=False)
        schema = self.schemas.pandas()
        from pandera.errors import SchemaErrors  # loaded with the schema, only when a frame needs pandera

        try:
            schema.validate(frame, lazy=True, inplace=True)
        except SchemaErrors as errors:
            return schema, errors
        return schema, None

    def _failing(self, check_output: Any) -> np.ndarray:
        return np.flatnonzero(~np.asarray(check_output, dtype=bool))


class _PolarsRun(Run):
    def _column(self, pos: int) -> pl.Series:
        column: pl.Series = self.df.to_series(pos)
        return column

    def _cells(self, column: pl.Series, param: ParamSpec) -> Cells:
        return inspect_polars(column, param)

    def _values(self, column: pl.Series, rows: np.ndarray) -> list[Any]:
        return [python_value(v) for v in column.gather(rows).to_list()]

    def _passes(self, clean: dict[str, Any]) -> bool:
        return polars_passes(clean, self.spec, self.compiled, self.height)

    def pandera(self, clean: dict[str, Any]) -> tuple[Any, SchemaErrors | None]:
        frame = pl.DataFrame(list(clean.values()))
        if not clean and self.height:
            # A polars frame without columns has no rows, yet constraints must see every row (all
            # defaults); a column of nulls under a package name, which the schema allows, keeps them.
            holder = next(name for name in PACKAGE_COLUMNS if name not in self.spec)
            frame = pl.DataFrame({holder: pl.Series([None] * self.height)})
        schema = self.schemas.polars()
        from pandera.errors import SchemaErrors

        try:
            schema.validate(frame, lazy=True)
        except SchemaErrors as errors:
            return schema, errors
        return schema, None

    def _failing(self, check_output: Any) -> np.ndarray:
        return np.flatnonzero(~check_output["check_output"].fill_null(False).to_numpy())


def run(df: Any, spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> Run:
    """Check a pandas or polars frame: ``.failures`` is the failure table, ``.cells`` the
    converted columns by position."""
    if isinstance(df, pd.DataFrame):
        return _PandasRun(df, spec, constraints)
    if isinstance(df, pl.DataFrame):
        return _PolarsRun(df, spec, constraints)
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(df).__name__}")

