"""One validation of job parameters against a generator's rules: a pandas or polars frame, or
a list of dicts (the service's request body, infinity-core's job lists, a CSV's rows).

Every path runs the same three steps: :mod:`.cells` reads each parameter column cell by cell
(types, nulls, infinities) and converts it losslessly; :mod:`.checks` finds the values outside
the choices or range and the rows that break a joint constraint, on whole columns; and
:mod:`.report` words each failure and builds the table described in
:mod:`infinityframe.params.schema`. A list of dicts is an n-row table here, so the service, the
client and the frame accessors give the same failures for the same values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from .cells import (
    CELL_CHECKS,
    OK,
    Cells,
    Values,
    default_of,
    inspect_pandas,
    inspect_polars,
    python_value,
    read_values,
)
from .checks import Summary, constraint_failures, plainly_valid, summarise_polars, suspect_columns, value_failures
from .compiled import ConstraintLike, prepared
from .report import (
    Block,
    assemble,
    cell_message,
    constraint_message,
    duplicate_message,
    job_message,
    key_message,
    not_an_object,
    unevaluable_message,
    unknown_key,
    unknown_message,
)
from .spec import PACKAGE_COLUMNS, GeneratorSpec, ParamSpec

__all__ = ["Records", "Run", "run"]


class _Checks(ABC):
    """What every check shares, a frame's or a list of jobs': failures collected as blocks,
    type then value failures per column, and the joint constraints on the rows that passed."""

    spec: GeneratorSpec
    compiled: list[Any]
    height: int
    blocks: list[Block]
    taken: dict[str, np.ndarray | None]
    rank: dict[Any, int]
    duplicated: set[Any]

    @abstractmethod
    def _values(self, column: Any, rows: np.ndarray) -> list[Any]:
        """A column's cells at some rows, as Python objects."""

    def _row_labels(self) -> pd.Index | None:
        """What the failure table calls each row (``None``: its position)."""
        return None

    # -- shared -------------------------------------------------------------------------------
    def _add(self, rows: Any, column: str, rank: int, check: str, values: list[Any],
             message: Callable[[Any, Any], str]) -> None:
        self.blocks.append(Block(np.asarray(rows, dtype=np.int64), column, rank, check, values, message))

    def _type_failures(self, param: ParamSpec, codes: np.ndarray, values: Callable[[np.ndarray], list[Any]]) -> None:
        if not codes.any():  # every cell OK (OK is 0): nothing taken, nothing allocated
            self.taken[param.name] = None
            return
        self.taken[param.name] = codes != OK
        for code, check in CELL_CHECKS.items():
            rows = np.flatnonzero(codes == code)
            if rows.size:
                shown = [None] * rows.size if check == "nullable" else values(rows)
                self._add(rows, param.name, self.rank[param.name], check, shown, cell_message(param, check))

    def _value_failures(self, param: ParamSpec, column: Any, eligible: np.ndarray | None,
                        values: Callable[[np.ndarray], list[Any]]) -> None:
        for check, rows in value_failures(param, column, eligible):
            taken = self.taken[param.name]
            if taken is None:
                taken = self.taken[param.name] = np.zeros(self.height, dtype=bool)
            taken[rows] = True
            self._add(rows, param.name, self.rank[param.name], check, values(rows), cell_message(param, check))

    def _judged(self) -> np.ndarray | None:
        """Rows a joint constraint is judged on: those whose cells all passed (``None``: every row)."""
        found = [taken for taken in self.taken.values() if taken is not None]
        if not found:
            return None
        bad = np.logical_or.reduce(found) if len(found) > 1 else found[0]
        return ~bad if bad.any() else None

    def _constraint_failures(self, clean: Mapping[str, Any]) -> None:
        judged = self._judged()
        compiled = [c for c in self.compiled if not any(n in self.duplicated for n in (c.columns or self.spec.names))]
        for i, broken in enumerate(constraint_failures(compiled, self.spec, clean, self.height, judged)):
            constraint = broken.constraint
            present = [n for n in constraint.columns if n in clean]
            column = present[0] if present else constraint.name
            rank = self.rank.get(column, len(self.rank) + i)
            if broken.reason is not None:
                self._add([-1], column, rank, constraint.name, [None],
                          unevaluable_message(constraint, column, broken.reason))
                continue
            rows = broken.rows
            values: list[Any] = [None] * rows.size
            if constraint.columns:
                read = {n: self._values(clean[n], rows) if n in clean else [default_of(self.spec[n])] * rows.size
                        for n in constraint.columns}
                values = [", ".join(f"{n}={read[n][k]!r}" for n in constraint.columns) for k in range(rows.size)]
            self._add(rows, column, rank, constraint.name, values, constraint_message(constraint, column))

    def _reader(self, column: Any) -> Callable[[np.ndarray], list[Any]]:
        """A column's cells at some rows, as Python objects (for the failure table's ``value``)."""
        def read(rows: np.ndarray) -> list[Any]:
            return self._values(column, rows)
        return read


def _picker(cells: Sequence[Any]) -> Callable[[np.ndarray], list[Any]]:
    """Some of a list of cells, as Python objects."""
    def pick(rows: np.ndarray) -> list[Any]:
        return [python_value(cells[r]) for r in rows.tolist()]
    return pick


class Run(_Checks):
    """One check of a frame: cell types first, then values and joint constraints on the
    losslessly converted columns."""

    def __init__(self, df: Any, spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> None:
        self.df, self.spec = df, spec
        self.compiled = prepared(spec, constraints)
        self.labels: list[Any] = list(df.columns)
        self.height = len(df)
        self.blocks: list[Block] = []
        self.taken: dict[str, np.ndarray | None] = {}  # per parameter: cells that already failed (None: none)
        self.cells: dict[int, Cells] = {}  # by column position
        order = {name: i for i, name in enumerate(spec.names)}
        self.rank = {label: order.get(label, len(order) + pos) if isinstance(label, str) else len(order) + pos
                     for pos, label in reversed(list(enumerate(self.labels)))}
        counts = Counter(self.labels)
        self.duplicated = {label for label, count in counts.items() if count > 1}
        for label in self.duplicated:
            self._add([-1], str(label), self.rank[label], "duplicate_column", [None],
                      duplicate_message(str(label), int(counts[label])))
        clean: dict[str, Any] = {}  # the parameter columns, converted: all the value checks see
        for pos, label in enumerate(self.labels):
            if label in self.duplicated:
                continue
            if isinstance(label, str) and label in spec:
                self._inspect(pos, label, self._column(pos))
                clean[label] = self.cells[pos].column
            elif label not in PACKAGE_COLUMNS:
                self._add([-1], str(label), self.rank[label], "unknown_column", [None],
                          unknown_message(str(label), spec.name, spec.names, PACKAGE_COLUMNS))
        self.clean = clean
        # Columns whose cells all passed are judged together first; only a suspect one is read row by row.
        unchanged = {self.labels[pos] for pos, cells in self.cells.items() if not cells.changed}
        known = {name: found for name, found in self._summary().items() if name in unchanged}
        suspects = suspect_columns(spec, {name: column for name, column in clean.items()
                                          if self.taken[name] is None}, known)
        for name, column in clean.items():
            taken = self.taken[name]
            if taken is None and name not in suspects:
                continue
            self._value_failures(spec[name], column, None if taken is None else ~taken,
                                 self._reader(self._column(self.labels.index(name))))
        self._constraint_failures(clean)
        self.failures = assemble(self.blocks, self._row_labels())

    # -- what differs between pandas and polars -----------------------------------------------
    @abstractmethod
    def _column(self, pos: int) -> Any:
        """The input column at a position."""

    @abstractmethod
    def _cells(self, column: Any, param: ParamSpec) -> Cells:
        """Type codes and the losslessly converted column."""

    def _summary(self) -> dict[str, Summary]:
        """What one query over the whole input found per column (polars; ``{}``: nothing)."""
        return {}

    def _inspect(self, pos: int, label: str, original: Any) -> None:
        param = self.spec[label]
        cells = self.cells[pos] = self._cells(original, param)
        self._type_failures(param, cells.codes, lambda rows: self._values(original, rows))


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

    def _row_labels(self) -> pd.Index | None:
        index = self.df.index
        if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
            return None
        return index


class _PolarsRun(Run):
    def _column(self, pos: int) -> pl.Series:
        column: pl.Series = self.df.to_series(pos)
        return column

    def _summary(self) -> dict[str, Summary]:
        if not hasattr(self, "_found"):
            # Every parameter column's aggregates (min, max, sum, choices) in one query, collected once.
            self._found = summarise_polars(self.df, self.spec)
        return self._found

    def _cells(self, column: pl.Series, param: ParamSpec) -> Cells:
        found = self._summary().get(column.name)
        return inspect_polars(column, param, None if found is None else found.finite)

    def _values(self, column: pl.Series, rows: np.ndarray) -> list[Any]:
        return [python_value(v) for v in column.gather(rows).to_list()]


def _every_key_given(jobs: Sequence[dict[str, Any]], names: Sequence[str], defaults: Sequence[Any],
                     given: set[str]) -> list[Sequence[Any]]:
    """The columns of jobs that each name every one of ``given`` (a parameter none names is its
    default throughout): one look-up of all the names per job and one transpose, both in C."""
    picked = [name for name in names if name in given]
    columns = dict(zip(picked, zip(*map(itemgetter(*picked), jobs), strict=True), strict=True))
    return [columns[name] if name in given else [default] * len(jobs)
            for name, default in zip(names, defaults, strict=True)]


class Records(_Checks):
    """One check of a list of jobs, each a mapping of parameter values: an n-row table whose
    missing keys hold the defaults. Rows are numbered from ``start`` (a job's index in its batch).

    ``.params`` holds each valid job's parameters, completed and converted (``None`` for an
    invalid job); ``.failures`` the failure table.

    ``by_column``, if given, holds the same jobs' cells by parameter, in job order, for jobs that
    are every one a ``dict`` naming exactly those parameters, each a known one (what a caller
    that has checked that much gives, so the jobs are not walked again); ``types`` each such
    column's cell types, if known.
    """

    def __init__(self, jobs: Sequence[Any], spec: GeneratorSpec, constraints: Sequence[ConstraintLike] = (),
                 start: int = 0, *, by_column: Mapping[str, Sequence[Any]] | None = None,
                 types: Mapping[str, set[type]] | None = None) -> None:
        self.jobs, self.spec, self.start = jobs, spec, start
        self.compiled = prepared(spec, constraints)
        self.height = len(jobs)
        self.blocks, self.taken, self.duplicated = [], {}, set()
        self.rank = {name: i for i, name in enumerate(spec.names)}
        unknown = len(self.rank)
        names = self.names = tuple(spec.names)
        known = frozenset(names)
        defaults = tuple(p.default for p in spec)
        rows: list[tuple[Any, ...]] = []  # each job's cells in the spec's order, a missing key as its default
        raw: list[Sequence[Any]] | None = None
        given_names = set(by_column) if by_column is not None else \
            set(chain.from_iterable(jobs)) if set(map(type, jobs)) <= {dict} else None
        if by_column is not None:
            raw = [by_column[name] if name in by_column else [default] * len(jobs)
                   for name, default in zip(names, defaults, strict=True)]
        elif given_names is not None and given_names <= known:
            # Nearly every list of jobs: objects with known keys only. Gathered a column at a time, in C;
            # a parameter no job names is its default throughout.
            raw = [list(map(dict.get, jobs, repeat(name), repeat(default))) if name in given_names
                   else [default] * len(jobs) for name, default in zip(names, defaults, strict=True)] \
                if len(given_names) < 2 or set(map(len, jobs)) != {len(given_names)} else \
                _every_key_given(jobs, names, defaults, given_names)
        for i, given in enumerate(jobs if raw is None else ()):
            if type(given) is not dict and not isinstance(given, Mapping):  # the ABC check is slow: dicts first
                self._add([i], "", -1, "param_values", [None], job_message(not_an_object(given)))
                rows.append(defaults)
                continue
            if not known.issuperset(given):  # one set operation for the usual job, whose keys are all known
                for key in given:
                    if key not in known:
                        self._add([i], str(key), unknown, "unknown_column", [None],
                                  key_message(str(key), unknown_key(key, spec.name, spec.names)))
            rows.append(tuple(map(given.get, names, defaults)))
        if raw is None:
            raw = list(zip(*rows, strict=True)) if rows else [() for _ in names]  # the rows transposed to columns
        self.read: dict[str, Values] = {}
        for param, cells in zip(spec, raw, strict=True):
            if given_names is not None and param.name not in given_names and self.height:
                # No job names it: its default throughout, read once and repeated (as Python values too).
                one = read_values(cells[:1], param)
                read = self.read[param.name] = Values(np.repeat(one.codes, self.height),
                                                      np.repeat(one.present, self.height),
                                                      np.repeat(one.column, self.height), one.python() * self.height)
            else:
                read = self.read[param.name] = read_values(cells, param, None if types is None else
                                                           types.get(param.name))
            self._type_failures(param, read.codes, _picker(cells))
        whole = np.zeros(self.height, dtype=bool)  # rows refused as a whole (not an object, unknown keys)
        for block in self.blocks:
            if block.check in ("param_values", "unknown_column"):
                whole[block.rows] = True
        for param, cells in zip(spec, raw, strict=True):
            read = self.read[param.name]
            if not plainly_valid(param, read.column, read.present):  # else nothing to read row by row
                self._value_failures(param, read.column, read.present, _picker(cells))
        self.taken["(job)"] = whole
        self.clean = {name: self._constraint_column(read) for name, read in self.read.items()}
        self._constraint_failures(self.clean)
        bad = self._judged()
        self.valid = np.ones(self.height, dtype=bool) if bad is None else bad

    @cached_property
    def failures(self) -> pd.DataFrame:
        """The failure table (built when asked: a batch that passed needs none)."""
        start = self.start
        return assemble(self.blocks, pd.RangeIndex(start, start + self.height) if start else None)

    @cached_property
    def columns(self) -> dict[str, list[Any]]:
        """Every parameter's converted values as Python objects, by name in the spec's order."""
        return {name: read.python() for name, read in self.read.items()}

    @cached_property
    def params(self) -> list[dict[str, Any] | None]:
        """Each valid job's parameters, completed and converted (``None`` for an invalid job)."""
        names, columns = self.names, self.columns
        return [dict(zip(names, row, strict=True)) if ok else None
                for row, ok in zip(zip(*columns.values(), strict=True), self.valid.tolist(), strict=True)]

    @staticmethod
    def _constraint_column(read: Values) -> np.ndarray:
        """What a constraint reads: the converted values, a missing one as ``None``."""
        if read.present.all():
            return read.column
        column = read.column.astype(object)
        column[~read.present] = None
        return column

    def _values(self, column: np.ndarray, rows: np.ndarray) -> list[Any]:
        return [python_value(v) for v in column[rows].tolist()]


def run(df: Any, spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> Run:
    """Check a pandas or polars frame: ``.failures`` is the failure table, ``.cells`` the
    converted columns by position."""
    if isinstance(df, pd.DataFrame):
        return _PandasRun(df, spec, constraints)
    if isinstance(df, pl.DataFrame):
        return _PolarsRun(df, spec, constraints)
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(df).__name__}")
