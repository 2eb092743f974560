"""A stickfit sweep through the service shows the physics in its labels."""

from __future__ import annotations

import io
import itertools
import json
import zipfile

import numpy as np
import pytest
import requests
from scipy.stats import spearmanr

from _service import RunningService, wait_for_batch

DISTANCES = [1.5, 2.25, 3.0, 3.75, 4.5]
LIGHTS = [30.0, 300.0, 1500.0]


@pytest.fixture(scope="module")
def sweep(service: RunningService, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, float]]:
    body = {"name": "distance x light", "job_runs": [
        {"name": "stickfit-v0.1.0", "is_preview": False,
         "param_values": {"camera_distance": d, "lighting_power": light, "num_reps": 1, "frame_rate": 6,
                          "image_width": 160, "image_height": 160, "exercise": "SQUAT"}}
        for d, light in itertools.product(DISTANCES, LIGHTS)
    ]}
    created = service.post("batch/", body)
    assert created.status_code == 201, created.text
    runs = wait_for_batch(service, created.json()["id"])
    assert {r["state"] for r in runs} == {"succeeded"}
    folder = tmp_path_factory.mktemp("sweep")
    rows = []
    for run in runs:
        zipfile.ZipFile(io.BytesIO(requests.get(str(run["result_url"]), timeout=60).content)).extractall(folder)
        job = folder / str(run["id"])
        params = json.loads((job / "job.json").read_text())["params"]
        labels = json.loads((job / "labels.json").read_text())
        rows.append({
            "path": str(job / "labels.json"),
            "camera_distance": params["camera_distance"],
            "lighting_power": params["lighting_power"],
            "bbox_area": float(np.mean([a["bbox"][2] * a["bbox"][3] for a in labels["annotations"]])),
            "brightness": float(np.mean([im["metrics"]["mean_image_brightness"] for im in labels["images"]])),
        })
    return rows


def test_boxes_shrink_as_the_camera_moves_away(sweep: list[dict[str, float]]) -> None:
    rho, _ = spearmanr([r["camera_distance"] for r in sweep], [r["bbox_area"] for r in sweep])
    assert rho <= -0.9


def test_frames_brighten_with_light(sweep: list[dict[str, float]]) -> None:
    for distance in DISTANCES:
        at = sorted((r for r in sweep if r["camera_distance"] == distance), key=lambda r: r["lighting_power"])
        brightness = [r["brightness"] for r in at]
        assert brightness == sorted(brightness) and brightness[0] < brightness[-1], distance


def test_pycocotools_loads_every_labels_file(sweep: list[dict[str, float]]) -> None:
    from pycocotools.coco import COCO

    for row in sweep:
        coco = COCO(str(row["path"]))
        assert coco.getCatIds(catNms=["person"]) == [0]
        assert len(coco.getAnnIds()) == len(coco.getImgIds()) > 0
