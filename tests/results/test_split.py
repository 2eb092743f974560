"""Results.split: groups never straddle splits, fractions, seeds, strata, errors, leakage; and join."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from results_helpers import STICKFIT, render_job, write_batch_id

import infinityframe as inf
from infinityframe.results import Results
from infinityframe.results.join import join
from infinityframe.results.split import split

TABLES = ("jobs", "frames", "objects", "keypoints")
THREE = {"train": 0.5, "val": 0.25, "test": 0.25}
DISTANCES = (2.5, 2.5, 3.5, 3.5, 4.5, 4.5)
GENDERS = ("MALE", "FEMALE", "MALE", "FEMALE", "MALE", "FEMALE")


@pytest.fixture(scope="module")
def six(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Six stickfit jobs: three camera distances, two genders."""
    batch = tmp_path_factory.mktemp("split") / "batch"
    for i, (distance, gender) in enumerate(zip(DISTANCES, GENDERS, strict=True)):
        render_job(batch, f"job-{i}", "stickfit-v0.1.0",
                   {**STICKFIT, "camera_distance": distance, "gender": gender}, seed=i)
    write_batch_id(batch, "split-batch")
    return inf.read_results(batch, cache=False)


def _assert_groups_whole(res: Results, by: list[str]) -> None:
    """Every value of ``by`` is in exactly one split, across all four tables together."""
    tables = [getattr(res, t) for t in TABLES]
    rows = pd.concat([t[[*by, "split"]].astype(object) for t in tables if set(by) <= set(t.columns)])
    assert rows["split"].notna().all()
    assert (rows.groupby(by)["split"].nunique() == 1).all()


@pytest.mark.parametrize("by", ["job_id", "camera_distance", ["camera_distance", "gender"]])
def test_groups_never_straddle_splits(six: Results, by: str | list[str]) -> None:
    parts = six.split({"train": 0.34, "val": 0.33, "test": 0.33}, by=by, seed=3)
    cols = [by] if isinstance(by, str) else by
    _assert_groups_whole(parts, cols)
    for name in TABLES:
        table = getattr(parts, name)
        assert isinstance(table["split"].dtype, pd.CategoricalDtype)
        assert list(table["split"].cat.categories) == ["train", "val", "test"]
        assert len(table) == len(getattr(six, name))
    # each job's rows share the job's split in every table
    per_job = dict(zip(parts.jobs["job_id"].astype(str), parts.jobs["split"].astype(str), strict=True))
    for name in TABLES[1:]:
        table = getattr(parts, name)
        assert (table["split"].astype(str) == table["job_id"].astype(str).map(per_job)).all()


def test_input_not_mutated(six: Results) -> None:
    before = {t: getattr(six, t).copy() for t in TABLES}
    parts = six.split(THREE)
    assert parts is not six
    for t in TABLES:
        assert "split" not in getattr(six, t).columns
        pd.testing.assert_frame_equal(getattr(six, t), before[t])


def test_fractions_respected_by_largest_remainder(six: Results) -> None:
    parts = six.split({"train": 0.5, "val": 1 / 3, "test": 1 / 6})
    assert parts.jobs["split"].value_counts().to_dict() == {"train": 3, "val": 2, "test": 1}
    parts = six.split({"train": 0.8, "val": 0.1, "test": 0.1})  # 4.8/0.6/0.6 -> 5/1/0 -> every split non-empty
    assert parts.jobs["split"].value_counts().to_dict() == {"train": 4, "val": 1, "test": 1}


def test_seed_reproducible_and_varies(six: Results) -> None:
    first = six.split(THREE, seed=7).jobs["split"].astype(str).tolist()
    assert six.split(THREE, seed=7).jobs["split"].astype(str).tolist() == first
    others = {tuple(six.split(THREE, seed=s).jobs["split"].astype(str)) for s in range(10)}
    assert len(others) > 1


def test_stratify_spreads_each_value(six: Results) -> None:
    parts = six.split({"train": 2 / 3, "test": 1 / 3}, stratify="gender", seed=1)
    counts = parts.jobs.groupby(["gender", "split"], observed=True).size().unstack()
    assert counts.loc["MALE"].tolist() == [2, 1]
    assert counts.loc["FEMALE"].tolist() == [2, 1]
    with pytest.raises(ValueError, match="one value per group"):
        six.split({"a": 0.5, "b": 0.5}, by="camera_distance", stratify="gender")


@pytest.mark.parametrize("fractions", [{"a": 0.5, "b": 0.4}, {"a": 1.2, "b": -0.2}, {"a": 0.0, "b": 1.0}, {}])
def test_bad_fractions(six: Results, fractions: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="fractions"):
        six.split(fractions)


def test_fewer_groups_than_splits(six: Results) -> None:
    with pytest.raises(ValueError, match=r"3 group\(s\).*4 splits"):
        six.split({"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}, by="camera_distance")
    with pytest.raises(ValueError, match="no table has"):
        six.split(THREE, by="no_such_column")


def test_finer_key_warns_leakage(six: Results) -> None:
    with pytest.warns(UserWarning, match="finer than the job.*leakage"):
        parts = six.split(THREE, by=["job_id", "frame"], seed=0)
    frames = parts.frames
    assert frames["split"].value_counts().to_dict() == {"train": 42, "val": 21, "test": 21}
    _assert_groups_whole(parts, ["job_id", "frame"])
    # a job spread over several splits has no single split
    assert parts.jobs["split"].isna().all()
    with pytest.warns(UserWarning, match="leakage"):
        by_object = six.split(THREE, by="object_id")
    assert by_object.frames["split"].notna().all()  # one object per stickfit frame


def test_polars_backend_and_fixture(six: Results) -> None:
    polars = six.to_backend("polars").split(THREE, seed=0)
    assert polars.backend == "polars"
    assert isinstance(polars.objects, pl.DataFrame)
    assert polars.objects["split"].dtype == pl.Categorical
    pandas_split = six.split(THREE, seed=0).objects["split"].astype(str).tolist()
    assert polars.objects["split"].cast(pl.String).to_list() == pandas_split


def test_split_real_fixture(fixture_batch: Path) -> None:
    res = inf.read_results(fixture_batch, cache=False)  # read only; nothing is written
    parts = split(res, {"train": 0.5, "test": 0.5}, by="avatar_identity" if "avatar_identity" in res.jobs else "job_id")
    assert parts.jobs["split"].notna().all()
    assert len(parts.keypoints) == len(res.keypoints)


@pytest.mark.parametrize("level", TABLES)
def test_join_each_level(six: Results, level: str) -> None:
    params = pd.DataFrame({"job_id": [f"job-{i}" for i in range(6)], "camera_distance": [-1.0] * 6,
                           "annotator": list("abcdef")})
    joined = join(params, six, level=level)
    table = getattr(six, level)
    assert list(joined.columns) == [*table.columns, "annotator"]  # camera_distance not duplicated
    assert len(joined) == len(table)
    assert (joined["camera_distance"] == table["camera_distance"]).all()  # the table's version wins
    letters = dict(zip("012345", "abcdef", strict=True))
    assert (joined["annotator"] == joined["job_id"].astype(str).str[-1].map(letters)).all()

    polars_joined = join(pl.from_pandas(params), six, level=level)
    assert isinstance(polars_joined, pl.DataFrame)
    assert polars_joined["annotator"].to_list() == joined["annotator"].tolist()
    assert polars_joined.columns == list(joined.columns)


def test_join_errors(six: Results) -> None:
    with pytest.raises(ValueError, match="level"):
        join(six.jobs, six, level="images")
    with pytest.raises(ValueError, match="one row per key"):
        join(pd.DataFrame({"job_id": ["job-0", "job-0"], "x": [1, 2]}), six)
    with pytest.raises(ValueError, match="no column"):
        join(pd.DataFrame({"id": ["job-0"]}), six)
