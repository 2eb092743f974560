"""How failures are worded, and the one failure table every path returns.

Every check (:mod:`.cells` for types, :mod:`.checks` for values and constraints) reports a
:class:`Block` — the rows that failed one check of one column — and this module turns blocks
into the table described in :mod:`infinityframe.params.schema`. A message is the row and
column (``"row 3, n"``) followed by the problem (``"must be ≤ 5, got 9"``); the problem alone
is what :func:`infinityframe.params.rules.check_value` returns for one value.

>>> from infinityframe.params.spec import ParamSpec
>>> cell_problem(ParamSpec("n", "int", 1, min=1, max=5), "in_range", 9)
'must be between 1 and 5 (inclusive), got 9'
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .cells import FALSE_TEXTS, PANDAS_STR, TRUE_TEXTS
from .numeric import NumberError, coerce_number
from .spec import CompiledConstraint, ParamSpec

__all__ = [
    "COLUMNS",
    "Block",
    "assemble",
    "cell_message",
    "cell_note",
    "cell_problem",
    "constraint_message",
    "duplicate_message",
    "job_message",
    "key_message",
    "not_an_object",
    "unevaluable_message",
    "unknown_key",
    "unknown_message",
    "where",
    "written_nan",
]

COLUMNS = ("row", "column", "check", "value", "message")

# A message names its row and column, then says what is wrong: ``f"{where(row, column)}: …"``.
Message = Callable[[Any, Any], str]

_EXPECTED = {"int": "an integer (3.0 and '3' count; 1.5, '1.5' and True do not)",
             "float": "a finite number ('0.5' counts; 'nan', 'inf' and True do not)",
             "bool": "True or False ('false', 0 and 1 do not count)",
             "str": "a string", "uuid": "a job id string or null"}


@dataclass(frozen=True)
class Block:
    """Failures sharing a column and a check: their rows, offending values and message builder.

    ``rows`` are positions; ``-1`` is the whole column.
    """

    rows: np.ndarray
    column: str
    rank: int  # sort position of the column: spec order, then other columns, then constraints
    check: str
    values: list[Any]  # Python objects (see cells.python_value), one per row
    message: Message


def where(row: Any, column: str) -> str:
    """The start of a message: the row (``None``: all rows) and the column."""
    return f"all rows, {column}" if row is None else f"row {row}, {column}"


def _listing(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:12])
    return f"[{shown}{', …' if len(values) > 12 else ''}]"


def _problems(param: ParamSpec) -> dict[str, Callable[[Any], str]]:
    """What is wrong with a value of ``param``, per check, in the checks' order (null, type, choices, range)."""
    lo, hi = param.min, param.max
    expected = _EXPECTED.get(param.type, "a value")
    choices = _listing(param.choices or ())
    return {
        "nullable": lambda v: f"is required and may not be null (type {param.type}, default {param.default!r})",
        "dtype": lambda v: f"must be {expected}, got {_shown(v)}{_reason(param, v)}",
        "finite": lambda v: f"must be a finite number, got {v!r}",
        "isin": lambda v: f"must be one of {choices}, got {v!r}",
        "in_range": lambda v: f"must be between {lo} and {hi} (inclusive), got {v!r}",
        "greater_than_or_equal_to": lambda v: f"must be ≥ {lo}, got {v!r}",
        "less_than_or_equal_to": lambda v: f"must be ≤ {hi}, got {v!r}",
    }


def cell_problem(param: ParamSpec, check: str, value: Any) -> str:
    """What is wrong with ``value`` for ``param`` under ``check``, without the row and column."""
    problem = _problems(param).get(check)
    return problem(value) if problem else f"fails the check {check}, got {value!r}"


def cell_message(param: ParamSpec, check: str) -> Message:
    """How to word a failing cell of ``param`` for a given check."""
    name = param.name
    problem = _problems(param).get(check) or (lambda v: f"fails the check {check}, got {v!r}")
    # One flat f-string per cell: a million failing cells are worded in about a second.
    return lambda row, v: f"row {row}, {name}: {problem(v)}"


def written_nan(text: str) -> bool:
    """Whether a cell of text spells NaN (``nan``, ``NaN``, ``NAN``...): a missing value written out."""
    return text.strip().lower() == "nan"


def cell_note(param: ParamSpec, text: str) -> str:
    """What a file's reader adds after the message of a failing cell it read as ``text`` ('' if nothing).

    The message itself is the one a frame's cell gets; this says what the file's cell said and
    how text is read, where that differs from a value in a frame.

    >>> cell_note(ParamSpec("on", "bool", False), "maybe")
    'a cell of text reads 1, t, true, y or yes as True and 0, f, false, n or no as False'
    >>> cell_note(ParamSpec("x", "float", 0.5), "NaN")
    "the cell reads 'NaN'; leave it empty for the default"
    """
    if written_nan(text):
        return f"the cell reads {text.strip()!r}; leave it empty for the default"
    if param.type == "bool":
        return f"a cell of text reads {_either(TRUE_TEXTS)} as True and {_either(FALSE_TEXTS)} as False"
    return ""


def _either(texts: frozenset[str]) -> str:
    ordered = sorted(texts)
    return ", ".join(ordered[:-1]) + f" or {ordered[-1]}"


def _shown(value: Any) -> str:
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:40]!r}… ({len(value):,} characters)"
    return repr(value)


def _reason(param: ParamSpec, value: Any) -> str:
    """DRF's reason a value is not a number (" (A valid integer is required.)"), or nothing."""
    if param.type not in ("int", "float"):
        return ""
    try:
        coerce_number(param.type, value)
    except NumberError as err:
        return f" ({err.reason})"
    except (TypeError, ValueError):
        return ""
    return " (beyond 64 bits)"


def _hint(label: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(label, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_message(label: str, generator: str, names: Sequence[str], allowed: Sequence[str]) -> Message:
    """Wording for a column that is neither a parameter nor a package column."""
    hint = _hint(label, names)
    return lambda row, value: (f"{where(row, label)}: {label!r} is not a parameter of {generator}{hint}. "
                               f"Drop or rename the column (besides parameters, only {', '.join(allowed)} "
                               "are allowed).")


def unknown_key(key: str, generator: str, names: Sequence[str]) -> str:
    """Wording for one job's key that is not a parameter (a list of dicts, a request body)."""
    return f"{key!r} is not a parameter of {generator}{_hint(str(key), names)}"


def job_message(problem: str) -> Message:
    """Wording for a problem of a whole job (a row of a list of jobs)."""
    return lambda row, value: f"row {row}: {problem}"


def key_message(key: str, problem: str) -> Message:
    """Wording for a problem of one key of one job (a cell of a list of jobs)."""
    return lambda row, value: f"{where(row, key)}: {problem}"


def not_an_object(given: Any) -> str:
    """Wording for a job whose ``param_values`` is not a mapping."""
    return f"param_values must be an object, got {type(given).__name__}"


def duplicate_message(label: str, count: int) -> Message:
    """Wording for a column name that appears more than once."""
    return lambda row, value: f"{where(row, label)}: the column appears {count} times; keep one of them."


def constraint_message(constraint: CompiledConstraint, column: str) -> Message:
    """Wording for a row that breaks a joint constraint; ``value`` is ``"a=1, b=2"`` (``None``: a callable)."""
    what = constraint.message or "the condition is false"
    return lambda row, value: (f"{where(row, column)}: breaks constraint {constraint.name}: {what} "
                               + (f"({constraint.description}; got {value})" if value is not None
                                  else "(the callable returned False for this row)"))


def unevaluable_message(constraint: CompiledConstraint, column: str, reason: str) -> Message:
    """Wording for a constraint that raised instead of answering."""
    return lambda row, value: (f"{where(row, column)}: constraint {constraint.name} ({constraint.description}) "
                               f"could not be evaluated: {reason}")


def assemble(blocks: Sequence[Block], labels: pd.Index | None = None) -> pd.DataFrame:
    """One row per failure, sorted by (row, column rank), insertion order breaking ties.

    ``labels``: the frame's index, when rows are named by label rather than position (a
    whole-column problem stays ``-1``).
    """
    if not blocks:  # the common case: a copy of one empty table beats building five columns
        return _empty_table().copy()
    rows = np.concatenate([b.rows.astype(np.int64) for b in blocks])
    ranks = np.concatenate([np.full(len(b.rows), b.rank) for b in blocks])
    order = np.lexsort((np.arange(len(rows)), ranks, rows))
    columns = [b.column for b in blocks for _ in range(len(b.rows))]
    checks = [b.check for b in blocks for _ in range(len(b.rows))]
    values = [v for b in blocks for v in b.values]  # already Python objects
    named = _names(rows, labels)
    messages = [b.message(None if r < 0 else named[r], v)
                for b in blocks for r, v in zip(b.rows.tolist(), b.values, strict=True)]
    picked = order.tolist()
    shown: Any = rows[order] if labels is None else _label_column(rows[order], labels)
    return pd.DataFrame({
        "row": shown,
        "column": pd.Series([columns[i] for i in picked], dtype=PANDAS_STR),
        "check": pd.Series([checks[i] for i in picked], dtype=PANDAS_STR),
        "value": pd.Series([values[i] for i in picked], dtype=object),
        "message": pd.Series([messages[i] for i in picked], dtype=PANDAS_STR),
    })


class _Positions(dict[int, int]):
    def __missing__(self, key: int) -> int:
        return key


def _names(rows: np.ndarray, labels: pd.Index | None) -> Any:
    """Position → what a message calls the row: its label, or the position itself."""
    if labels is None:
        return _Positions()
    return labels.tolist()


def _label_column(rows: np.ndarray, labels: pd.Index) -> pd.Series:
    """The ``row`` column for a labelled frame: each failure's index label, ``-1`` for a whole column."""
    whole = rows < 0
    if not whole.any():
        return pd.Series(labels.take(rows)).reset_index(drop=True)
    if pd.api.types.is_integer_dtype(labels.dtype):
        return pd.Series(np.where(whole, -1, labels.to_numpy()[np.maximum(rows, 0)]), dtype=np.int64)
    taken = labels.to_numpy(dtype=object)[np.maximum(rows, 0)]
    taken[whole] = -1
    return pd.Series(taken, dtype=object)


@functools.cache
def _empty_table() -> pd.DataFrame:
    return assemble([Block(np.zeros(0, dtype=np.int64), "", 0, "", [], lambda row, value: "")])
