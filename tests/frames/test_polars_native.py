"""Every verb on a polars DataFrame or LazyFrame answers in polars, in the input's own dtypes.

Against the real local service: the frame carries a Categorical, an Enum and an Int32, the
dtypes a polars user picks and expects back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import infinityframe as inf
from _service import RunningService

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}
SCENES = ["BEDROOM_2", "BEDROOM_4", "GYM_1", "LIVINGROOM_1", "OFFICE_1"]


@pytest.fixture
def sesh(service: RunningService) -> inf.Session:
    return inf.Session(service.token, "stickfit-v0.1.0", server=service.url)


def typed(sesh: inf.Session, n: int = 4) -> pl.DataFrame:
    """A valid frame in the dtypes a polars user would choose."""
    jobs = sesh.sample(n, seed=5, backend="polars", **SMALL)
    assert isinstance(jobs, pl.DataFrame)
    return jobs.with_columns(
        pl.col("exercise").cast(pl.Categorical),
        pl.col("scene").cast(pl.Enum(SCENES)),
        pl.col("num_reps").cast(pl.Int32),
    )


@pytest.fixture(params=["DataFrame", "LazyFrame"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def as_kind(df: pl.DataFrame, kind: str) -> pl.DataFrame | pl.LazyFrame:
    return df.lazy() if kind == "LazyFrame" else df


def eager(result: Any, kind: str) -> pl.DataFrame:
    """The result, checked to be of the input's kind, as a DataFrame."""
    expected = pl.LazyFrame if kind == "LazyFrame" else pl.DataFrame
    assert type(result) is expected or (kind == "DataFrame" and isinstance(result, pl.DataFrame)), type(result)
    return result.collect() if isinstance(result, pl.LazyFrame) else result


def assert_kept(result: pl.DataFrame, given: pl.DataFrame) -> None:
    for name, dtype in given.schema.items():
        assert result.schema[name] == dtype, f"{name}: {result.schema[name]} instead of {dtype}"


@pytest.fixture
def no_pandas(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail on any conversion of a polars frame or series to pandas."""
    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a polars input went through pandas")

    monkeypatch.setattr(pl.DataFrame, "to_pandas", refuse)
    monkeypatch.setattr(pl.Series, "to_pandas", refuse)
    yield


class TestVerbsAnswerInPolars:
    def test_validate_keeps_every_dtype(self, sesh: inf.Session, kind: str, no_pandas: None) -> None:
        given = typed(sesh)
        result = eager(as_kind(given, kind).infinity.validate(sesh), kind)
        assert_kept(result, given)
        assert result.equals(given)

    def test_with_defaults_stays_lazy_and_keeps_dtypes(self, sesh: inf.Session, kind: str, no_pandas: None) -> None:
        given = typed(sesh).select("exercise", "scene", "num_reps")
        result = as_kind(given, kind).infinity.with_defaults(sesh)
        assert_kept(eager(result, kind), given)
        assert eager(result, kind)["camera_distance"].to_list() == [3.0] * 4  # the default, added

    def test_errors_is_a_polars_failure_table(self, sesh: inf.Session, kind: str, no_pandas: None) -> None:
        bad = typed(sesh).with_columns(pl.when(pl.int_range(pl.len()) == 2).then(99).otherwise(pl.col("num_reps"))
                                       .cast(pl.Int32).alias("num_reps"))
        table = eager(as_kind(bad, kind).infinity.errors(sesh), kind)
        assert table.columns == ["row", "column", "check", "value", "message"]
        assert table.select("row", "column", "check").rows() == [(2, "num_reps", "in_range")]
        assert table["message"][0] == "row 2, num_reps: must be between 1 and 20 (inclusive), got 99"

    def test_estimate_adds_one_column(self, sesh: inf.Session, kind: str, no_pandas: None) -> None:
        given = typed(sesh)
        result = eager(as_kind(given, kind).infinity.estimate(sesh), kind)
        assert_kept(result, given)
        assert result.columns == [*given.columns, "estimated_samples"]
        assert result.schema["estimated_samples"] == pl.Int64 and (result["estimated_samples"] > 0).all()

    def test_fill_keeps_given_dtypes(self, sesh: inf.Session, kind: str) -> None:
        given = typed(sesh).select("exercise", "scene", "num_reps", "camera_distance").with_columns(
            pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col("camera_distance"))
            .alias("camera_distance"))
        result = eager(as_kind(given, kind).infinity.fill(sesh, seed=0), kind)
        assert_kept(result, given)
        assert result["camera_distance"].null_count() == 0 and set(sesh.spec.names) <= set(result.columns)
        assert result["camera_distance"][0] == given["camera_distance"][0]  # given cells are kept

    def test_dry_run_adds_its_columns(self, sesh: inf.Session, kind: str) -> None:
        given = typed(sesh)
        result = eager(as_kind(given, kind).infinity.dry_run(sesh), kind)
        assert_kept(result, given)
        assert result.columns[:len(given.columns)] == given.columns
        assert result["valid"].all() and not result["already_submitted"].any()

    def test_coverage_is_polars(self, sesh: inf.Session, kind: str) -> None:
        result = eager(as_kind(typed(sesh, 16), kind).infinity.coverage(sesh), kind)
        assert "camera_distance" in result["parameter"].to_list()


def test_join_answers_in_the_callers_kind(sesh: inf.Session, kind: str, tmp_path: Path) -> None:
    given = typed(sesh, 2)
    batch = given.infinity.submit(sesh, name="polars native join", preview=True, mode="force")
    batch.wait(progress=False)
    results = batch.results(tmp_path / "results")
    # The frame that was submitted (no job_id), with a column the user added since, matched by content.
    noted = given.with_columns(pl.Series("note", ["take 0", "take 1"]))
    joined = eager(as_kind(noted, kind).infinity.join(results, level="jobs", session=sesh), kind)
    assert joined.height == 2
    by_job = dict(zip(joined["job_id"].to_list(), joined["note"].to_list(), strict=True))
    assert sorted(by_job.values()) == ["take 0", "take 1"]
