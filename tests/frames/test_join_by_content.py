"""``df.infinity.join(res)`` on the frame that was submitted: rows matched to jobs by their content key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import infinityframe as inf
from _service import RunningService

GENERATOR = "shapes-v0.1.0"
TINY = {"num_images": 1, "image_width": 64, "image_height": 64, "background": "PLAIN"}
PARAMS = ["num_images", "num_objects", "min_size", "max_size", "categories", "allow_overlap", "background",
          "lighting_power", "image_width", "image_height", "enable_sensor_noise"]


@pytest.fixture(scope="module")
def sesh(service: RunningService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[inf.Session]:
    with pytest.MonkeyPatch.context() as mp:  # submission records away from the user's cache
        mp.setenv("INFINITYFRAME_CACHE_DIR", str(tmp_path_factory.mktemp("join-cache")))
        yield inf.Session(service.token, GENERATOR, server=service.url)


@pytest.fixture(scope="module")
def submitted(sesh: inf.Session) -> pd.DataFrame:
    """Four sampled jobs and a copy of the second: five rows, five jobs (the copy is a job of its own)."""
    jobs = sesh.sample(4, seed=0, **TINY)
    frame = pd.concat([jobs, jobs.iloc[[1]]], ignore_index=True)
    frame.attrs = dict(jobs.attrs)
    return frame


@pytest.fixture(scope="module")
def batch(sesh: inf.Session, submitted: pd.DataFrame) -> inf.Batch:
    batch = submitted.infinity.submit(sesh, name="join by content", mode="force")
    assert (batch.wait(poll=0.2, progress=False)["status"] == "succeeded").all()
    return batch


@pytest.fixture(scope="module")
def res(batch: inf.Batch, tmp_path_factory: pytest.TempPathFactory) -> inf.Results:
    return batch.results(tmp_path_factory.mktemp("join-results"))


def tagged(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a column of ours, ``tag``: each row's position."""
    out = frame.assign(tag=range(len(frame)))
    out.attrs = dict(frame.attrs)
    return out


def assert_matched(joined: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Every joined row took the tag of a row with exactly its job's parameters."""
    assert joined["tag"].notna().all()
    for _, row in joined.iterrows():
        mine = frame.iloc[int(row["tag"])]
        for name in PARAMS:
            assert row[name] == mine[name], (name, row["job_id"], int(row["tag"]))


class TestSubmittedFrame:
    def test_jobs_level(self, submitted: pd.DataFrame, res: inf.Results, batch: inf.Batch) -> None:
        joined = tagged(submitted).infinity.join(res, level="jobs")
        assert isinstance(joined, pd.DataFrame)
        assert list(joined["job_id"]) == list(res.jobs["job_id"])  # the table's rows, in its order
        assert sorted(joined["tag"]) == [0, 1, 2, 3, 4]  # every row matched to one job
        assert_matched(joined, submitted)
        assert set(joined["job_id"]) == set(batch.job_ids)

    def test_frames_level(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        joined = tagged(submitted).infinity.join(res, level="frames")
        assert len(joined) == len(res.frames) and list(joined["frame"]) == list(res.frames["frame"])
        assert_matched(joined, submitted)
        per_job = joined.groupby("job_id", observed=True)["tag"].nunique()
        assert (per_job == 1).all() and len(per_job) == 5

    def test_objects_level_default(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        joined = tagged(submitted).infinity.join(res)
        assert len(joined) == len(res.objects) and joined["tag"].notna().all()

    def test_same_as_joining_batch_jobs(self, submitted: pd.DataFrame, res: inf.Results, batch: inf.Batch) -> None:
        # batch.jobs is in submission order, so it says which row made which job
        by_id = batch.jobs.assign(tag=range(5)).infinity.join(res, level="jobs").set_index("job_id")["tag"]
        by_content = tagged(submitted).infinity.join(res, level="jobs").set_index("job_id")["tag"]
        unique = [0, 2, 3]  # rows 1 and 4 are the same job, exchangeable
        ids = [batch.job_ids[i] for i in unique]
        assert list(by_content[ids]) == list(by_id[ids]) == unique

    def test_frame_with_job_id_joins_on_it(self, res: inf.Results, batch: inf.Batch) -> None:
        mine = pd.DataFrame({"job_id": batch.job_ids[:2], "num_objects": [-1, -1], "reviewed": [True, False]})
        joined = mine.infinity.join(res, level="jobs").set_index("job_id")
        assert bool(joined.loc[batch.job_ids[0], "reviewed"]) and not bool(joined.loc[batch.job_ids[1], "reviewed"])
        assert joined["reviewed"].isna().sum() == 3  # the jobs it does not list
        assert (joined["num_objects"] >= 0).all()  # the table's value wins, as before


class TestHowRowsAreRead:
    def test_defaults_completed(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        # background was PLAIN, the default: a frame without the column is the same jobs
        joined = tagged(submitted).drop(columns=["background", "state"]).infinity.join(res, level="jobs")
        assert sorted(joined["tag"]) == [0, 1, 2, 3, 4]

    def test_float_for_an_int(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        floats = tagged(submitted).astype({"num_objects": "float64", "image_width": "float64"})
        assert floats["image_width"].iloc[0] == 64.0
        joined = floats.infinity.join(res, level="jobs")
        assert sorted(joined["tag"]) == [0, 1, 2, 3, 4]

    def test_numeric_strings(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        texts = tagged(submitted).assign(num_objects=submitted["num_objects"].astype(str),
                                         lighting_power=submitted["lighting_power"].map(repr))
        joined = texts.infinity.join(res, level="jobs")
        assert sorted(joined["tag"]) == [0, 1, 2, 3, 4]

    def test_int_for_a_float(self, sesh: inf.Session, tmp_path: Path) -> None:
        frame = pd.DataFrame({"lighting_power": [500.0], **{k: [v] for k, v in TINY.items()}})
        batch = frame.infinity.submit(sesh, name="join: 500.0", mode="force")
        batch.wait(poll=0.2, progress=False)
        res = batch.results(tmp_path / "res")
        for given in (500, 500.0, "500"):
            mine = frame.assign(lighting_power=[given], tag=[0])
            assert mine.infinity.join(res, level="jobs", session=sesh)["tag"].tolist() == [0], given


class TestDuplicatesAndStrays:
    def test_identical_rows_take_one_job_each(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        joined = tagged(submitted).infinity.join(res, level="jobs")
        copies = joined[joined["tag"].isin([1, 4])]
        assert len(copies) == 2 and copies["job_id"].nunique() == 2 and sorted(copies["tag"]) == [1, 4]

    def test_one_row_for_several_identical_jobs(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        # the copy dropped after submitting: both jobs it made still belong to the one row left
        joined = tagged(submitted).iloc[:4].infinity.join(res, level="jobs")
        assert joined["tag"].notna().all() and (joined["tag"] == 1).sum() == 2

    def test_row_not_submitted_adds_no_row(self, sesh: inf.Session, submitted: pd.DataFrame,
                                           res: inf.Results) -> None:
        stray = sesh.sample(1, seed=99, **TINY)
        frame = tagged(pd.concat([submitted, stray], ignore_index=True))
        frame.attrs = dict(submitted.attrs)
        joined = frame.infinity.join(res, level="jobs")
        assert len(joined) == len(res.jobs) and 5 not in set(joined["tag"])
        assert sorted(joined["tag"]) == [0, 1, 2, 3, 4]

    def test_jobs_no_row_matches_get_nulls(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        joined = tagged(submitted).iloc[[0]].infinity.join(res, level="jobs")
        assert len(joined) == 5 and joined["tag"].notna().sum() == 1

    def test_invalid_rows_match_nothing(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        frame = tagged(submitted).assign(num_objects=submitted["num_objects"].astype(object))
        frame.loc[0, "num_objects"] = -3  # not a valid shapes job
        joined = frame.infinity.join(res, level="jobs")
        assert sorted(joined["tag"].dropna().astype(int)) == [1, 2, 3, 4]


class TestPolars:
    def test_polars_frame_pandas_results(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        frame = pl.from_pandas(tagged(submitted).drop(columns="state"))
        joined = frame.infinity.join(res, level="jobs")
        assert isinstance(joined, pl.DataFrame)
        assert sorted(joined["tag"].to_list()) == [0, 1, 2, 3, 4]
        assert_matched(joined.to_pandas(), submitted)

    def test_polars_frame_polars_results(self, submitted: pd.DataFrame, res: inf.Results) -> None:
        frame = pl.from_pandas(tagged(submitted).drop(columns="state"))
        joined = frame.infinity.join(res.to_backend("polars"), level="frames")
        assert isinstance(joined, pl.DataFrame) and joined["tag"].null_count() == 0
        assert joined.height == len(res.frames)


class TestErrors:
    def test_results_of_another_generator(self, service: RunningService, submitted: pd.DataFrame,
                                          res: inf.Results, batch: inf.Batch) -> None:
        stickfit = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
        frame = stickfit.sample(2, seed=0)
        with pytest.raises(inf.InfinityError, match=f"(?s)batch {batch.id}.*shapes-v0.1.0.*stickfit-v0.1.0"):
            frame.infinity.join(res, level="jobs")

    def test_nothing_matches(self, sesh: inf.Session, res: inf.Results, batch: inf.Batch) -> None:
        others = sesh.sample(3, seed=123, **TINY)
        with pytest.raises(inf.InfinityError, match=f"None of the frame's 3 rows matches a job of batch {batch.id}"):
            others.infinity.join(res, level="frames")

    def test_no_parameter_column(self, res: inf.Results) -> None:
        with pytest.raises(ValueError, match="no column"):
            pd.DataFrame({"id": ["job-0"]}).infinity.join(res)
