"""Tests of the VisionFit parameter surface that stickfit renders (issue 14, item 2).

``visionfit-v0.4.0`` and ``visionfit-flagship-v0.1.0`` are local stand-ins rendered by the
stickfit code; ``stickfit-v0.1.0`` keeps its own parameters and, for the same parameters and
seed, the same pixels as before the VisionFit surface was added (pinned by golden hashes).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from infinityframe.local import generators
from infinityframe.local.generators.base import Generator, validate_job
from infinityframe.local.generators.stickfit import StickFit, VisionFit, VisionFitFlagship
from infinityframe.local.generators.stickfit.motion import expected_duration, plan_timeline
from infinityframe.local.generators.stickfit.poses import VISIONFIT_EXERCISES
from infinityframe.local.generators.stickfit.skeleton import identity_proportions


def render(gen: Generator, out: Path, seed: int, preview: bool, **given: Any) -> tuple[int, Path]:
    params, errors = validate_job(gen, 0, given)
    assert not errors and params is not None, errors
    out.mkdir(parents=True, exist_ok=True)
    return gen.render(params, preview, out, np.random.default_rng(seed)), out


def pixel_hashes(folder: Path, preview: bool) -> dict[str, Any]:
    """Short sha256 of the decoded preview image and of all decoded video frames in order."""
    image = cv2.imread(str(folder / "video_preview.png"), cv2.IMREAD_UNCHANGED)
    out: dict[str, Any] = {"preview": hashlib.sha256(image.tobytes()).hexdigest()[:16]}
    if not preview:
        cap = cv2.VideoCapture(str(folder / "video.mp4"))
        digest, count = hashlib.sha256(), 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            digest.update(frame.tobytes())
            count += 1
        cap.release()
        out["frames"] = (count, digest.hexdigest()[:16])
    return out


SMALL = {"image_width": 128, "image_height": 128, "frame_rate": 6, "num_reps": 2}
# Recorded from stickfit-v0.1.0 before the VisionFit surface existed: a preview, a 2-rep job at
# defaults, and a job with a foreground occluder, wall art, pauses and sensor noise.
GOLDEN = [
    (7, True, SMALL, {"preview": "e6b92252a126423c"}),
    (7, False, SMALL, {"preview": "e6b92252a126423c", "frames": (30, "4c5b7609d1ff137f")}),
    (3, False, {"scene": "LIVINGROOM_1", "exercise": "UPPERCUT-LEFT", "add_wall_art": True, "gender": "FEMALE",
                "camera_height": 0.6, "image_width": 160, "image_height": 128, "frame_rate": 8, "num_reps": 2,
                "inter_rep_delay_var": 0.4, "inter_rep_delay_avg": 0.5},
     {"preview": "b9b421b6cd25dda7", "frames": (23, "2d9ea7320d71aabb")}),
]


class TestStickfitUnchanged:
    @pytest.mark.parametrize(("seed", "preview", "given", "expected"), GOLDEN, ids=["preview", "standard", "occluded"])
    def test_same_pixels_as_before(self, tmp_path: Path, seed: int, preview: bool, given: dict[str, Any],
                                   expected: dict[str, Any]) -> None:
        _, out = render(StickFit(), tmp_path, seed, preview, **given)
        assert pixel_hashes(out, preview) == expected


STICKFIT_KEYS = [
    "scene", "exercise", "gender", "num_reps", "inter_rep_delay_avg", "inter_rep_delay_var", "rel_baseline_speed",
    "max_rel_speed_change", "kinematic_noise_factor", "camera_distance", "camera_height", "add_wall_art",
    "wall_art_type", "relative_height", "relative_weight", "relative_camera_pitch_deg", "lighting_power",
    "relative_avatar_angle_deg", "frame_rate", "image_width", "image_height", "enable_sensor_noise", "state",
    "relative_camera_yaw_deg",
]


class TestStickfitParameters:
    def test_parameter_list_is_unchanged(self) -> None:
        gen = StickFit()
        assert [p["name"] for p in gen.params] == STICKFIT_KEYS
        specs = {p["name"]: p for p in gen.params}
        assert specs["scene"]["options"]["choices"] == ["BEDROOM_2", "BEDROOM_4", "GYM_1", "LIVINGROOM_1", "OFFICE_1"]
        assert specs["exercise"]["options"]["choices"] == [
            "SQUAT", "JUMPING_JACK", "ARM_RAISE", "UPPERCUT-LEFT", "UPPERCUT-RIGHT", "LUNGE", "LATERAL_RAISE",
            "BICEP_CURL", "HIGH_KNEES"]
        assert gen.defaults["num_reps"] == 2 and gen.defaults["frame_rate"] == 12


# ---- the VisionFit names ------------------------------------------------------------------------

VF = VisionFit()
FLAGSHIP = VisionFitFlagship()
VISIONFIT_KEYS = [
    "scene", "exercise", "gender", "num_reps", "inter_rep_delay_avg", "inter_rep_delay_var", "rel_baseline_speed",
    "max_rel_speed_change", "kinematic_noise_factor", "camera_distance", "camera_height", "add_wall_art",
    "wall_art_type", "avatar_identity", "outfit", "hide_shoes", "allowable_occlusion", "relative_height",
    "relative_weight", "relative_camera_pitch_deg", "lighting_power", "relative_avatar_angle_deg", "frame_rate",
    "image_width", "image_height", "enable_sensor_noise", "state", "relative_camera_yaw_deg",
]
FLAGSHIP_EXTRAS = ["randomize_skin_tone", "add_pauses", "add_socks"]
REQUIRED_EXERCISES = {
    "UPPERCUT-LEFT", "UPPERCUT-RIGHT", "SQUAT-BODYWEIGHT", "SQUAT-BACK-BARBELL", "SQUAT-GOBLET+SUMO-DUMBBELL",
    "ARM_RAISE-DUMBBELL", "BICEP_CURL-BARBELL", "BICEP_CURL-ALTERNATING-DUMBBELL", "DEADLIFT-DUMBBELL",
    "LUNGE-CROSSBACK", "PRESS-SINGLE_ARM-DUMBBELL-LEFT", "PRESS-SINGLE_ARM-DUMBBELL-RIGHT",
    "PUSH_PRESS-SINGLE_ARM-DUMBBELL-LEFT", "PUSH_PRESS-SINGLE_ARM-DUMBBELL-RIGHT",
    "SPLIT_SQUAT-SINGLE_ARM-DUMBBELL-LEFT", "SPLIT_SQUAT-SINGLE_ARM-DUMBBELL-RIGHT",
    "TRICEP_KICKBACK-BENT_OVER+SINGLE_ARM-DUMBBELL-LEFT", "TRICEP_KICKBACK-BENT_OVER+SINGLE_ARM-DUMBBELL-RIGHT",
}
# Small, quiet and fast: no sensor noise, so that two renders differ only where a parameter acts.
QUIET = {"image_width": 128, "image_height": 128, "frame_rate": 6, "enable_sensor_noise": False,
         "kinematic_noise_factor": 0.0, "outfit": 0}


def category(exercise: str) -> str:
    """An exercise's category: the name cut at its first ``-``, then at its first ``_<digits>``."""
    return re.split(r"_\d+", exercise.split("-")[0])[0]


def vf_render(out: Path, seed: int = 0, preview: bool = True, gen: Generator = VF,
              **given: Any) -> tuple[int, Path, dict[str, Any]]:
    n, folder = render(gen, out, seed, preview, **{**QUIET, **given})
    return n, folder, json.loads((folder / "labels.json").read_bytes())


def image(folder: Path) -> np.ndarray:
    return cv2.imread(str(folder / "video_preview.png"), cv2.IMREAD_COLOR)


def keypoint(labels: dict[str, Any], index: int, frame: int = 0) -> tuple[int, int]:
    kp = labels["annotations"][frame]["keypoints"]
    return kp[3 * index], kp[3 * index + 1]


def color_at(img: np.ndarray, xy: tuple[int, int]) -> np.ndarray:
    x, y = xy
    return np.median(img[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3), axis=0).astype(float)


NOSE, LEFT_SHOULDER, RIGHT_HIP, LEFT_ANKLE, RIGHT_ANKLE = 0, 5, 12, 15, 16


def joint_xyz(labels: dict[str, Any], name: str, frame: int = 0) -> np.ndarray:
    p = labels["annotations"][frame]["armature_keypoints"][name]
    return np.array([p["x_global"], p["y_global"], p["z_global"]])


class TestMetadata:
    @pytest.mark.parametrize("gen", [VF, FLAGSHIP], ids=lambda g: g.name)
    def test_keys_in_visionfit_order(self, gen: Generator) -> None:
        assert [p["name"] for p in gen.params] == VISIONFIT_KEYS + FLAGSHIP_EXTRAS
        for spec in gen.params:
            assert set(spec) == {"name", "type", "default_value", "options", "description"} and spec["description"]
        assert gen.supports_preview and "stickfit" in gen.description and "stand-in" in gen.description
        assert generators.get(gen.name) is not None and generators.get(gen.name).params == gen.params  # type: ignore[union-attr]
        params, errors = validate_job(gen, 0, {})
        assert not errors and params == gen.defaults

    def test_types_and_ranges(self) -> None:
        specs = {p["name"]: p for p in VF.params}
        for name in ("add_wall_art", "hide_shoes", "enable_sensor_noise", *FLAGSHIP_EXTRAS):
            assert specs[name]["type"] == "bool" and specs[name]["options"] is None
        assert specs["state"]["type"] == "uuid" and specs["state"]["default_value"] is None
        ranges = {"num_reps": (1, 20), "rel_baseline_speed": (0.33, 3.0), "max_rel_speed_change": (0.0, 1.0),
                  "kinematic_noise_factor": (0.0, 2.0), "camera_distance": (1.0, 5.25), "camera_height": (0.1, 2.75),
                  "avatar_identity": (0, 24), "relative_height": (-4.0, 4.0), "relative_weight": (-4.0, 4.0),
                  "relative_camera_yaw_deg": (-45.0, 45.0), "relative_camera_pitch_deg": (-45.0, 45.0),
                  "lighting_power": (0.0, 2000.0), "relative_avatar_angle_deg": (-180.0, 180.0),
                  "image_width": (128, 512), "image_height": (128, 512), "inter_rep_delay_avg": (0.0, 2.0),
                  "inter_rep_delay_var": (0.0, 2.0), "outfit": (-1, 4), "allowable_occlusion": (0.0, 100.0)}
        for name, (lo, hi) in ranges.items():
            assert (specs[name]["options"]["min"], specs[name]["options"]["max"]) == (lo, hi), name
        for name in ("avatar_identity", "outfit", "num_reps", "image_width"):
            assert specs[name]["type"] == "int"
        assert specs["allowable_occlusion"]["type"] == "float"
        assert specs["wall_art_type"]["options"]["choices"] == ["non_human", "misc_human"]
        assert specs["frame_rate"]["options"]["choices"] == [30, 24, 12, 8, 6]
        assert specs["gender"]["options"]["choices"] == ["MALE", "FEMALE"]
        assert sorted(specs["scene"]["options"]["choices"]) == [
            "BEDROOM_2", "BEDROOM_4", "BEDROOM_5", "BEDROOM_6", "GYM_1", "LIVINGROOM_1", "LIVINGROOM_2", "OFFICE_1"]

    def test_exercises(self) -> None:
        choices = next(p for p in VF.params if p["name"] == "exercise")["options"]["choices"]
        assert set(choices) >= REQUIRED_EXERCISES and len(choices) == len(set(choices))
        groups: dict[str, list[str]] = {}
        for name in choices:
            groups.setdefault(category(name), []).append(name)
        # Numbered seed variants fall into one category each, as the real names do.
        assert len(groups["HIGH_KNEES"]) >= 3 and len(groups["180_JUMP_SQUAT"]) >= 2
        assert len(groups["POGO_POGO_LUNGE"]) >= 2 and len(groups["SQUAT"]) == 3
        assert not {"PUSHUP", "BURPEE", "CRUNCHES", "SITUP", "BRIDGE", "SUPERMAN", "V_UP"} & set(groups)

    def test_scenes_look_different(self, tmp_path: Path) -> None:
        rooms = ["BEDROOM_5", "BEDROOM_6", "LIVINGROOM_2", "BEDROOM_2"]
        means = [image(vf_render(tmp_path / room, seed=1, scene=room)[1]).reshape(-1, 3).mean(axis=0)
                 for room in rooms]
        for i in range(len(rooms)):
            for j in range(i + 1, len(rooms)):
                assert np.abs(means[i] - means[j]).max() > 8, (rooms[i], rooms[j])


class TestExercises:
    @pytest.mark.parametrize("exercise", list(VISIONFIT_EXERCISES))
    def test_renders_moves_and_counts(self, tmp_path: Path, exercise: str) -> None:
        n, _, labels = vf_render(tmp_path, seed=4, preview=False, exercise=exercise, num_reps=1)
        joints = np.array([[[p["x_global"], p["y_global"], p["z_global"]] for p in a["armature_keypoints"].values()]
                           for a in labels["annotations"]])
        travel = np.linalg.norm(joints - joints[0], axis=-1).max()
        assert travel > 0.2, f"{exercise} barely moves ({travel:.3f} m)"
        assert joints[..., 2].min() > -0.01, f"{exercise} sinks into the floor"
        start = [im["rep_count_from_start"] for im in labels["images"]]
        assert start[0] == 0 and 0.5 <= start[-1] <= 1 and n == len(labels["images"]) > 1

    def test_jump_squat_turns(self, tmp_path: Path) -> None:
        _, _, left = vf_render(tmp_path / "l", preview=False, exercise="180_JUMP_SQUAT_03-LEFT")
        _, _, right = vf_render(tmp_path / "r", preview=False, exercise="180_JUMP_SQUAT_03-RIGHT")
        for labels in (left, right):  # the shoulders swap sides: the avatar ends facing away
            first = joint_xyz(labels, "left_shoulder", 0) - joint_xyz(labels, "right_shoulder", 0)
            last = joint_xyz(labels, "left_shoulder", -1) - joint_xyz(labels, "right_shoulder", -1)
            assert np.dot(first[:2], last[:2]) < 0


class TestAvatarIdentity:
    def test_skin_and_proportions(self, tmp_path: Path) -> None:
        found = {}
        for identity in (0, 1, 6):
            _, folder, labels = vf_render(tmp_path / str(identity), seed=3, avatar_identity=identity)
            assert labels["info"]["avatar_identity"] == identity
            limbs = [np.linalg.norm(joint_xyz(labels, a) - joint_xyz(labels, b)) for a, b in (
                ("left_hip", "left_knee"), ("left_shoulder", "left_elbow"), ("left_shoulder", "right_shoulder"))]
            found[identity] = (color_at(image(folder), keypoint(labels, NOSE)), np.array(limbs))
        # Identities 0 and 1 have different skin tones; 1 and 6 share one (6 mod 5 = 1).
        assert np.abs(found[0][0] - found[1][0]).max() > 15
        assert np.abs(found[1][0] - found[6][0]).max() <= 3
        for a, b in ((0, 1), (1, 6), (0, 6)):
            ratios = found[a][1] / found[b][1]
            assert np.ptp(ratios) > 0.01, (a, b, ratios)  # not one uniform scale: the proportions differ
        assert identity_proportions(1) != identity_proportions(6)

    def test_same_identity_same_build_across_seeds(self, tmp_path: Path) -> None:
        thighs = []
        for seed in (1, 2):
            _, _, labels = vf_render(tmp_path / str(seed), seed=seed, avatar_identity=9)
            thighs.append(np.linalg.norm(joint_xyz(labels, "left_hip") - joint_xyz(labels, "left_knee")))
        assert thighs[0] == pytest.approx(thighs[1], abs=2e-6)


class TestOutfit:
    def test_fixed_outfits(self, tmp_path: Path) -> None:
        seen = {}
        for outfit in range(5):
            _, folder, labels = vf_render(tmp_path / str(outfit), seed=5, outfit=outfit)
            info = labels["info"]
            chest = (np.array(keypoint(labels, LEFT_SHOULDER)) + np.array(keypoint(labels, RIGHT_HIP))) // 2
            seen[outfit] = ((info["avatar_attire_top"], info["avatar_attire_bottom"]),
                            color_at(image(folder), (int(chest[0]), int(chest[1]))))
        assert seen[0][0] == ("tshirt", "jeans") and seen[1][0] == ("tank_top", "shorts")
        assert len({names for names, _ in seen.values()}) == 5
        for a in range(5):
            for b in range(a + 1, 5):
                assert np.abs(seen[a][1] - seen[b][1]).max() > 20, (a, b)

    def test_drawn_from_the_seed(self, tmp_path: Path) -> None:
        names, chests = set(), []
        for seed in range(6):
            _, folder, labels = vf_render(tmp_path / str(seed), seed=seed, outfit=-1)
            names.add((labels["info"]["avatar_attire_top"], labels["info"]["avatar_attire_bottom"]))
            chest = (np.array(keypoint(labels, LEFT_SHOULDER)) + np.array(keypoint(labels, RIGHT_HIP))) // 2
            chests.append(color_at(image(folder), (int(chest[0]), int(chest[1]))) / max(1.0, image(folder).mean()))
        assert len(names) >= 2
        assert np.ptp(np.array(chests), axis=0).max() > 0.2
        _, a, _ = vf_render(tmp_path / "a", seed=2, outfit=-1)
        _, b, _ = vf_render(tmp_path / "b", seed=2, outfit=-1)
        assert np.array_equal(image(a), image(b))


FEET = {"camera_distance": 3.5, "camera_height": 0.5, "image_width": 160, "image_height": 160,
        "exercise": "SQUAT-BODYWEIGHT"}


class TestFeet:
    def test_shoes_socks_and_bare_feet(self, tmp_path: Path) -> None:
        def feet(name: str, **given: Any) -> tuple[np.ndarray, dict[str, Any]]:
            _, folder, labels = vf_render(tmp_path / name, seed=6, **FEET, **given)
            return image(folder).astype(int), labels

        shoes, labels = feet("shoes", hide_shoes=False)
        bare, bare_labels = feet("bare", hide_shoes=True)
        socks, socks_labels = feet("socks", hide_shoes=True, add_socks=True)
        shoes_socks, _ = feet("shoes_socks", hide_shoes=False, add_socks=True)
        assert labels["info"]["avatar_footwear"] == "shoes" and bare_labels["info"]["avatar_footwear"] == "barefoot"
        assert socks_labels["info"]["avatar_footwear"] == "socks"
        assert np.array_equal(shoes, shoes_socks)  # socks are inside the shoes
        ankles = np.array([keypoint(labels, LEFT_ANKLE), keypoint(labels, RIGHT_ANKLE)])
        for a, b in ((shoes, bare), (bare, socks), (shoes, socks)):
            ys, xs = np.nonzero(np.abs(a - b).max(axis=2) > 10)
            assert len(xs) > 5
            # Only the feet changed: every changed pixel is close to an ankle.
            near = np.min(np.hypot(xs[:, None] - ankles[None, :, 0], ys[:, None] - ankles[None, :, 1]), axis=1)
            assert near.max() < 16


def occlusion(labels: dict[str, Any]) -> np.ndarray:
    return np.array([a["percent_occlusion"] for a in labels["annotations"]])


OCCLUDED = {"scene": "LIVINGROOM_1", "camera_height": 0.6, "num_reps": 2, "exercise": "SQUAT-BODYWEIGHT"}


@pytest.fixture(scope="module")
def occluded_seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, float]:
    """A seed whose living room has a coffee table that hides a good part of the avatar, and how much."""
    root = tmp_path_factory.mktemp("occluded")
    for seed in range(40):
        _, _, labels = vf_render(root / str(seed), seed=seed, preview=False, **OCCLUDED)
        worst = float(occlusion(labels).max())
        if labels["info"]["occluder"] is not None and worst > 5:
            return seed, worst
    pytest.fail("no seed placed an occluder in front of the avatar")


class TestAllowableOcclusion:
    @pytest.mark.parametrize("fraction", [0.0, 0.2, 0.6])
    def test_bounds_every_frame(self, tmp_path: Path, occluded_seed: tuple[int, float], fraction: float) -> None:
        seed, worst = occluded_seed
        limit = fraction * worst
        _, _, labels = vf_render(tmp_path, seed=seed, preview=False, allowable_occlusion=limit, **OCCLUDED)
        assert occlusion(labels).max() <= limit
        if fraction == 0:
            assert not occlusion(labels).any()

    def test_high_limit_keeps_the_occluder(self, tmp_path: Path, occluded_seed: tuple[int, float]) -> None:
        seed, worst = occluded_seed
        _, _, labels = vf_render(tmp_path, seed=seed, preview=False, allowable_occlusion=90.0, **OCCLUDED)
        assert labels["info"]["occluder"] == "coffee_table" and occlusion(labels).max() == pytest.approx(worst)

    def test_preview_is_the_first_frame_of_its_job(self, tmp_path: Path, occluded_seed: tuple[int, float]) -> None:
        seed, worst = occluded_seed
        over = {**OCCLUDED, "allowable_occlusion": 0.3 * worst}
        _, job, job_labels = vf_render(tmp_path / "job", seed=seed, preview=False, **over)
        _, preview, preview_labels = vf_render(tmp_path / "preview", seed=seed, preview=True, **over)
        assert np.array_equal(image(job), image(preview))
        assert preview_labels["info"]["occluder"] == job_labels["info"]["occluder"]


def still_frames(labels: dict[str, Any]) -> int:
    """Frames whose joints are where they were in the frame before."""
    joints = np.array([[[p["x_global"], p["y_global"], p["z_global"]] for p in a["armature_keypoints"].values()]
                       for a in labels["annotations"]])
    return int((np.abs(np.diff(joints, axis=0)).max(axis=(1, 2)) < 1e-9).sum())


class TestPauses:
    def test_add_pauses(self, tmp_path: Path) -> None:
        over = {"num_reps": 3, "inter_rep_delay_avg": 1.0, "inter_rep_delay_var": 0.0, "exercise": "SQUAT-BODYWEIGHT"}
        n_on, _, on = vf_render(tmp_path / "on", preview=False, add_pauses=True, **over)
        n_off, _, off = vf_render(tmp_path / "off", preview=False, add_pauses=False, **over)
        assert n_off < n_on and n_on - n_off >= 2 * 6 - 2  # two pauses of 1 s at 6 fps
        assert still_frames(on) >= 8 and still_frames(off) == 0
        params = {**VF.defaults, **QUIET, **over}
        assert VF.estimate({**params, "add_pauses": False}, False) < VF.estimate({**params, "add_pauses": True}, False)

    def test_estimate_uses_the_clipped_mean_pause(self) -> None:
        params = {**VF.defaults, "num_reps": 4, "inter_rep_delay_avg": 0.2, "inter_rep_delay_var": 1.8,
                  "max_rel_speed_change": 0.0}
        rng = np.random.default_rng(0)
        durations = [plan_timeline(params, rng).duration for _ in range(4000)]
        assert np.mean(durations) == pytest.approx(expected_duration(params), rel=0.01)
        # The unclipped mean would be 0.2 s per pause; clipped it is (0.2 + 1.8)**2 / (4 * 1.8).
        rep = expected_duration({**params, "num_reps": 1})
        assert expected_duration(params) == pytest.approx(4 * rep + 3 * (2.0**2 / 7.2))
        assert expected_duration({**params, "add_pauses": False}) == pytest.approx(4 * rep)


class TestSkinTone:
    @staticmethod
    def skin_to_shirt(folder: Path, labels: dict[str, Any]) -> float:
        # Exposure scales skin and shirt alike and depends on where the seed puts the avatar, so
        # compare the face's brightness with the (fixed) shirt's, not the face's alone.
        img = image(folder)
        chest = (np.array(keypoint(labels, LEFT_SHOULDER)) + np.array(keypoint(labels, RIGHT_HIP))) // 2
        return float(color_at(img, keypoint(labels, NOSE)).sum() / color_at(img, (int(chest[0]), int(chest[1]))).sum())

    def test_randomize_skin_tone(self, tmp_path: Path) -> None:
        tones: dict[bool, list[float]] = {True: [], False: []}
        for randomize in (False, True):
            for seed in range(4):
                _, folder, labels = vf_render(tmp_path / f"{randomize}{seed}", seed=seed, avatar_identity=2,
                                              randomize_skin_tone=randomize)
                tones[randomize].append(self.skin_to_shirt(folder, labels))
        assert np.ptp(tones[False]) < 0.03
        assert np.ptp(tones[True]) > 0.15
