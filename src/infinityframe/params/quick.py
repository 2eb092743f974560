"""A vectorised pre-pass that decides, without pandera, that a frame breaks none of its rules.

A validation run (:mod:`infinityframe.params.validation`) first reads every parameter column
cell by cell (types, nulls, infinities) and converts it losslessly. If nothing failed there,
the pandera schema would still check each converted column's dtype, nulls, choices and range,
and the joint constraints. This module makes those same checks in a few vectorised passes —
a minimum and a maximum per number column, one Arrow ``is_in`` per string column, each
constraint once — at a fraction of pandera's per-check cost.

It only ever answers "certainly valid": anything it cannot judge the same way as pandera
(an unexpected dtype, choices of mixed types, a constraint that raises) counts as a failure,
and then the full pandera run finds, words and places every failure. So a valid frame costs
the pre-pass alone and an invalid one the pre-pass plus what it cost before.

>>> import pandas as pd
>>> from infinityframe.params.spec import GeneratorSpec, ParamSpec
>>> spec = GeneratorSpec("demo", (ParamSpec("n", "int", 1, min=1, max=3),))
>>> pandas_passes({"n": pd.Series([1, 3])}, spec, [], 2), pandas_passes({"n": pd.Series([1, 4])}, spec, [], 2)
(True, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from .compiled import complete, reads
from .failures import PANDAS_STR, pandas_dtype, polars_dtype
from .spec import CompiledConstraint, GeneratorSpec, ParamSpec

__all__ = ["pandas_passes", "polars_passes"]

# Up to this many choices, ``==`` per choice beats np.isin's sort or table.
_FEW_CHOICES = 8


def _numbers_pass(values: np.ndarray, param: ParamSpec) -> bool:
    """Choices and range of a number or bool column's non-null values (pandera's isin,
    in_range, ge and le, which ignore nulls)."""
    if not len(values):
        return True
    if param.choices is not None:
        if not param.choices:
            return False  # nothing is allowed: pandera names every cell
        if param.type == "bool":
            if not all(isinstance(c, bool) for c in param.choices):
                return False
        elif not all(isinstance(c, Real) and not isinstance(c, bool) for c in param.choices):
            return False  # choices of mixed types: let pandera judge
        allowed = np.asarray(param.choices)
        if len(allowed) <= _FEW_CHOICES:
            ok = values == allowed[0]
            for choice in allowed[1:]:
                ok |= values == choice
        else:
            ok = np.isin(values, allowed)
        if not ok.all():
            return False
    if param.type in ("int", "float"):
        if param.min is not None and not values.min() >= param.min:
            return False
        if param.max is not None and not values.max() <= param.max:
            return False
    return True


def _strings_pass(strings: pa.Array | pa.ChunkedArray, param: ParamSpec) -> bool:
    """Choices of a string column's non-null values (pandera's isin ignores nulls)."""
    if param.choices is None:
        return True
    if not all(isinstance(c, str) for c in param.choices):
        return False
    if strings.null_count:
        strings = pc.drop_null(strings)
    if not len(strings):
        return True
    allowed = pa.array(list(param.choices), type=strings.type)
    return bool(pc.all(pc.is_in(strings, value_set=allowed)).as_py())


def _pandas_column_passes(series: pd.Series, param: ParamSpec) -> bool:
    if series.dtype != pandas_dtype(param) and not (param.type == "uuid" and series.dtype == PANDAS_STR):
        return False
    if param.type in ("str", "uuid"):
        strings = pa.array(series.array)  # the Arrow data behind pandas' str dtype, not a copy
        return (param.nullable or not strings.null_count) and _strings_pass(strings, param)
    if not isinstance(series.dtype, np.dtype):  # pandas' nullable Int64 or boolean
        missing = series.isna().to_numpy()
        if missing.any() and not param.nullable:
            return False
        values = series.array[~missing].to_numpy(dtype=np.int64 if param.type == "int" else np.bool_)
        return _numbers_pass(values, param)
    values = series.to_numpy()
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        if missing.any():
            if not param.nullable:
                return False
            values = values[~missing]
    return _numbers_pass(values, param)


def _polars_column_passes(series: pl.Series, param: ParamSpec) -> bool:
    if series.dtype != polars_dtype(param):
        return False
    if series.null_count():
        if not param.nullable:
            return False
        series = series.drop_nulls()
    if param.type in ("str", "uuid"):
        if param.choices is None:
            return True
        # polars' own is_in: its strings would have to be copied to reach Arrow's.
        return all(isinstance(c, str) for c in param.choices) and bool(series.is_in(list(param.choices)).all())
    if param.type == "float" and series.is_nan().any():
        return False  # pandera's polars backend may count a NaN as null; let it judge
    if param.choices is None and param.type == "bool":
        return True  # the dtype was all there was to check
    return _numbers_pass(series.to_numpy(), param)


def _constraints_pass(frame: pd.DataFrame, spec: GeneratorSpec, compiled: Sequence[CompiledConstraint]) -> bool:
    for constraint in compiled:
        try:
            holds = constraint.check(complete(frame, spec, reads(constraint, spec)))
        except Exception:  # pandera reports it as a constraint that could not be evaluated
            return False
        if not np.asarray(holds, dtype=bool).all():
            return False
    return True


def pandas_passes(clean: Mapping[str, pd.Series], spec: GeneratorSpec, compiled: Sequence[CompiledConstraint],
                  height: int) -> bool:
    """Whether the internal pandas schema would pass these converted columns (each on a RangeIndex).

    ``True`` only when certain; ``False`` when something fails or cannot be judged here.
    """
    if not all(_pandas_column_passes(series, spec[name]) for name, series in clean.items()):
        return False
    if not compiled:
        return True
    frame = pd.DataFrame({name: series.array for name, series in clean.items()}, index=pd.RangeIndex(height),
                         copy=False)
    return _constraints_pass(frame, spec, compiled)


def polars_passes(clean: Mapping[str, pl.Series], spec: GeneratorSpec, compiled: Sequence[CompiledConstraint],
                  height: int) -> bool:
    """Whether the internal polars schema would pass these converted columns.

    ``True`` only when certain; ``False`` when something fails or cannot be judged here.
    """
    if not all(_polars_column_passes(series, spec[name]) for name, series in clean.items()):
        return False
    for constraint in compiled:
        # As the schema's check does: the columns it reads cross over to pandas, defaults fill the rest.
        present = [name for name in reads(constraint, spec) if name in clean]
        table: Any = (pl.DataFrame([clean[name] for name in present]).to_pandas() if present
                      else pd.DataFrame(index=range(height)))
        if not _constraints_pass(table, spec, [constraint]):
            return False
    return True
