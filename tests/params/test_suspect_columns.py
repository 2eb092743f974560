"""The one-pass look at whole columns never misses a value failure: every column holding a value
outside its choices or range is named, pandas and polars, whatever the column's dtype."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from infinityframe.params.checks import summarise_polars, suspect_columns
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


KINDS = ["pandas", "polars", "categorical", "enum", "summarised"]


def frames(data: dict[str, list[object]]) -> list[object]:
    """The same columns five ways: pandas, polars, text as a Categorical of the choices, as an Enum
    of them, and polars judged from the one query over the whole frame (``summarised``)."""
    pandas = pd.DataFrame(data).astype({"room": "str"})
    polars = {name: pl.Series(name, values) for name, values in data.items()}
    categories = sorted({"GYM", "OFFICE", *data["room"]})  # a value outside the choices is a category too
    enum = {**polars, "room": polars["room"].cast(pl.Enum(categories))}
    return [{name: pandas[name] for name in data}, polars,
            {**{name: pandas[name] for name in data}, "room": pandas["room"].astype(pd.CategoricalDtype(categories))},
            enum, enum]


def suspects(data: dict[str, list[object]], kind: int) -> set[str]:
    columns = frames(data)[kind]
    assert isinstance(columns, dict)
    known = summarise_polars(pl.DataFrame(list(columns.values())), SPEC) if KINDS[kind] == "summarised" else None
    return suspect_columns(SPEC, columns, known)


@pytest.mark.parametrize("kind", range(len(KINDS)), ids=KINDS)
def test_a_valid_frame_has_no_suspect(kind: int) -> None:
    assert suspects(VALID, kind) == set()


def test_an_enum_or_categorical_of_allowed_text_is_judged_by_its_dtype() -> None:
    allowed = pd.Series(pd.Categorical(["GYM"] * 3, categories=["OFFICE", "GYM"]))
    assert suspect_columns(SPEC, {"room": allowed}) == set()
    # An unused category outside the choices is enough to make it a suspect: the rows decide then.
    assert suspect_columns(SPEC, {"room": allowed.cat.add_categories(["HALL"])}) == {"room"}
    enum = pl.Series("room", ["GYM"], dtype=pl.Enum(["GYM", "HALL"]))
    assert suspect_columns(SPEC, {"room": enum}) == {"room"}
    assert summarise_polars(pl.DataFrame([enum.cast(pl.Enum(["GYM", "OFFICE"]))]), SPEC) == {}


def test_the_one_query_sees_nan_and_infinity() -> None:
    frame = pl.DataFrame({"x": [0.5, math.nan], "low": [1.0, math.inf], "free": [1.0, None], "n": [1, 2]})
    found = summarise_polars(frame, SPEC)
    assert found["x"].finite is False and found["low"].finite is False and found["free"].finite is True
    assert (found["n"].low, found["n"].high, found["n"].finite) == (1, 2, None)
    assert found["free"].outside(SPEC["free"]) is False and found["x"].outside(SPEC["x"]) is None


@pytest.mark.parametrize("kind", range(len(KINDS)), ids=KINDS)
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_one_bad_value_names_its_column(kind: int, name: str) -> None:
    data = {k: list(v) for k, v in VALID.items()}
    data[name][1] = BROKEN[name]
    assert suspects(data, kind) == {name}


def test_narrow_dtypes_and_missing_values() -> None:
    columns = {"n": pl.Series("n", [1, 9], dtype=pl.Int8), "x": pl.Series("x", [0.5, None], dtype=pl.Float32),
               "room": pl.Series("room", ["GYM", "HALL"], dtype=pl.Categorical)}
    assert suspect_columns(SPEC, columns) == {"n", "room"}
    # A NaN cannot be judged by a minimum and a maximum: it is named, and the row-by-row check decides.
    assert suspect_columns(SPEC, {"x": pd.Series([0.5, math.nan])}) == {"x"}
    assert suspect_columns(SPEC, {"n": pd.Series(np.array([], dtype=np.int64))}) == set()
