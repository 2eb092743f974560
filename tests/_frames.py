"""Test helpers shared by the schema tests: pandas frames to polars without silent conversions,
generators whose joint constraints are rules, and valid values of a parameter (hypothesis)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl
from hypothesis import strategies as st

from infinityframe.params.spec import ParamSpec


def out_of_rule(param: ParamSpec) -> list[Any]:
    """Well-typed values that break a choice or the range: what the cell checks let through."""
    out: list[Any] = []
    if param.choices:
        out.append("NOT_A_CHOICE" if param.type == "str" else 7)
    if param.ranged:
        step = 1 if param.type == "int" else 0.5
        out += [param.max + step, param.min - step]  # type: ignore[operator]
    return out


def valid_values(param: ParamSpec) -> st.SearchStrategy[Any]:
    """Values the generator's rules accept for ``param``."""
    if param.choices:
        return st.sampled_from(param.choices)
    if param.type == "int":
        return st.integers(int(param.min), int(param.max))  # type: ignore[arg-type]
    if param.type == "float":
        return st.floats(param.min, param.max, allow_nan=False, allow_infinity=False)
    if param.type == "bool":
        return st.booleans()
    if param.type == "uuid":
        return st.none() | st.uuids().map(str)
    return st.text(max_size=8)


def to_polars(df: pd.DataFrame) -> pl.DataFrame:
    """``pl.from_pandas``, except that columns of mixed Python objects become polars Object columns.

    (``pl.from_pandas`` would turn ``[0.1, True]`` into ``[0.1, 1.0]``: a different frame.)
    """
    homogeneous = ("string", "integer", "floating", "mixed-integer-float", "boolean", "empty")
    series = []
    for name in df.columns:
        column = df[name]
        if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in homogeneous:
            series.append(pl.Series(name, column.tolist(), dtype=pl.Object))
        else:
            series.append(pl.from_pandas(df[[name]]).to_series())
    return pl.DataFrame(series)


def as_rules(meta: dict[str, Any]) -> dict[str, Any]:
    """A generator's metadata with its advisory constraints declared as rules.

    The built-in generators' joint constraints are advisory (the service accepts jobs that
    break them); the schema tests need a generator whose constraint is enforced, and this
    one is the same generator declaring it so.
    """
    return {**meta, "constraints": [{k: v for k, v in c.items() if k != "advisory"} for c in meta["constraints"]]}
