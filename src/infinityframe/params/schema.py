"""pandera schemas for a generator's parameters, and the tidy table of what breaks them.

:func:`build_schema` and :func:`build_polars_schema` declare a generator's rules as pandera
schemas; :func:`failure_cases` and :func:`validate_frame` run them on a frame with the service's
strictness (``rules.py``): a value is never converted unless nothing is lost, so ``"3"`` is not
an int, ``"false"`` is not a bool and ``True`` is not a number, while 3.0 is a fine 3.

The failure table has one row per failure and the same columns, dtypes and values for a pandas
frame and for ``pl.from_pandas`` of it:

``row``
    The row's index label for a pandas frame (its position when the index is the default
    ``RangeIndex``), its 0-based row number for a polars frame, a job's index in its batch for a
    list of jobs; ``-1`` for a problem of a whole column (an unknown or duplicated column, a
    constraint that could not be evaluated).
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

``params/`` reads as declare, execute, report: ``spec.py`` and ``expressions.py`` declare a
generator's rules; ``cells.py`` reads and converts cells (the one coercion table),
``checks.py`` runs the value checks and joint constraints on whole columns, and
``validation.py`` runs both on a frame or a list of jobs; ``report.py`` words every failure
and builds this table. ``pandera_schemas.py`` turns the same declaration into the pandera
schemas users get as ``sesh.schema``.
"""


from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import polars as pl

from ..errors import ValidationError
from .compiled import ConstraintLike, compile_all
from .spec import GeneratorSpec
from .validation import run

if TYPE_CHECKING:
    import pandera.pandas as pa
    import pandera.polars as pap

__all__ = ["build_polars_schema", "build_schema", "failure_cases", "validate_frame"]

Frame = TypeVar("Frame", pd.DataFrame, pl.DataFrame)


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
    from .pandera_schemas import pandas_schema  # pandera loads with the first schema asked for

    return pandas_schema(spec, compile_all(spec, constraints))


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
    from .pandera_schemas import polars_schema

    return polars_schema(spec, compile_all(spec, constraints))



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
        Columns ``row`` (the index label, or the row number; -1 for a whole column), ``column``,
        ``check``, ``value`` and ``message``, as described in the module docstring; empty when the frame is valid. The
        same table for a pandas frame and for ``pl.from_pandas`` of it.

    Examples
    --------
    >>> from infinityframe.params.spec import GeneratorSpec, ParamSpec
    >>> spec = GeneratorSpec("demo", (ParamSpec("n", "int", 1, min=1, max=3),))
    >>> failure_cases(pd.DataFrame({"n": [1, 5, "2.5"]}), spec)[["row", "column", "check", "value"]]
       row column     check value
    0    1      n  in_range     5
    1    2      n     dtype   2.5
    """
    return _run_checked(df, spec, constraints).failures


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_text(df: pd.DataFrame | pl.DataFrame, spec: GeneratorSpec) -> ValidationError:
    """The error for text that is not valid Unicode (lone surrogates): it cannot be stored or sent."""
    found: list[str] = []
    if isinstance(df, pd.DataFrame):  # polars strings are always valid UTF-8
        for pos, label in enumerate(df.columns):
            for row, value in enumerate(df.iloc[:, pos].astype(object).tolist()):
                if isinstance(value, str) and not _encodable(value):
                    found.append(f"row {row}, {label}")
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    return ValidationError(
        f"Job parameters for {spec.name} hold text that is not valid Unicode (a lone surrogate, as a bad "
        f"decode leaves): {shown or 'a column label or category'}. Fix or drop those cells; nothing was sent.")


def _run_checked(df: pd.DataFrame | pl.DataFrame, spec: GeneratorSpec, constraints: Sequence[ConstraintLike]) -> Any:
    try:
        return run(df, spec, constraints)
    except UnicodeEncodeError:
        raise _bad_text(df, spec) from None


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
    checked = _run_checked(df, spec, constraints)
    if len(checked.failures):
        raise ValidationError(_summary(checked.failures, spec), failure_cases=checked.failures)
    changed = {pos: cells.column for pos, cells in checked.cells.items() if cells.changed}
    if isinstance(df, pl.DataFrame):
        return df.with_columns(list(changed.values())) if changed else df.clone()
    out = df.copy(deep=False)  # copy-on-write: replacing columns below leaves ``df`` untouched
    for pos, column in changed.items():
        # A bare object array would be read as strings (pandas' str dtype); a Series keeps its dtype.
        out.isetitem(pos, column.set_axis(out.index) if column.dtype == object else column.array)
    return out
