"""Tests of the ``shapes-v0.1.0`` generator: output layout, COCO labels, masks, determinism."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from infinityframe.local.generators import get
from infinityframe.local.generators.base import validate_job
from infinityframe.local.generators.shapes import Shapes

SMALL = {"num_images": 3, "image_width": 96, "image_height": 80}
IDENTITY_KEYS = {"id", "image_id", "category_id", "iscrowd"}


def params_for(**overrides: Any) -> dict[str, Any]:
    params, errors = validate_job(Shapes(), 0, overrides)
    assert not errors, errors
    assert params is not None
    return params


def render(tmp_path: Path, name: str, seed: int = 0, preview: bool = False, **overrides: Any) -> Path:
    out = tmp_path / name
    out.mkdir()
    count = Shapes().render(params_for(**overrides), preview, out, np.random.default_rng(seed))
    assert count == Shapes().estimate(params_for(**overrides), preview)
    return out


def labels(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "labels.json").read_bytes())
    return result


def read_png(data: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgr is not None and bgr.dtype == np.uint8 and bgr.ndim == 3 and bgr.shape[2] == 3
    return np.ascontiguousarray(bgr[:, :, ::-1])


def visible(annotations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in annotations if "bbox" in a]


class TestMetadata:
    def test_registered_under_its_name(self) -> None:
        gen = get("shapes-v0.1.0")
        assert isinstance(gen, Shapes)
        assert gen.version == "0.1.0"

    def test_params_have_the_api_shape(self) -> None:
        meta = Shapes().metadata()
        assert meta["options"] == {"preview": True}
        for spec in meta["params"]:
            assert set(spec) == {"name", "type", "default_value", "options", "description"}
            assert spec["type"] in {"int", "float", "str", "bool", "uuid"}
        defaults = Shapes().defaults
        assert defaults["num_images"] == 4 and defaults["state"] is None
        assert validate_job(Shapes(), 0, {})[1] == []

    def test_size_constraint_is_advisory(self, tmp_path: Path) -> None:
        (constraint,) = Shapes().metadata()["constraints"]
        assert constraint["expr"] == "min_size <= max_size" and constraint["advisory"] is True
        # infinity-core's sampler draws the two independently: such a job is taken, and its
        # range is read the other way round, so it renders what the ordered pair renders.
        assert validate_job(Shapes(), 0, {"min_size": 0.4, "max_size": 0.2})[1] == []
        crossed = render(tmp_path, "crossed", seed=3, num_objects=6, min_size=0.4, max_size=0.2)
        ordered = render(tmp_path, "ordered", seed=3, num_objects=6, min_size=0.2, max_size=0.4)
        narrow = render(tmp_path, "narrow", seed=3, num_objects=6, min_size=0.2, max_size=0.21)
        first = [(out / "images" / "image.000000.png").read_bytes() for out in (crossed, ordered, narrow)]
        assert first[0] == first[1] and first[0] != first[2]

    def test_out_of_range_values_are_rejected(self) -> None:
        for bad in ({"num_objects": 21}, {"categories": "HEXAGON"}, {"lighting_power": -1.0}):
            assert validate_job(Shapes(), 0, bad)[0] is None


class TestLayout:
    def test_standard_job_files(self, tmp_path: Path) -> None:
        out = render(tmp_path, "std", **SMALL)
        assert sorted(p.name for p in out.iterdir()) == [
            "images", "job.json", "labels.json", "segmentation.zip", "timing.json", "video_preview.png",
        ]
        assert sorted(p.name for p in (out / "images").iterdir()) == [
            f"image.{i:06d}.png" for i in range(3)
        ]
        assert (out / "video_preview.png").read_bytes() == (out / "images/image.000000.png").read_bytes()
        job = json.loads((out / "job.json").read_bytes())
        assert job == {"name": "shapes-v0.1.0", "params": params_for(**SMALL)}
        timing = json.loads((out / "timing.json").read_bytes())
        assert timing["num_frames"] == 3 and len(timing["frame_render"]) == 3
        with zipfile.ZipFile(out / "segmentation.zip") as archive:
            assert sorted(archive.namelist()) == sorted(
                f"image.{i:06d}.{kind}.png" for i in range(3) for kind in ("cseg", "iseg")
            )

    def test_estimate_matches_rendered_count(self, tmp_path: Path) -> None:
        for n in (1, 5):
            params = params_for(num_images=n, image_width=64, image_height=64)
            out = tmp_path / f"n{n}"
            out.mkdir()
            assert Shapes().estimate(params, False) == n
            assert Shapes().render(params, False, out, np.random.default_rng(n)) == n
            assert len(labels(out)["images"]) == n

    def test_preview_is_one_image_and_matches_frame_zero(self, tmp_path: Path) -> None:
        params = params_for(**SMALL)
        assert Shapes().estimate(params, True) == 1
        preview = render(tmp_path, "preview", seed=5, preview=True, **SMALL)
        assert sorted(p.name for p in preview.iterdir()) == ["job.json", "labels.json", "video_preview.png"]
        assert len(labels(preview)["images"]) == 1
        standard = render(tmp_path, "std", seed=5, **SMALL)
        assert (preview / "video_preview.png").read_bytes() == (standard / "video_preview.png").read_bytes()

    def test_images_are_rgb_at_the_requested_size(self, tmp_path: Path) -> None:
        out = render(tmp_path, "size", **SMALL)
        image = read_png((out / "images/image.000001.png").read_bytes())
        assert image.shape == (80, 96, 3)


class TestLabels:
    def test_pycocotools_loads_labels(self, tmp_path: Path) -> None:
        out = render(tmp_path, "coco", **SMALL)
        coco = COCO(str(out / "labels.json"))
        assert sorted(coco.getImgIds()) == [0, 3, 6]
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["circle", "square", "triangle", "star"]
        for ann in visible(coco.loadAnns(coco.getAnnIds())):
            assert coco.annToMask(ann).any()

    def test_label_fields(self, tmp_path: Path) -> None:
        data = labels(render(tmp_path, "fields", num_objects=8, max_size=0.6, **SMALL))
        assert data["info"]["generator"] == "shapes-v0.1.0"
        assert isinstance(data["info"]["date_created"], str)
        for image in data["images"]:
            assert image["id"] == 3 * image["frame_number"]
            assert image["file_name"] == f"images/image.{image['frame_number']:06d}.png"
            assert 0.0 <= image["metrics"]["mean_image_brightness"] <= 255.0
        ids = [a["id"] for a in data["annotations"]]
        assert ids == list(range(len(ids)))
        for ann in data["annotations"]:
            assert set(ann) >= IDENTITY_KEYS
            if "bbox" not in ann:
                assert set(ann) == IDENTITY_KEYS
                continue
            assert all(len(poly) >= 6 and len(poly) % 2 == 0 for poly in ann["segmentation"])
            assert 0.0 <= ann["percent_occlusion"] < 100.0
            assert 0.0 < ann["percent_in_fov"] <= 100.0
            assert all(isinstance(v, float) for v in [*ann["bbox"], *ann["color"], ann["area"]])

    def test_boxes_and_areas_match_instance_masks(self, tmp_path: Path) -> None:
        out = render(tmp_path, "masks", num_objects=12, max_size=0.7, **SMALL)
        data = labels(out)
        categories = {c["id"]: c for c in data["categories"]}
        with zipfile.ZipFile(out / "segmentation.zip") as archive:
            for image in data["images"]:
                stem = f"image.{image['frame_number']:06d}"
                iseg = read_png(archive.read(f"{stem}.iseg.png"))
                cseg = read_png(archive.read(f"{stem}.cseg.png"))
                anns = visible([a for a in data["annotations"] if a["image_id"] == image["id"]])
                covered = np.zeros(iseg.shape[:2], dtype=bool)
                for ann in anns:
                    colour = np.round(np.array(ann["color"]) * 255).astype(np.uint8)
                    pixels = np.all(iseg == colour, axis=2)
                    ys, xs = np.nonzero(pixels)
                    assert ann["area"] == pixels.sum()
                    x, y, w, h = ann["bbox"]
                    assert abs(x - xs.min()) <= 1 and abs(y - ys.min()) <= 1
                    assert abs(x + w - 1 - xs.max()) <= 1 and abs(y + h - 1 - ys.max()) <= 1
                    category = np.round(np.array(categories[ann["category_id"]]["color"]) * 255)
                    assert np.all(cseg[pixels] == category.astype(np.uint8))
                    covered |= pixels
                assert not iseg[~covered].any() and not cseg[~covered].any()

    def test_no_overlap_means_no_occlusion(self, tmp_path: Path) -> None:
        data = labels(render(tmp_path, "apart", allow_overlap=False, num_objects=10, **SMALL))
        anns = data["annotations"]
        assert anns and all(set(a) > IDENTITY_KEYS for a in anns)
        assert all(a["percent_occlusion"] == 0.0 for a in anns)

    def test_crowded_scene_has_occlusion(self, tmp_path: Path) -> None:
        data = labels(render(tmp_path, "crowd", num_objects=15, min_size=0.4, max_size=0.8, **SMALL))
        assert any(a.get("percent_occlusion", 100.0) > 0.0 for a in data["annotations"])

    def test_shapes_may_leave_the_field_of_view(self, tmp_path: Path) -> None:
        data = labels(render(tmp_path, "edges", num_objects=20, min_size=0.5, max_size=0.9, **SMALL))
        assert any(a.get("percent_in_fov", 100.0) < 100.0 for a in data["annotations"])

    @pytest.mark.parametrize("category", ["CIRCLE", "SQUARE", "TRIANGLE", "STAR"])
    def test_single_category(self, tmp_path: Path, category: str) -> None:
        data = labels(render(tmp_path, category, categories=category, num_images=1,
                             image_width=64, image_height=64))
        wanted = ["circle", "square", "triangle", "star"].index(category.lower())
        assert {a["category_id"] for a in data["annotations"]} == {wanted}


class TestDeterminism:
    @staticmethod
    def outputs(out: Path) -> dict[str, bytes]:
        files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        files.pop("timing.json")  # wall-clock profiling, the one intentionally variable file
        with zipfile.ZipFile(io.BytesIO(files.pop("segmentation.zip"))) as archive:
            files.update({f"zip/{n}": archive.read(n) for n in archive.namelist()})
        return files

    @pytest.mark.parametrize("background", ["PLAIN", "GRADIENT", "NOISE"])
    def test_same_seed_same_bytes(self, tmp_path: Path, background: str) -> None:
        options = {**SMALL, "background": background, "enable_sensor_noise": True}
        first = render(tmp_path, "a", seed=11, **options)
        second = render(tmp_path, "b", seed=11, **options)
        assert self.outputs(first) == self.outputs(second)
        assert (first / "segmentation.zip").read_bytes() == (second / "segmentation.zip").read_bytes()

    def test_other_seed_differs(self, tmp_path: Path) -> None:
        first = render(tmp_path, "a", seed=1, **SMALL)
        second = render(tmp_path, "b", seed=2, **SMALL)
        assert (first / "labels.json").read_bytes() != (second / "labels.json").read_bytes()
        assert (first / "video_preview.png").read_bytes() != (second / "video_preview.png").read_bytes()


class TestLighting:
    def test_brightness_rises_with_lighting_power(self, tmp_path: Path) -> None:
        means = []
        for power in (50.0, 200.0, 400.0, 800.0):
            data = labels(render(tmp_path, f"p{power}", seed=3, lighting_power=power, **SMALL))
            means.append(np.mean([i["metrics"]["mean_image_brightness"] for i in data["images"]]))
        assert means == sorted(means) and len(set(means)) == len(means)

    def test_no_light_is_black(self, tmp_path: Path) -> None:
        out = render(tmp_path, "dark", lighting_power=0.0, **SMALL)
        assert not read_png((out / "video_preview.png").read_bytes()).any()
        assert all(i["metrics"]["mean_image_brightness"] == 0.0 for i in labels(out)["images"])


class TestExtremes:
    def test_tall_crowded_dark_noisy(self, tmp_path: Path) -> None:
        out = render(tmp_path, "tall", num_images=2, image_width=64, image_height=1024, num_objects=20,
                     lighting_power=0.0, enable_sensor_noise=True, background="NOISE",
                     min_size=0.05, max_size=0.9)
        data = labels(out)
        assert len(data["annotations"]) == 40
        assert read_png((out / "images/image.000001.png").read_bytes()).shape == (1024, 64, 3)
        COCO(str(out / "labels.json"))

    def test_tiny_shapes_without_overlap(self, tmp_path: Path) -> None:
        data = labels(render(tmp_path, "tiny", num_images=1, image_width=1024, image_height=64,
                             num_objects=20, min_size=0.05, max_size=0.05, allow_overlap=False))
        assert len(data["annotations"]) == 20
        assert all(a["area"] > 0 for a in data["annotations"])

    def test_crowded_without_overlap_may_drop_shapes(self, tmp_path: Path) -> None:
        data = labels(render(tmp_path, "full", num_images=1, image_width=64, image_height=64,
                             num_objects=20, min_size=0.5, max_size=0.9, allow_overlap=False))
        assert 1 <= len(data["annotations"]) < 20
        assert all(a["percent_occlusion"] == 0.0 for a in data["annotations"])
