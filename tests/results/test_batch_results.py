"""From a submitted batch to tidy tables in one call."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import infinityframe as inf
from _service import RunningService


def test_batch_results_joins_params_to_every_table(service: RunningService, tmp_path: Path) -> None:
    sesh = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
    jobs = sesh.grid(camera_distance=[2.0, 4.0], num_reps=[1], frame_rate=[6], image_width=[128],
                     image_height=[128])
    batch = jobs.infinity.submit(name="results", mode="force")
    batch.wait(progress=False)
    res = batch.results(tmp_path / "dl")
    assert set(res.jobs["job_id"]) == set(batch.job_ids) and res.jobs["problem"].isna().all()
    assert len(res.objects) == len(res.frames) == int(res.jobs["num_frames"].sum())
    assert len(res.keypoints) == 17 * len(res.objects)
    for table in (res.jobs, res.frames, res.objects, res.keypoints):
        assert {"batch_id", "job_id", "camera_distance"} <= set(table.columns)
    near, far = (res.objects[res.objects["camera_distance"] == d]["bbox_h"].mean() for d in (2.0, 4.0))
    assert near > far
    polars = batch.results(tmp_path / "dl", backend="polars")
    assert isinstance(polars.objects, pl.DataFrame) and polars.objects.height == len(res.objects)


def test_join_accessor(service: RunningService, tmp_path: Path) -> None:
    sesh = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
    batch = sesh.grid(camera_distance=[2.5, 3.5], frame_rate=[6], num_reps=[1], image_width=[128],
                      image_height=[128]).infinity.submit(name="join", mode="force")
    batch.wait(progress=False)
    res = batch.results(tmp_path / "dl")
    labelled = batch.jobs.assign(label=["near", "far"]).infinity.join(res, level="frames")
    assert len(labelled) == len(res.frames)
    assert set(labelled.groupby("label")["camera_distance"].first()) == {2.5, 3.5}
