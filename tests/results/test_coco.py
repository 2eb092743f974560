"""Results.to_coco: merged files per split that pycocotools loads, equal to the tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pycocotools.coco import COCO
from results_helpers import STICKFIT, render_job, write_batch_id

import infinityframe as inf
from infinityframe.results import Results
from infinityframe.results.coco import COCO_KEYPOINTS, COCO_SKELETON, to_coco

KEYS = ["batch_id", "job_id", "frame", "object_id"]


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> Results:
    batch = tmp_path_factory.mktemp("coco") / "batch"
    for i, distance in enumerate((2.5, 3.0, 3.5, 4.5)):
        render_job(batch, f"job-{i}", "stickfit-v0.1.0", {**STICKFIT, "camera_distance": distance}, seed=i)
    write_batch_id(batch, "coco-batch")
    return inf.read_results(batch, cache=False)


def _check_round_trip(file: Path, res: Results) -> None:
    """The file loads in pycocotools and its images, boxes and keypoints equal the tables' rows."""
    coco = COCO(str(file))
    frames, objects, keypoints = res.frames, res.objects, res.keypoints
    assert len(coco.getImgIds()) == len(frames)
    ann_ids = coco.getAnnIds()
    assert len(ann_ids) == len(objects)
    anns = coco.loadAnns(ann_ids)
    images = coco.loadImgs(coco.getImgIds())
    assert len({im["id"] for im in images}) == len(images)
    assert {(im["job_id"], im["frame"]) for im in images} == set(
        zip(frames["job_id"].astype(str), frames["frame"].tolist(), strict=True))
    by_image = {im["id"]: im for im in images}
    got = pd.DataFrame([{"job_id": by_image[a["image_id"]]["job_id"], "frame": by_image[a["image_id"]]["frame"],
                         "bbox": a["bbox"], "area": a["area"], "category_id": a["category_id"],
                         "keypoints": a.get("keypoints"), "num_keypoints": a.get("num_keypoints")} for a in anns])
    expected = objects.assign(job_id=objects["job_id"].astype(str)).sort_values(["job_id", "frame", "object_id"])
    got = got.sort_values(["job_id", "frame"], kind="stable")
    assert got["bbox"].tolist() == expected[["bbox_x", "bbox_y", "bbox_w", "bbox_h"]].to_numpy().tolist()
    assert got["area"].tolist() == expected["area"].tolist()
    assert got["category_id"].tolist() == expected["category_id"].tolist()
    assert got["num_keypoints"].tolist() == expected["num_keypoints"].tolist()
    coco_kp = keypoints[keypoints["kind"].astype(str) == "coco"].assign(job_id=lambda d: d["job_id"].astype(str))
    wanted = coco_kp.sort_values(["job_id", "frame", "object_id", "keypoint_index"])
    flat = np.asarray(got["keypoints"].tolist(), dtype=float).reshape(-1, 3)
    assert np.array_equal(flat, wanted[["x", "y", "v"]].to_numpy(dtype=float))
    category = coco.loadCats(coco.getCatIds())[0]
    assert category["name"] == "person"
    assert category["keypoints"] == list(COCO_KEYPOINTS)
    assert category["skeleton"] == [list(s) for s in COCO_SKELETON]


def test_one_file_per_split_round_trips(four: Results, tmp_path: Path) -> None:
    parts = four.split({"train": 0.5, "val": 0.25, "test": 0.25}, seed=0)
    files = parts.to_coco(tmp_path / "coco")
    assert [f.name for f in files] == ["train.json", "val.json", "test.json"]
    for file in files:
        name = file.stem
        subset = Results({t: getattr(parts, t)[getattr(parts, t)["split"] == name] for t in
                          ("jobs", "frames", "objects", "keypoints")})
        _check_round_trip(file, subset)
    assert not list((tmp_path / "coco").glob(".*tmp"))  # no temporary files left behind
    assert parts.to_coco(tmp_path / "only", split="val") == [tmp_path / "only" / "val.json"]
    with pytest.raises(ValueError, match="no split named"):
        parts.to_coco(tmp_path / "x", split="holdout")
    with pytest.raises(ValueError, match="is a file"):
        parts.to_coco(tmp_path / "x.json")


def test_without_splits_one_file(four: Results, tmp_path: Path) -> None:
    assert to_coco(four, tmp_path / "out") == [tmp_path / "out" / "all.json"]
    file = to_coco(four.to_backend("polars"), tmp_path / "merged.json")[0]
    assert file == tmp_path / "merged.json"
    _check_round_trip(file, four)
    data = json.loads(file.read_text())
    assert data["images"][0]["file_name"] == "job-0/frame_0"
    assert "segmentation" not in data["annotations"][0]
    assert sorted(a["id"] for a in data["annotations"]) == list(range(1, len(four.objects) + 1))


def test_file_name_is_image_path(shapes_batch: Path, tmp_path: Path) -> None:
    res = inf.read_results(shapes_batch, cache=False)
    file = res.to_coco(tmp_path / "shapes.json")[0]
    coco = COCO(str(file))
    names = sorted(im["file_name"] for im in coco.loadImgs(coco.getImgIds()))
    assert names == sorted(res.frames["image_path"].astype(str))
    assert len(coco.getAnnIds()) == len(res.objects)


def test_real_fixture_round_trips(fixture_batch: Path, tmp_path: Path) -> None:
    res = inf.read_results(fixture_batch, cache=False)  # the shared folder is only read; output goes to tmp
    parts = res.split({"train": 0.5, "test": 0.5}, seed=0)
    for file in parts.to_coco(tmp_path):
        name = file.stem
        _check_round_trip(file, Results({t: getattr(parts, t)[getattr(parts, t)["split"] == name] for t in
                                         ("jobs", "frames", "objects", "keypoints")}))
