"""Tests of the stickfit-v0.1.0 generator: contract, output layout, labels and physics."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO
from scipy.stats import spearmanr

from infinityframe.local.generators.base import evaluate_constraint, validate_job
from infinityframe.local.generators.stickfit import StickFit
from infinityframe.local.generators.stickfit.motion import EXERCISES

GEN = StickFit()
SMALL = {"image_width": 128, "image_height": 128, "frame_rate": 6, "num_reps": 1}


def make_params(**overrides: Any) -> dict[str, Any]:
    params, errors = validate_job(GEN, 0, {**SMALL, **overrides})
    assert not errors, errors
    assert params is not None
    return params


def render(out: Path, seed: int = 0, preview: bool = False, **overrides: Any) -> tuple[int, Path, dict[str, Any]]:
    params = make_params(**overrides)
    out.mkdir(parents=True, exist_ok=True)
    n = GEN.render(params, preview, out, np.random.default_rng(seed))
    return n, out, params


def labels(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "labels.json").read_bytes())
    return data


def load_coco(folder: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(folder / "labels.json"))


def keypoints(data: dict[str, Any]) -> np.ndarray:
    return np.array([a["keypoints"] for a in data["annotations"]]).reshape(-1, 17, 3)


@pytest.fixture(scope="module")
def standard(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, dict[str, Any]]:
    return render(tmp_path_factory.mktemp("standard"), seed=7, num_reps=2, add_wall_art=True)


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, dict[str, Any]]:
    return render(tmp_path_factory.mktemp("preview"), seed=7, preview=True, num_reps=2, add_wall_art=True)


class TestMetadata:
    def test_params_follow_the_api_shape(self) -> None:
        for spec in GEN.params:
            assert set(spec) == {"name", "type", "default_value", "options", "description"}
            assert spec["type"] in {"int", "float", "str", "bool", "uuid"}
            assert spec["description"]
        names = [p["name"] for p in GEN.params]
        assert len(names) == len(set(names))
        assert GEN.name == "stickfit-v0.1.0" and GEN.version == "0.1.0" and GEN.supports_preview

    def test_required_choices_and_defaults(self) -> None:
        specs = {p["name"]: p for p in GEN.params}
        assert {"GYM_1", "BEDROOM_2", "BEDROOM_4", "LIVINGROOM_1", "OFFICE_1"} <= set(
            specs["scene"]["options"]["choices"])
        assert {"SQUAT", "JUMPING_JACK", "ARM_RAISE", "UPPERCUT-LEFT", "UPPERCUT-RIGHT", "LUNGE"} <= set(
            specs["exercise"]["options"]["choices"])
        assert specs["frame_rate"]["options"]["choices"] == [30, 24, 12, 8, 6]
        assert GEN.defaults["scene"] == "BEDROOM_2" and GEN.defaults["state"] is None
        params, errors = validate_job(GEN, 0, {})
        assert not errors and params == GEN.defaults

    def test_delay_constraint_is_advisory(self, tmp_path: Path) -> None:
        (constraint,) = GEN.constraints
        assert constraint["advisory"] is True
        assert evaluate_constraint(constraint["expr"], {"inter_rep_delay_var": 0.1, "inter_rep_delay_avg": 0.5})
        # A spread beyond the mean, as the stock clients draw it, is taken: negative pauses are
        # clipped to none, so the video is shorter than the mean pause would make it.
        wide = {"num_reps": 6, "inter_rep_delay_avg": 0.2, "inter_rep_delay_var": 1.8}
        params, errors = validate_job(GEN, 0, {**SMALL, **wide})
        assert errors == [] and params is not None
        frames, _, _ = render(tmp_path / "wide", **wide)
        assert frames > 0
        steady = GEN.estimate(make_params(**{**wide, "inter_rep_delay_var": 0.0}), False)
        assert GEN.estimate(params, False) > steady  # the clipped mean pause, (0.2 + 1.8)**2 / 7.2 = 0.56 s, not 0.2 s

    def test_estimate(self) -> None:
        params = make_params()
        assert GEN.estimate(params, True) == 1
        fast = GEN.estimate(make_params(rel_baseline_speed=2.0), False)
        slow = GEN.estimate(make_params(rel_baseline_speed=0.5), False)
        assert 1 < fast < slow


class TestStandardOutput:
    def test_files(self, standard: tuple[int, Path, dict[str, Any]]) -> None:
        _, out, params = standard
        assert sorted(p.name for p in out.iterdir()) == [
            "job.json", "labels.json", "segmentation.zip", "timing.json", "video.mp4", "video_preview.png"]
        job = json.loads((out / "job.json").read_bytes())
        assert job == {"name": "stickfit-v0.1.0", "params": params}

    def test_counts_agree(self, standard: tuple[int, Path, dict[str, Any]]) -> None:
        n, out, _ = standard
        data = labels(out)
        timing = json.loads((out / "timing.json").read_bytes())
        assert n == len(data["images"]) == len(data["annotations"]) == timing["num_frames"]
        assert len(timing["frame_render"]) == n
        cap = cv2.VideoCapture(str(out / "video.mp4"))
        frames = 0
        while cap.read()[0]:
            frames += 1
        assert frames == n

    def test_coco_structure(self, standard: tuple[int, Path, dict[str, Any]]) -> None:
        n, out, params = standard
        coco = load_coco(out)
        assert len(coco.getImgIds()) == n and coco.getCatIds(catNms=["person"]) == [0]
        data = labels(out)
        info = data["info"]
        for key in ("url", "date_created", "camera_pitch", "camera_height", "camera_yaw", "camera_location",
                    "avatar_yaw", "avatar_location", "avatar_presenting_gender", "camera_P_matrix",
                    "camera_K_matrix", "camera_RT_matrix", "video_name", "scene_id"):
            assert key in info
        assert info["video_name"] == "video" and info["scene_id"] == params["scene"]
        K, RT, P = (np.array(info[k]) for k in ("camera_K_matrix", "camera_RT_matrix", "camera_P_matrix"))
        np.testing.assert_allclose(K @ RT, P, atol=1e-3)
        assert K[0, 2] == 64 and K[1, 2] == 64
        (category,) = data["categories"]
        assert category["keypoints"][0] == "nose" and len(category["keypoints"]) == 17
        assert category["skeleton"][0] == [16, 14] and len(category["skeleton"]) == 19
        for i, (image, ann) in enumerate(zip(data["images"], data["annotations"], strict=True)):
            assert image["id"] == 3 * i and image["frame_number"] == i and ann["id"] == i
            assert ann["image_id"] == image["id"] and ann["category_id"] == 0 and ann["iscrowd"] == 0
            assert set(image["metrics"]) == {"mean_color_contrast", "mean_brightness_contrast",
                                             "mean_image_brightness", "mean_avatar_brightness",
                                             "mean_avatar_halo_brightness", "snr"}
            x, y, w, h = ann["bbox"]
            assert ann["area"] == pytest.approx(w * h)
            assert min(x, y) >= 0 and x + w <= 128 and y + h <= 128 and w > 0 and h > 0
            assert ann["segmentation"] and all(len(poly) >= 6 and len(poly) % 2 == 0 for poly in ann["segmentation"])
            assert len(ann["keypoints"]) == 51 and all(isinstance(v, int) for v in ann["keypoints"])
            assert ann["num_keypoints"] == sum(v > 0 for v in ann["keypoints"][2::3])
            assert 0 <= ann["percent_in_fov"] <= 100 and ann["percent_occlusion"] == 0
            assert {"pelvis", "left_wrist", "right_ankle"} <= set(ann["armature_keypoints"])
            assert set(ann["armature_keypoints"]["pelvis"]) == {"x", "y", "v", "z", "x_global", "y_global",
                                                                "z_global"}
            assert len(ann["cuboid_coordinates"]) == 8

    @pytest.mark.filterwarnings("ignore::DeprecationWarning")  # raised inside pycocotools' mask decoding
    def test_segmentation_zip(self, standard: tuple[int, Path, dict[str, Any]]) -> None:
        n, out, _ = standard
        coco = load_coco(out)
        with zipfile.ZipFile(out / "segmentation.zip") as archive:
            names = set(archive.namelist())
            expected = {f"image.{i:06d}.{kind}" for i in range(n) for kind in
                        ("cseg.png", "iseg.png", f"iseg.{i:06d}.png", "cseg.CLOTHING_1.png", "cseg.CLOTHING_2.png")}
            assert names == expected
            for i in (0, n // 2, n - 1):
                png = np.frombuffer(archive.read(f"image.{i:06d}.iseg.png"), np.uint8)
                mask = cv2.imdecode(png, cv2.IMREAD_UNCHANGED)
                assert mask.shape == (128, 128, 3) and mask.dtype == np.uint8
                assert set(np.unique(mask).tolist()) <= {0, 255}
                person = mask[:, :, 0] > 0
                # The polygons come from this mask, so they cover nearly the same pixels.
                from_poly = coco.annToMask(coco.loadAnns([i])[0]) > 0
                overlap = (person & from_poly).sum() / max(1, (person | from_poly).sum())
                assert overlap > 0.7

    def test_preview_image_is_first_frame(self, standard: tuple[int, Path, dict[str, Any]]) -> None:
        _, out, _ = standard
        image = cv2.imread(str(out / "video_preview.png"), cv2.IMREAD_UNCHANGED)
        assert image.shape == (128, 128, 3) and image.dtype == np.uint8

    def test_rep_counts(self, standard: tuple[int, Path, dict[str, Any]]) -> None:
        _, out, params = standard
        images = labels(out)["images"]
        start = np.array([im["rep_count_from_start"] for im in images])
        mid = np.array([im["rep_count_from_intermediate"] for im in images])
        assert start[0] == 0 and np.all(np.diff(start) >= 0) and np.all(np.diff(mid) >= 0)
        assert params["num_reps"] - 0.5 <= start[-1] <= params["num_reps"]
        assert 0 < mid[0] < 1 and mid[-1] > start[-1]


class TestPreview:
    def test_preview_files(self, preview: tuple[int, Path, dict[str, Any]]) -> None:
        n, out, _ = preview
        assert n == 1
        assert sorted(p.name for p in out.iterdir()) == ["job.json", "labels.json", "video_preview.png"]
        coco = load_coco(out)
        assert len(coco.getImgIds()) == 1 and len(coco.getAnnIds()) == 1

    def test_preview_matches_first_standard_frame(self, preview: tuple[int, Path, dict[str, Any]],
                                                  standard: tuple[int, Path, dict[str, Any]]) -> None:
        assert (preview[1] / "video_preview.png").read_bytes() == (standard[1] / "video_preview.png").read_bytes()
        assert labels(preview[1])["annotations"][0] == labels(standard[1])["annotations"][0]


class TestDeterminism:
    def test_same_seed_same_bytes(self, tmp_path: Path) -> None:
        over = {"scene": "LIVINGROOM_1", "exercise": "JUMPING_JACK", "add_wall_art": True, "num_reps": 2,
                "max_rel_speed_change": 0.5, "inter_rep_delay_var": 0.4}
        _, a, _ = render(tmp_path / "a", seed=11, **over)
        _, b, _ = render(tmp_path / "b", seed=11, **over)
        _, c, _ = render(tmp_path / "c", seed=12, **over)
        for name in ("labels.json", "video_preview.png", "segmentation.zip", "job.json"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert (a / "labels.json").read_bytes() != (c / "labels.json").read_bytes()
        assert (a / "video_preview.png").read_bytes() != (c / "video_preview.png").read_bytes()

    def test_state_does_not_change_rendering(self, tmp_path: Path) -> None:
        _, a, _ = render(tmp_path / "a", seed=3, preview=True)
        _, b, _ = render(tmp_path / "b", seed=3, preview=True, state="1b3f73c9-0e95-46f7-93c3-ce0ae516b413")
        assert (a / "video_preview.png").read_bytes() == (b / "video_preview.png").read_bytes()


def _random_params(rng: np.random.Generator) -> dict[str, Any]:
    over: dict[str, Any] = {}
    for spec in GEN.params:
        options = spec["options"] or {}
        if spec["type"] == "uuid":
            continue
        if "choices" in options:
            over[spec["name"]] = options["choices"][int(rng.integers(len(options["choices"])))]
        elif spec["type"] == "bool":
            over[spec["name"]] = bool(rng.integers(2))
        elif spec["type"] == "int":
            over[spec["name"]] = int(rng.integers(options["min"], options["max"] + 1))
        else:
            over[spec["name"]] = float(rng.uniform(options["min"], options["max"]))
    over["inter_rep_delay_var"] = min(over["inter_rep_delay_var"], over["inter_rep_delay_avg"])
    # Keep the jobs small; several reps let random pauses and speeds average out.
    over.update(num_reps=int(rng.integers(3, 7)), frame_rate=int(rng.choice([6, 8, 12])),
                image_width=128, image_height=128)
    return over


class TestFrameCount:
    @pytest.mark.parametrize("seed", range(5))
    def test_within_estimate(self, tmp_path: Path, seed: int) -> None:
        over = _random_params(np.random.default_rng(100 + seed))
        n, out, params = render(tmp_path, seed=seed, **over)
        estimate = GEN.estimate(params, False)
        assert abs(n - estimate) <= 0.3 * estimate
        assert n == len(labels(out)["images"]) == json.loads((out / "timing.json").read_bytes())["num_frames"]

    def test_exact_without_randomness(self) -> None:
        from infinityframe.local.generators.stickfit.job import frame_count
        from infinityframe.local.generators.stickfit.motion import plan_timeline

        params = make_params(num_reps=5, inter_rep_delay_avg=0.7, inter_rep_delay_var=0.0, frame_rate=30)
        duration = plan_timeline(params, np.random.default_rng(0)).duration
        assert frame_count(duration, 30) == GEN.estimate(params, False)


DISTANCES = (1.5, 2.25, 3.0, 3.75, 4.5, 5.25)
LIGHTS = (10.0, 150.0, 1200.0)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[float, float], dict[str, Any]]:
    """One small job per (camera distance, lighting power), all from the same seed."""
    root = tmp_path_factory.mktemp("sweep")
    out = {}
    for k, (d, light) in enumerate(itertools.product(DISTANCES, LIGHTS)):
        _, folder, _ = render(root / str(k), seed=5, camera_distance=d, lighting_power=light,
                              image_width=160, image_height=160)
        out[(d, light)] = labels(folder)
    return out


class TestPhysics:

    def test_bbox_area_falls_with_distance(self, sweep: dict[tuple[float, float], dict[str, Any]]) -> None:
        distance = [d for d, _ in sweep]
        area = [np.mean([a["area"] for a in data["annotations"]]) for data in sweep.values()]
        rho, _ = spearmanr(distance, area)
        assert rho <= -0.9

    def test_brightness_rises_with_light(self, sweep: dict[tuple[float, float], dict[str, Any]]) -> None:
        for d in DISTANCES:
            means = [np.mean([im["metrics"]["mean_image_brightness"] for im in sweep[(d, light)]["images"]])
                     for light in LIGHTS]
            assert means[0] < means[1] < means[2], (d, means)

    def test_dark_but_not_black(self, tmp_path: Path) -> None:
        _, dark, _ = render(tmp_path / "dark", seed=1, preview=True, lighting_power=0.0)
        _, lit, _ = render(tmp_path / "lit", seed=1, preview=True, lighting_power=100.0)
        b0 = labels(dark)["images"][0]["metrics"]["mean_image_brightness"]
        b1 = labels(lit)["images"][0]["metrics"]["mean_image_brightness"]
        assert 2 < b0 < b1


class TestKeypoints:
    def test_out_of_frame_keypoints_are_zero(self, tmp_path: Path) -> None:
        _, out, _ = render(tmp_path, seed=2, camera_distance=1.0, relative_camera_pitch_deg=40.0)
        kp = keypoints(labels(out))
        inside = (kp[..., 0] >= 0) & (kp[..., 0] < 128) & (kp[..., 1] >= 0) & (kp[..., 1] < 128)
        assert (kp[..., 2] == 0).any()
        assert np.all(kp[..., 2][~inside] == 0)
        assert np.all(inside[kp[..., 2] > 0])
        # Coordinates are kept for points out of frame (the ankles fall below the image).
        assert (kp[..., 1][kp[..., 2] == 0] >= 128).any()
        for ann in labels(out)["annotations"]:
            assert ann["num_keypoints"] == int((np.array(ann["keypoints"][2::3]) > 0).sum())
            x, y, w, h = ann["bbox"]
            assert min(x, y) >= 0 and x + w <= 128 and y + h <= 128
            assert ann["percent_in_fov"] < 100

    def test_side_view_hides_far_joints(self, tmp_path: Path) -> None:
        _, out, _ = render(tmp_path, seed=2, relative_avatar_angle_deg=90.0, exercise="ARM_RAISE")
        kp = keypoints(labels(out))
        assert (kp[..., 2] == 1).any() and (kp[..., 2] == 2).any()
        # Turned by +90° the avatar shows its right side; its left shoulder and hip are behind.
        left_shoulder, left_hip = 5, 11
        assert (kp[:, left_shoulder, 2] == 1).mean() > 0.8 and (kp[:, left_hip, 2] == 1).mean() > 0.8

    def test_foreground_occluder(self, tmp_path: Path) -> None:
        for seed in range(30):
            n, out, _ = render(tmp_path / str(seed), seed=seed, preview=True, scene="LIVINGROOM_1")
            if labels(out)["info"]["occluder"] is not None:
                break
        else:
            pytest.fail("no seed placed an occluder")
        n, out, _ = render(tmp_path / "video", seed=seed, scene="LIVINGROOM_1", camera_height=0.6)
        data = labels(out)
        assert max(a["percent_occlusion"] for a in data["annotations"]) > 0
        with zipfile.ZipFile(out / "segmentation.zip") as archive:
            for i in range(n):
                def pixels(name: str) -> int:
                    png = np.frombuffer(archive.read(name), np.uint8)
                    return int((cv2.imdecode(png, cv2.IMREAD_GRAYSCALE) > 0).sum())

                # The per-instance mask is the unoccluded body, so never smaller than the visible one.
                assert pixels(f"image.{i:06d}.iseg.{i:06d}.png") >= pixels(f"image.{i:06d}.iseg.png")


class TestExercises:
    @pytest.mark.parametrize("exercise", sorted(EXERCISES))
    def test_moves_and_counts(self, tmp_path: Path, exercise: str) -> None:
        n, out, _ = render(tmp_path, seed=4, exercise=exercise, num_reps=2, kinematic_noise_factor=0.0,
                           inter_rep_delay_avg=0.3, inter_rep_delay_var=0.1)
        data = labels(out)
        joints = np.array([[[p["x_global"], p["y_global"], p["z_global"]] for p in a["armature_keypoints"].values()]
                           for a in data["annotations"]])
        travel = np.linalg.norm(joints - joints[0], axis=-1).max()
        assert travel > 0.2, f"{exercise} barely moves ({travel:.3f} m)"
        start = [im["rep_count_from_start"] for im in data["images"]]
        assert start[0] == 0 and 1.5 <= start[-1] <= 2 and np.all(np.diff(start) >= 0)
        assert n == len(data["images"])


class TestExtremes:
    @pytest.mark.parametrize("overrides", [
        {"lighting_power": 0.0}, {"lighting_power": 2000.0},
        {"camera_distance": 1.0}, {"camera_distance": 5.25},
        {"image_width": 128, "image_height": 512}, {"image_width": 512, "image_height": 128},
        {"camera_height": 0.1, "relative_camera_pitch_deg": -45.0, "relative_camera_yaw_deg": 45.0},
        {"camera_height": 2.75, "relative_camera_pitch_deg": 45.0, "relative_avatar_angle_deg": -180.0},
        {"relative_height": 4.0, "relative_weight": 4.0, "gender": "FEMALE"},
        {"relative_height": -4.0, "relative_weight": -4.0, "enable_sensor_noise": False},
    ])
    def test_renders(self, tmp_path: Path, overrides: dict[str, Any]) -> None:
        n, out, params = render(tmp_path, seed=9, **overrides)
        assert n >= 1
        load_coco(out)
        w, h = params["image_width"], params["image_height"]
        assert cv2.imread(str(out / "video_preview.png")).shape == (h, w, 3)
        for ann in labels(out)["annotations"]:
            x, y, bw, bh = ann["bbox"]
            assert min(x, y) >= 0 and x + bw <= w and y + bh <= h

    @pytest.mark.parametrize("scene", next(p for p in GEN.params if p["name"] == "scene")["options"]["choices"])
    def test_every_scene(self, tmp_path: Path, scene: str) -> None:
        n, out, _ = render(tmp_path, seed=1, preview=True, scene=scene, add_wall_art=True,
                           wall_art_type="misc_human")
        assert n == 1 and labels(out)["info"]["scene_id"] == scene
