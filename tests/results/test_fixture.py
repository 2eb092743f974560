"""The real VisionFit v0.4.0 batch reads exactly: every value equals the file's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from results_helpers import FIXTURE_JOBS

from infinityframe.results import Results, read_results
from infinityframe.results.cache import cache_folder


@pytest.fixture(scope="module")
def res(fixture_batch: Path) -> Results:
    return read_results(fixture_batch, cache=False)


@pytest.fixture(scope="module")
def files(fixture_batch: Path) -> dict[str, dict[str, Any]]:
    """Each job's labels and job.json, read the plain way."""
    return {job_id: {"labels": json.loads((fixture_batch / job_id / "labels.json").read_text()),
                     "job": json.loads((fixture_batch / job_id / "job.json").read_text())}
            for job_id in FIXTURE_JOBS}


class TestShape:
    def test_two_jobs_with_their_frame_counts(self, res: Results) -> None:
        jobs = res.jobs.set_index("job_id")
        assert dict(jobs["num_frames"]) == FIXTURE_JOBS
        assert res.frames.groupby("job_id", observed=True).size().to_dict() == FIXTURE_JOBS
        assert jobs["problem"].isna().all()
        assert not jobs["preview"].any()
        assert set(jobs["generator"]) == {"visionfit-v0.4.0"}

    def test_batch_id_from_batch_id_txt(self, res: Results, fixture_batch: Path) -> None:
        batch_id = (fixture_batch / "batch_id.txt").read_text()
        assert res.batch_ids == [batch_id]
        for table in (res.jobs, res.frames, res.objects, res.keypoints):
            assert set(table["batch_id"]) == {batch_id}

    def test_one_person_per_frame_and_17_keypoints_each(self, res: Results) -> None:
        assert len(res.objects) == sum(FIXTURE_JOBS.values())
        assert set(res.objects["category"]) == {"person"}
        per_frame = res.objects.groupby(["job_id", "frame"], observed=True).size()
        assert (per_frame == 1).all()
        per_object = res.keypoints.groupby(["job_id", "object_id"], observed=True).size()
        assert len(per_object) == len(res.objects) and (per_object == 17).all()
        assert set(res.keypoints["kind"]) == {"coco"}

    def test_num_keypoints_counts_visible_or_occluded(self, res: Results) -> None:
        counted = (res.keypoints.assign(seen=res.keypoints["v"] > 0)
                   .groupby(["job_id", "object_id"], observed=True)["seen"].sum())
        stated = res.objects.set_index(["job_id", "object_id"])["num_keypoints"]
        assert counted.sort_index().tolist() == stated.sort_index().tolist()

    def test_repr_summarises(self, res: Results) -> None:
        assert "2 jobs" in repr(res) and "136 frames" in repr(res) and "2312 keypoints" in repr(res)

    def test_read_only_folder_is_read_and_left_as_it_was(self, fixture_copy: Path) -> None:
        # A copy, never the shared fixture: a superuser could write into it despite its mode.
        for path in (fixture_copy, *fixture_copy.iterdir()):
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            before = sorted(p.name for p in fixture_copy.iterdir())
            again = read_results(fixture_copy)
            assert len(again.objects) == 136
            assert sorted(p.name for p in fixture_copy.iterdir()) == before  # the cache lives elsewhere
            assert (cache_folder(fixture_copy) / "manifest.json").is_file()
        finally:
            fixture_copy.chmod(0o755)

    def test_single_job_folder(self, fixture_batch: Path) -> None:
        job_id = next(iter(FIXTURE_JOBS))
        one = read_results(fixture_batch / job_id)
        assert one.jobs["job_id"].tolist() == [job_id]
        assert one.batch_ids == [(fixture_batch / "batch_id.txt").read_text()]
        assert len(one.frames) == FIXTURE_JOBS[job_id]


class TestExactValues:
    def test_objects_equal_every_annotation(self, res: Results, files: dict[str, dict[str, Any]]) -> None:
        for job_id, content in files.items():
            labels = content["labels"]
            frame_of = {im["id"]: im["frame_number"] for im in labels["images"]}
            got = res.objects[res.objects["job_id"] == job_id].set_index("object_id")
            assert len(got) == len(labels["annotations"])
            for ann in labels["annotations"]:
                row = got.loc[ann["id"]]
                assert [row["bbox_x"], row["bbox_y"], row["bbox_w"], row["bbox_h"]] == ann["bbox"]
                assert row["area"] == ann["area"]
                assert row["percent_in_fov"] == ann["percent_in_fov"]
                assert row["percent_occlusion"] == ann["percent_occlusion"]
                assert row["num_keypoints"] == ann["num_keypoints"]
                assert row["iscrowd"] == ann["iscrowd"] and row["category_id"] == ann["category_id"]
                assert row["frame"] == frame_of[ann["image_id"]] and row["image_id"] == ann["image_id"]

    def test_keypoints_equal_the_flat_lists(self, res: Results, files: dict[str, dict[str, Any]]) -> None:
        names = files[next(iter(files))]["labels"]["categories"][0]["keypoints"]
        for job_id, content in files.items():
            got = res.keypoints[res.keypoints["job_id"] == job_id].sort_values(["object_id", "keypoint_index"])
            expected = np.array([a["keypoints"] for a in content["labels"]["annotations"]]).reshape(-1, 3)
            assert np.array_equal(got[["x", "y", "v"]].to_numpy(), expected)
            assert got["keypoint"].tolist() == names * len(content["labels"]["annotations"])

    def test_frames_equal_the_images(self, res: Results, files: dict[str, dict[str, Any]]) -> None:
        for job_id, content in files.items():
            got = res.frames[res.frames["job_id"] == job_id].set_index("frame")
            for im in content["labels"]["images"]:
                row = got.loc[im["frame_number"]]
                assert row["image_id"] == im["id"] and row["width"] == im["width"]
                assert row["rep_count_from_start"] == im["rep_count_from_start"]
                assert row["has_self_penetrations"] == im["has_self_penetrations"]
                for name, value in im["metrics"].items():
                    assert row[name] == value  # metrics.* flatten bare
            assert got["image_path"].isna().all()  # video frames have no image file of their own

    def test_time_is_frame_over_frame_rate(self, res: Results) -> None:
        assert np.array_equal(res.frames["time_s"], res.frames["frame"] / 6)

    def test_params_equal_job_json_in_every_table(self, res: Results, files: dict[str, dict[str, Any]]) -> None:
        for job_id, content in files.items():
            for table in (res.jobs, res.frames, res.objects, res.keypoints):
                rows = table[table["job_id"] == job_id]
                for name, value in content["job"]["params"].items():
                    column = rows[name]
                    if value is None:
                        assert column.isna().all(), name
                    else:
                        assert (column == value).all(), name
                        if isinstance(value, (int, float)):
                            assert type(column.iloc[0].item()) is type(value), name

    def test_job_means(self, res: Results, files: dict[str, dict[str, Any]]) -> None:
        jobs = res.jobs.set_index("job_id")
        for job_id, content in files.items():
            anns = content["labels"]["annotations"]
            assert jobs.loc[job_id, "mean_percent_in_fov"] == pytest.approx(
                np.mean([a["percent_in_fov"] for a in anns]))
            assert jobs.loc[job_id, "mean_percent_occlusion"] == pytest.approx(
                np.mean([a["percent_occlusion"] for a in anns]))
            assert jobs.loc[job_id, "mean_bbox_area"] == pytest.approx(np.mean([a["bbox"][2] * a["bbox"][3]
                                                                                 for a in anns]))


class TestDtypes:
    def test_repeated_strings_are_categorical(self, res: Results) -> None:
        for table in (res.jobs, res.frames, res.objects, res.keypoints):
            for name in ("batch_id", "job_id", "scene", "exercise", "gender"):
                assert isinstance(table[name].dtype, pd.CategoricalDtype), name
        assert isinstance(res.objects["category"].dtype, pd.CategoricalDtype)
        assert isinstance(res.keypoints["keypoint"].dtype, pd.CategoricalDtype)

    def test_numbers_are_typed(self, res: Results) -> None:
        assert res.objects["num_reps"].dtype == np.int64
        assert res.objects["camera_distance"].dtype == np.float64
        assert res.objects["enable_sensor_noise"].dtype == bool
        assert res.objects["bbox_h"].dtype == np.float64
        assert res.frames["frame"].dtype == np.int64

    def test_columns_start_with_the_keys(self, res: Results) -> None:
        assert res.frames.columns[:5].tolist() == ["batch_id", "job_id", "frame", "image_id", "time_s"]
        assert res.objects.columns[:4].tolist() == ["batch_id", "job_id", "frame", "object_id"]
        assert res.keypoints.columns[:4].tolist() == ["batch_id", "job_id", "frame", "object_id"]
        for name in ("category", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "area", "iscrowd", "num_keypoints",
                     "percent_in_fov", "percent_occlusion"):
            assert name in res.objects.columns


class TestArmature:
    def test_armature_and_vertex_points(self, fixture_batch: Path, files: dict[str, dict[str, Any]]) -> None:
        res = read_results(fixture_batch, cache=False, armature=True)
        kinds = res.keypoints.groupby("kind", observed=True).size().to_dict()
        assert kinds == {"coco": 136 * 17, "armature": 136 * 55, "vertex": 136 * 5}
        job_id = next(iter(files))
        ann = files[job_id]["labels"]["annotations"][0]
        pelvis = res.keypoints.query("job_id == @job_id and object_id == 0 and keypoint == 'pelvis'").iloc[0]
        for field, value in ann["armature_keypoints"]["pelvis"].items():
            assert pelvis[field] == value, field
        coco = res.keypoints[res.keypoints["kind"] == "coco"]
        assert coco["z"].isna().all()
