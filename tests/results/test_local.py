"""Batches of our own generators (stickfit, shapes, previews) read the same way as the real one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from results_helpers import SHAPES, STICKFIT, render_job, write_batch_id

from infinityframe.results import read_results


class TestStickfit:
    def test_three_jobs_with_their_params(self, stickfit_batch: Path) -> None:
        res = read_results(stickfit_batch, cache=False)
        assert res.jobs["job_id"].tolist() == ["job-0", "job-1", "job-2"]
        assert res.jobs["problem"].isna().all() and not res.jobs["preview"].any()
        assert res.batch_ids == ["stickfit-batch"]
        assert res.jobs["camera_distance"].tolist() == [2.5, 3.5, 4.5]
        for job_id in res.jobs["job_id"]:
            labels = json.loads((stickfit_batch / job_id / "labels.json").read_text())
            objects = res.objects[res.objects["job_id"] == job_id]
            assert len(objects) == len(labels["annotations"])
            assert objects["bbox_w"].tolist() == [a["bbox"][2] for a in labels["annotations"]]
            frames = res.frames[res.frames["job_id"] == job_id]
            assert len(frames) == len(labels["images"]) == res.jobs.set_index("job_id").loc[job_id, "num_frames"]
        assert np.allclose(res.frames["time_s"], res.frames["frame"] / STICKFIT["frame_rate"])

    def test_farther_camera_smaller_boxes(self, stickfit_batch: Path) -> None:
        res = read_results(stickfit_batch, cache=False)
        heights = res.objects.groupby("camera_distance", observed=True)["bbox_h"].mean()
        assert heights.is_monotonic_decreasing
        means = res.jobs.set_index("camera_distance")["mean_bbox_h"]
        assert np.allclose(means.sort_index(), heights.sort_index())

    def test_keypoints_17_per_person(self, stickfit_batch: Path) -> None:
        res = read_results(stickfit_batch, cache=False)
        per_object = res.keypoints.groupby(["job_id", "object_id"], observed=True).size()
        assert (per_object == 17).all() and len(per_object) == len(res.objects)

    def test_armature_keypoints_of_the_stick_figure(self, stickfit_batch: Path) -> None:
        res = read_results(stickfit_batch, cache=False, armature=True)
        kinds = set(res.keypoints["kind"])
        assert kinds == {"coco", "armature", "vertex"}
        armature = res.keypoints[res.keypoints["kind"] == "armature"]
        assert armature["z"].notna().all() and armature["x_global"].notna().all()


class TestShapes:
    def test_several_objects_per_image(self, shapes_batch: Path) -> None:
        res = read_results(shapes_batch, cache=False)
        assert len(res.jobs) == 2 and res.jobs["problem"].isna().all()
        assert (res.jobs["num_frames"] == SHAPES["num_images"]).all()
        per_image = res.objects.groupby(["job_id", "frame"], observed=True).size()
        assert len(per_image) == 2 * SHAPES["num_images"] and (per_image == SHAPES["num_objects"]).all()
        assert set(res.objects["category"]) <= {"circle", "square", "triangle", "star"}
        assert len(res.keypoints) == 0 and "keypoint" in res.keypoints.columns

    def test_values_and_hidden_objects(self, shapes_batch: Path) -> None:
        res = read_results(shapes_batch, cache=False)
        for job_id in ("shapes-0", "shapes-1"):
            labels = json.loads((shapes_batch / job_id / "labels.json").read_text())
            got = res.objects[res.objects["job_id"] == job_id].set_index("object_id")
            for ann in labels["annotations"]:
                row = got.loc[ann["id"]]
                if "bbox" in ann:
                    assert [row["bbox_x"], row["bbox_y"], row["bbox_w"], row["bbox_h"]] == ann["bbox"]
                    assert row["area"] == ann["area"]
                else:  # fully hidden: identifying keys only
                    assert pd.isna(row["bbox_x"]) and pd.isna(row["area"])

    def test_image_paths_exist(self, shapes_batch: Path) -> None:
        res = read_results(shapes_batch, cache=False)
        paths = res.frames["image_path"].tolist()
        assert all(Path(p).is_file() for p in paths)
        assert Path(paths[0]).name == "image.000000.png"
        assert res.frames["time_s"].isna().all()  # still images: no frame rate
        assert "mean_image_brightness" in res.frames.columns


class TestPreviews:
    def test_preview_with_labels(self, tmp_path: Path) -> None:
        batch = tmp_path / "previews"
        render_job(batch, "p-0", "stickfit-v0.1.0", STICKFIT, preview=True)
        render_job(batch, "p-1", "shapes-v0.1.0", SHAPES, preview=True)
        res = read_results(batch, cache=False)
        assert res.jobs["preview"].all() and (res.jobs["num_frames"] == 1).all()
        assert res.batch_ids == ["previews"]  # no batch_id.txt: the folder's name
        assert len(res.frames) == 2
        for path in res.frames["image_path"]:
            assert Path(path).name == "video_preview.png" and Path(path).is_file()

    def test_preview_image_only(self, tmp_path: Path) -> None:
        batch = tmp_path / "batch"
        job = render_job(batch, "p-0", "stickfit-v0.1.0", STICKFIT, preview=True)
        (job / "labels.json").unlink()  # what the contract promises of a preview: job.json and the image
        write_batch_id(batch, "b")
        res = read_results(batch, cache=False)
        frame = res.frames.iloc[0]
        assert len(res.frames) == 1 and frame["frame"] == 0
        assert frame["image_path"] == str(job / "video_preview.png")
        assert (frame["width"], frame["height"]) == (STICKFIT["image_width"], STICKFIT["image_height"])
        assert res.jobs["preview"].all() and res.jobs["problem"].isna().all()
        assert len(res.objects) == 0


class TestOtherLayouts:
    def test_sensefit_csv(self, tmp_path: Path) -> None:
        job = tmp_path / "batch" / "s-0"
        job.mkdir(parents=True)
        (job / "job.json").write_text(json.dumps({"name": "sensefit-v0.2.0", "params": {"frame_rate": "10"}}))
        (job / "video.mp4").write_bytes(b"")
        rows = [f"{i},{i / 10},{i % 3},{i * 0.1:.1f},1.0" for i in range(5)]
        (job / "data.csv").write_text(",rep_count_from_start,ref_xy_rotation,time,rotation_matrix_m11\n"
                                      + "\n".join(rows) + "\n")
        res = read_results(tmp_path / "batch", cache=False)
        assert res.frames["frame"].tolist() == [0, 1, 2, 3, 4]
        assert res.frames["time_s"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
        assert res.frames["frame_rate"].dtype == np.int64  # "10" cast by value for an unknown generator
        assert res.jobs["problem"].isna().all()

    def test_video_rgb_json_of_older_generators(self, fixture_copy: Path) -> None:
        job = next(p for p in fixture_copy.iterdir() if p.is_dir())
        (job / "labels.json").rename(job / "video.rgb.json")
        res = read_results(fixture_copy, cache=False)
        assert res.jobs["problem"].isna().all() and len(res.objects) == 136
