"""The one-pass look at whole columns never misses a value failure: every column holding a value
outside its choices or range is named, pandas and polars, whatever the column's dtype."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from infinityframe.params.checks import suspect_columns
from infinityframe.params.spec import GeneratorSpec, ParamSpec

SPEC = GeneratorSpec("demo", (
    ParamSpec("n", "int", 1, min=1, max=5),
    ParamSpec("x", "float", 0.5, min=0.0, max=1.0),
    ParamSpec("low", "float", 2.0, min=1.0),
    ParamSpec("rate", "int", 12, choices=(6, 12, 30)),
    ParamSpec("room", "str", "GYM", choices=("GYM", "OFFICE")),
    ParamSpec("flag", "bool", True, choices=(True,)),
    ParamSpec("free", "float", 0.0),
))
VALID = {"n": [1, 5, 3], "x": [0.0, 1.0, 0.25], "low": [1.0, 9.0, 2.0], "rate": [6, 30, 12],
         "room": ["GYM", "OFFICE", "GYM"], "flag": [True, True, True], "free": [-1e9, 0.0, 1e9]}
BROKEN = {"n": 6, "x": 1.5, "low": 0.5, "rate": 7, "room": "HALL", "flag": False}


def frames(data: dict[str, list[object]]) -> list[object]:
    pandas = pd.DataFrame(data).astype({"room": "str"})
    return [{name: pandas[name] for name in data}, {name: pl.Series(name, values) for name, values in data.items()}]


@pytest.mark.parametrize("kind", [0, 1], ids=["pandas", "polars"])
def test_a_valid_frame_has_no_suspect(kind: int) -> None:
    assert suspect_columns(SPEC, frames(VALID)[kind]) == set()


@pytest.mark.parametrize("kind", [0, 1], ids=["pandas", "polars"])
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_one_bad_value_names_its_column(kind: int, name: str) -> None:
    data = {k: list(v) for k, v in VALID.items()}
    data[name][1] = BROKEN[name]
    assert suspect_columns(SPEC, frames(data)[kind]) == {name}


def test_narrow_dtypes_and_missing_values() -> None:
    columns = {"n": pl.Series("n", [1, 9], dtype=pl.Int8), "x": pl.Series("x", [0.5, None], dtype=pl.Float32),
               "room": pl.Series("room", ["GYM", "HALL"], dtype=pl.Categorical)}
    assert suspect_columns(SPEC, columns) == {"n", "room"}
    # A NaN cannot be judged by a minimum and a maximum: it is named, and the row-by-row check decides.
    assert suspect_columns(SPEC, {"x": pd.Series([0.5, math.nan])}) == {"x"}
    assert suspect_columns(SPEC, {"n": pd.Series(np.array([], dtype=np.int64))}) == set()
