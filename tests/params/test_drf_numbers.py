"""Numbers read as the real service's DRF IntegerField and FloatField read them (issue 14, item 3).

One rule (``params/numeric.py``) behind every path: the service's and the client's per-job check
(``rules.validate_job``), samplers, frames (pandas and polars) and the CLI's CSV cells.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from infinityframe.cli import read_jobs
from infinityframe.errors import ValidationError
from infinityframe.local.generators import get
from infinityframe.params.numeric import NumberError, coerce_number
from infinityframe.params.rules import validate_job
from infinityframe.params.samplers import as_sampler
from infinityframe.params.schema import failure_cases, validate_frame
from infinityframe.params.spec import GeneratorSpec, ParamSpec

INVALID_INT, INVALID_FLOAT, TOO_LARGE = "A valid integer is required.", "A valid number is required.", \
    "String value too large."
SHAPES_META = get("shapes-v0.1.0").metadata()
SHAPES = GeneratorSpec.from_metadata(SHAPES_META)


class TestCoerceNumber:
    @pytest.mark.parametrize(("value", "expected"), [
        (2, 2), (-7, -7), (0, 0), (2.0, 2), (-0.0, 0), (np.int64(5), 5), (np.float32(4.0), 4),
        ("2", 2), (" 2 ", 2), ("\t2\n", 2), ("+2", 2), ("-2", -2), ("007", 7),
        ("2.0", 2), ("2.", 2), ("2.000", 2), (" 2.0 ", 2), ("-3.0", -3),
        ("1" * 1000, int("1" * 1000)),
        (10**30, 10**30), (1e16, 10**16),
    ])
    def test_int_accepts(self, value: Any, expected: int) -> None:
        got = coerce_number("int", value)
        assert got == expected and type(got) is int

    @pytest.mark.parametrize(("value", "reason"), [
        (True, INVALID_INT), (False, INVALID_INT), (np.True_, INVALID_INT),
        (2.5, INVALID_INT), ("2.5", INVALID_INT), ("2.05", INVALID_INT), ("1e3", INVALID_INT),
        ("", INVALID_INT), ("   ", INVALID_INT), ("abc", INVALID_INT), (".0", INVALID_INT), ("2 0", INVALID_INT),
        ("1_000", INVALID_INT), ("٢", INVALID_INT), ("0x10", INVALID_INT), ("True", INVALID_INT),
        (math.nan, INVALID_INT), (math.inf, INVALID_INT), ("nan", INVALID_INT), ("inf", INVALID_INT),
        ([2], INVALID_INT), ({"n": 2}, INVALID_INT), (b"2", INVALID_INT),
        ("1" * 1001, TOO_LARGE), (" " * 999 + "22", TOO_LARGE),
    ])
    def test_int_refuses(self, value: Any, reason: str) -> None:
        with pytest.raises(NumberError) as info:
            coerce_number("int", value)
        assert info.value.reason == reason == str(info.value)

    @pytest.mark.parametrize(("value", "expected"), [
        (3.5, 3.5), (-0.25, -0.25), (3, 3), (np.float32(0.5), 0.5), (np.int64(3), 3),
        ("3.5", 3.5), (" 3.5", 3.5), ("3.5 ", 3.5), ("1e3", 1000.0), ("1E-3", 0.001), ("-2.5e+2", -250.0),
        ("3", 3.0), ("3.", 3.0), (".5", 0.5), ("+.5", 0.5), ("1e308", 1e308),
    ])
    def test_float_accepts(self, value: Any, expected: float) -> None:
        got = coerce_number("float", value)
        assert got == expected
        # A string becomes a float; a JSON number stays as it came (3 is 3, 3.5 is 3.5).
        assert type(got) is (float if isinstance(value, (str, float, np.floating)) else int)

    @pytest.mark.parametrize(("value", "reason"), [
        (True, INVALID_FLOAT), (False, INVALID_FLOAT), (math.nan, INVALID_FLOAT), (math.inf, INVALID_FLOAT),
        (-math.inf, INVALID_FLOAT), (np.float64("nan"), INVALID_FLOAT),
        ("nan", INVALID_FLOAT), ("NaN", INVALID_FLOAT), ("inf", INVALID_FLOAT), ("-Infinity", INVALID_FLOAT),
        ("1e999", INVALID_FLOAT), ("", INVALID_FLOAT), ("abc", INVALID_FLOAT), ("1,5", INVALID_FLOAT),
        ("1_000.5", INVALID_FLOAT), ("0x1p3", INVALID_FLOAT), (".", INVALID_FLOAT), ("e3", INVALID_FLOAT),
        (None, INVALID_FLOAT), ([1.5], INVALID_FLOAT),
        ("1" * 1001, TOO_LARGE),
    ])
    def test_float_refuses(self, value: Any, reason: str) -> None:
        with pytest.raises(NumberError) as info:
            coerce_number("float", value)
        assert info.value.reason == reason

    def test_only_numbers(self) -> None:
        with pytest.raises(ValueError, match="int or float"):
            coerce_number("str", "2")


class TestJobRules:
    """``rules.validate_job``: the service's check and the client's list-of-dicts check."""

    def test_numeric_strings_are_stored_as_numbers(self) -> None:
        params, errors = validate_job(SHAPES_META, 0, {"num_images": "2", "min_size": " 0.25", "max_size": "5e-1"})
        assert errors == []
        assert params is not None
        assert (params["num_images"], params["min_size"], params["max_size"]) == (2, 0.25, 0.5)
        assert type(params["num_images"]) is int and type(params["min_size"]) is float

    def test_range_and_choices_apply_to_the_number(self) -> None:
        _, errors = validate_job(SHAPES_META, 4, {"num_images": "101", "image_width": "1024.0"})
        assert [(e["job"], e["param"], e["message"]) for e in errors] == [
            (4, "num_images", "row 4, num_images: must be between 1 and 100 (inclusive), got '101'")]

    @pytest.mark.parametrize(("value", "reason"), [
        (True, INVALID_INT), ("2.5", INVALID_INT), (2.5, INVALID_INT), ("1" * 1001, TOO_LARGE)])
    def test_int_refusals_name_job_parameter_and_reason(self, value: Any, reason: str) -> None:
        params, errors = validate_job(SHAPES_META, 3, {"num_images": value})
        assert params is None and len(errors) == 1
        assert (errors[0]["job"], errors[0]["param"]) == (3, "num_images")
        message = errors[0]["message"]
        assert message.startswith("row 3, num_images: must be an integer") and message.endswith(f"({reason})")
        assert len(message) < 200  # a huge string is cut short, not echoed

    @pytest.mark.parametrize("value", [True, "nan", "inf", "1e999", "x"])
    def test_float_refusals(self, value: Any) -> None:
        params, errors = validate_job(SHAPES_META, 0, {"lighting_power": value})
        assert params is None
        assert errors[0]["param"] == "lighting_power" and errors[0]["message"].endswith(f"({INVALID_FLOAT})")

    def test_a_nan_is_a_missing_value_as_in_a_frame(self) -> None:
        """A list of dicts is read as a frame's rows: NaN is pandas' missing value, so it is a null."""
        params, errors = validate_job(SHAPES_META, 0, {"lighting_power": math.nan})
        assert params is None
        assert (errors[0]["check"], errors[0]["message"]) == (
            "nullable", "row 0, lighting_power: is required and may not be null (type float, default 400.0)")


class TestSamplers:
    def test_a_fixed_numeric_string_is_drawn_as_its_number(self, rng: np.random.Generator) -> None:
        reps = ParamSpec("num_reps", "int", 2, 1, 20)
        assert as_sampler("3", reps).draw(rng, 2).tolist() == [3, 3]
        assert sorted(set(as_sampler(["1", "2.0"], reps).draw(rng, 50).tolist())) == [1, 2]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _as(frame: pd.DataFrame, backend: str) -> Any:
    return pl.from_pandas(frame) if backend == "polars" else frame


@pytest.mark.parametrize("backend", ["pandas", "polars"])
class TestFrames:
    def test_string_columns_are_read_as_numbers(self, backend: str) -> None:
        jobs = pd.DataFrame({"num_images": ["2", " 3 ", "4.0"], "lighting_power": ["100", "1e3", " 2.5"]})
        checked = validate_frame(_as(jobs, backend), SHAPES)
        back = checked.to_pandas() if backend == "polars" else checked
        assert back["num_images"].tolist() == [2, 3, 4] and str(back["num_images"].dtype) == "int64"
        assert back["lighting_power"].tolist() == [100.0, 1000.0, 2.5]
        assert str(back["lighting_power"].dtype) == "float64"

    def test_bad_strings_name_row_and_column(self, backend: str) -> None:
        jobs = pd.DataFrame({"num_images": ["2", "2.5", "1" * 1001], "lighting_power": ["1", "nan", "abc"]})
        found = failure_cases(_as(jobs, backend), SHAPES)
        assert list(zip(found["row"], found["column"], found["check"], strict=True)) == [
            (1, "num_images", "dtype"), (1, "lighting_power", "dtype"),
            (2, "num_images", "dtype"), (2, "lighting_power", "dtype")]
        messages = found["message"].tolist()
        assert messages[0].startswith("row 1, num_images: must be an integer")
        assert messages[0].endswith(f"got '2.5' ({INVALID_INT})")
        assert messages[1].endswith(f"got 'nan' ({INVALID_FLOAT})")
        assert messages[2].endswith(f"(1,001 characters) ({TOO_LARGE})")
        with pytest.raises(ValidationError, match="row 1, num_images"):
            validate_frame(_as(jobs, backend), SHAPES)

    def test_mixed_object_column(self, backend: str) -> None:
        if backend == "polars":
            pytest.skip("a polars column holds one type")
        jobs = pd.DataFrame({"num_images": pd.Series([1, "2", 3.0, True], dtype=object)})
        found = failure_cases(jobs, SHAPES)
        assert list(zip(found["row"], found["column"], strict=True)) == [(3, "num_images")]
        assert validate_frame(jobs.iloc[:3], SHAPES)["num_images"].tolist() == [1, 2, 3]


class TestCsv:
    def test_cells_follow_the_same_rule(self, tmp_path: Path) -> None:
        (tmp_path / "jobs.csv").write_text("num_images,lighting_power\n2,1e3\n3.0, 2.5\n")
        jobs = validate_frame(read_jobs(tmp_path / "jobs.csv", SHAPES), SHAPES)
        assert jobs["num_images"].tolist() == [2, 3] and jobs["lighting_power"].tolist() == [1000.0, 2.5]

    @pytest.mark.parametrize(("cell", "column", "reason"), [
        ("2.5", "num_images", INVALID_INT), ("1e3", "num_images", INVALID_INT), ("True", "num_images", INVALID_INT),
        ("inf", "lighting_power", INVALID_FLOAT),
        ("1" * 1001, "lighting_power", TOO_LARGE)])
    def test_refusals_name_line_and_column(self, tmp_path: Path, cell: str, column: str, reason: str) -> None:
        other = "lighting_power" if column == "num_images" else "num_images"
        (tmp_path / "jobs.csv").write_text(f"{column},{other}\n1,1\n{cell},1\n")
        with pytest.raises(ValidationError) as info:
            read_jobs(tmp_path / "jobs.csv", SHAPES)
        assert f"line 3: row 1, {column}:" in str(info.value)
        assert f"({reason})" in str(info.value)
