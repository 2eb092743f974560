"""Lazy decoding of labels files gives the same columns as a full parse; keypoint blocks; param columns."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import polars as pl
import pytest
from results_helpers import FIXTURE_JOBS

from infinityframe.results import Results, read_results
from infinityframe.results.casting import typed_params
from infinityframe.results.labels import _decode, read_labels
from infinityframe.results.points import point_blocks

JOB = next(iter(FIXTURE_JOBS))


def test_full_parse_fallback_gives_the_same_columns(fixture_batch: Path, tmp_path: Path) -> None:
    # ``categories: null`` does not fit the lazy schema, so this copy is parsed whole with orjson.
    labels = json.loads((fixture_batch / JOB / "labels.json").read_text())
    labels["categories"] = None
    plain = tmp_path / "labels.json"
    plain.write_text(json.dumps(labels))
    problems: list[str] = []
    # Each copy takes the path it is meant to: raw (lazy) values for the original, a full parse for the copy.
    assert [_decode(path, problems)[3] for path in (fixture_batch / JOB / "labels.json", plain)] == [True, False]
    lazy = read_labels(fixture_batch / JOB / "labels.json", problems=problems)
    full = read_labels(plain, problems=problems)
    assert problems == [] and lazy.num_frames == full.num_frames == FIXTURE_JOBS[JOB]
    assert list(lazy.objects) == list(full.objects)
    for name, column in lazy.objects.items():
        if name != "category":  # named by the categories, which the copy lacks
            assert np.array_equal(column, full.objects[name], equal_nan=True), name
    for name in ("frame", "object_id", "x", "y", "v"):
        assert np.array_equal(lazy.keypoints[name], full.keypoints[name]), name
    assert full.keypoints["keypoint"].categories[:2] == ["keypoint_0", "keypoint_1"]
    for name, column in lazy.frames.items():
        if name != "image_path":
            assert np.array_equal(column, full.frames[name]), name


def test_named_points_with_gaps_fill_nan() -> None:
    full = {"x": 1, "y": 2, "v": 2, "z": 3.5, "x_global": 4, "y_global": 5, "z_global": 6}
    complete = [{"pelvis": full, "head": {**full, "x": 9}}, None, {"pelvis": full, "head": full}]
    gappy = [{"pelvis": full, "head": {**full, "z_global": None}}, None, {"head": full}]
    frame, object_id = np.array([0, 1, 2]), np.array([10, 11, 12])
    fast = point_blocks(complete, "armature", frame, object_id)[0]
    slow = point_blocks(gappy, "armature", frame, object_id)[0]
    assert fast["keypoint"].tolist() == slow["keypoint"].tolist() == ["pelvis", "head"] * 2
    assert fast["object_id"].tolist() == [10, 10, 12, 12] and fast["v"].dtype == np.int8
    assert fast["x"].tolist() == [1, 9, 1, 1] and fast["z"].tolist() == [3.5] * 4
    assert np.isnan(slow["z_global"][1]) and np.isnan(slow["x"][2]) and slow["x"][3] == 1


def test_strings_that_are_not_numbers_are_kept() -> None:
    params = {"scene": "BEDROOM_2", "wall_art_type": "non_human", "num_reps": 2, "state": None}
    assert typed_params("stickfit-v0.1.0", params) == params
    assert typed_params("stickfit-v0.1.0", {"camera_distance": "3"})["camera_distance"] == 3.0


@pytest.fixture(scope="module")
def res(fixture_batch: Path) -> Results:
    return read_results(fixture_batch, cache=False)


def test_numeric_params_plot_against_measures(res: Results) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    grid = sns.relplot(res.objects, x="camera_distance", y="bbox_h")
    points = grid.ax.collections[0].get_offsets()
    assert len(points) == len(res.objects)
    assert set(np.round(points[:, 0], 6)) == set(np.round(res.objects["camera_distance"].unique(), 6))
    plt.close(grid.figure)


def test_param_dtypes_in_both_backends(res: Results) -> None:
    objects = res.objects
    assert objects["camera_distance"].dtype == np.float64 and objects["num_reps"].dtype == np.int64
    keypoints = res.keypoints
    # keypoints: numbers are ordered categories of the per-job numbers, stored once per job
    distance, reps = keypoints["camera_distance"].dtype, keypoints["num_reps"].dtype
    assert isinstance(distance, pd.CategoricalDtype) and distance.ordered
    assert distance.categories.dtype == np.float64 and reps.categories.dtype == np.int64
    assert list(distance.categories) == sorted(res.jobs["camera_distance"])
    assert isinstance(keypoints["scene"].dtype, pd.CategoricalDtype)
    assert keypoints["state"].isna().all()
    polars = res.to_backend("polars").keypoints
    assert polars.schema["camera_distance"] == pl.Float64 and polars.schema["num_reps"] == pl.Int64
    assert polars.schema["scene"] == pl.Categorical and polars.schema["state"] == pl.Categorical
    assert polars.height == len(keypoints)


def test_param_missing_from_one_job_is_null_on_its_rows(fixture_copy: Path) -> None:
    path = fixture_copy / JOB / "job.json"
    job = json.loads(path.read_text())
    del job["params"]["camera_distance"], job["params"]["scene"]
    path.write_text(json.dumps(job))
    res = read_results(fixture_copy, cache=False)
    for table in (res.jobs, res.frames, res.objects, res.keypoints):
        mine = table["job_id"] == JOB
        assert table.loc[mine, "camera_distance"].isna().all() and table.loc[mine, "scene"].isna().all()
        assert table.loc[~mine, "camera_distance"].notna().all() and table.loc[~mine, "scene"].notna().all()
        assert table["camera_distance"].astype(np.float64).dtype == np.float64
