"""VisionFit-rich labels from the local generators, checked against the real v0.4.0 fixture.

The names, order and shapes come from the fixture's ``labels.json`` and ``segmentation.zip``
(not from our own constants), and the readers must give our output and the fixture the same
tables.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from results_helpers import render_job, write_batch_id

import infinityframe as inf
from infinityframe.local.generators.stickfit import contact, smplx
from infinityframe.local.generators.stickfit.poses import _pose
from infinityframe.local.generators.stickfit.skeleton import JOINTS, make_body, pose_joints

JOB = "0b9a6c43-2f8f-4f1e-9a55-7d5f1b0c2e11"
VF = {"num_reps": 2, "frame_rate": 6, "image_width": 128, "image_height": 128, "exercise": "SQUAT-BODYWEIGHT",
      "relative_camera_pitch_deg": 0.0, "relative_camera_yaw_deg": 0.0}
# The local extras visionfit-v0.4.0 takes (the flagship's booleans), which the real v0.4.0 lacks.
LOCAL_EXTRAS = {"randomize_skin_tone", "add_pauses", "add_socks"}


def first_job(batch: Path) -> Path:
    return next(p for p in sorted(batch.iterdir()) if (p / "labels.json").is_file())


def labels_of(job: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((job / "labels.json").read_bytes())
    return data


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    batch = tmp_path_factory.mktemp("visionfit-batch")
    write_batch_id(batch, "visionfit-labels")
    render_job(batch, JOB, "visionfit-v0.4.0", VF, seed=4)
    return batch


@pytest.fixture(scope="module")
def real(fixture_batch: Path) -> dict[str, Any]:
    return labels_of(first_job(fixture_batch))


class TestAgainstTheFixture:
    def test_annotation_keys(self, ours: Path, real: dict[str, Any]) -> None:
        mine = labels_of(ours / JOB)
        assert set(mine["annotations"][0]) == set(real["annotations"][0])
        assert list(mine["images"][0]) == list(real["images"][0])
        assert set(real["info"]) <= set(mine["info"])

    def test_armature_quaternions_and_vertices_by_name_and_order(self, ours: Path, real: dict[str, Any]) -> None:
        theirs, mine = real["annotations"][0], labels_of(ours / JOB)["annotations"]
        for ann in mine:
            assert list(ann["armature_keypoints"]) == list(theirs["armature_keypoints"])  # 55 SMPL-X joints
            assert list(ann["quaternions"]) == list(theirs["quaternions"])  # root + 55
            assert list(ann["vertex_keypoints"]) == list(theirs["vertex_keypoints"])  # 5 head points
            for point in (*ann["armature_keypoints"].values(), *ann["vertex_keypoints"].values()):
                assert set(point) == set(theirs["armature_keypoints"]["pelvis"])
        assert len(mine[0]["armature_keypoints"]) == 55

    def test_coco_ears_are_blank_as_in_every_real_sample(self, ours: Path, real: dict[str, Any]) -> None:
        names = real["categories"][0]["keypoints"]
        ears = [names.index("left_ear"), names.index("right_ear")]
        for ann in (*real["annotations"], *labels_of(ours / JOB)["annotations"]):
            kp = np.array(ann["keypoints"]).reshape(-1, 3)
            assert (kp[ears] == 0).all()
            assert ann["num_keypoints"] == int((kp[:, 2] > 0).sum())
        # The ears' positions are still given, as vertex keypoints.
        ann = labels_of(ours / JOB)["annotations"][0]
        assert ann["vertex_keypoints"]["left_ear"]["v"] > 0

    def test_segmentation_members(self, ours: Path, fixture_batch: Path) -> None:
        def kinds(job: Path) -> set[str]:
            with zipfile.ZipFile(job / "segmentation.zip") as archive:
                return {name.split(".", 2)[2].replace(f"{name.split('.')[1]}.", "#.") for name in archive.namelist()}

        assert kinds(ours / JOB) == kinds(first_job(fixture_batch))

    def test_readers_give_the_same_tables(self, ours: Path, fixture_batch: Path) -> None:
        theirs = inf.read_results(fixture_batch, armature=True)
        mine = inf.read_results(ours, armature=True)
        for table in ("jobs", "frames", "objects", "keypoints"):
            a, b = getattr(theirs, table), getattr(mine, table)
            assert set(b.columns) - LOCAL_EXTRAS == set(a.columns), table
            assert {c: str(b[c].dtype) for c in a.columns} == {c: str(a[c].dtype) for c in a.columns}, table
        assert set(mine.keypoints["keypoint"]) == set(theirs.keypoints["keypoint"])


def _matrix(q: list[float]) -> np.ndarray:
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


class TestQuaternions:
    def test_unit_with_w_first_and_non_negative(self, ours: Path) -> None:
        for ann in labels_of(ours / JOB)["annotations"]:
            q = np.array(list(ann["quaternions"].values()))
            assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5) and (q[:, 0] >= 0).all()
            assert ann["quaternions"]["root"] == [1.0, 0.0, 0.0, 0.0]

    def test_composed_along_the_tree_they_point_every_bone(self, ours: Path) -> None:
        """Local rotations composed from the root turn each rest-pose bone onto the labelled bone."""
        data = labels_of(ours / JOB)
        yaw = np.radians(data["info"]["avatar_yaw"])
        placed = np.array([[np.cos(yaw), -np.sin(yaw), 0.0], [np.sin(yaw), np.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
        to_smplx = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # body axes → SMPL-X axes
        rest = smplx.rest_offsets(make_body("MALE", 0.0, 0.0))  # directions only: any build will do
        moving = 0.0
        for ann in data["annotations"]:
            pts = np.array([[p["x_global"], p["y_global"], p["z_global"]] for p in ann["armature_keypoints"].values()])
            world: list[np.ndarray] = []
            for j, q in enumerate(list(ann["quaternions"].values())[1:]):
                parent = smplx.PARENTS[j]
                world.append((np.eye(3) if parent < 0 else world[parent]) @ _matrix(q))
            for j, parent in enumerate(smplx.PARENTS):
                if parent < 0 or smplx.SMPLX_JOINTS[j] == "spine2":  # spine2's bone stretches as the back bends
                    continue
                bone = pts[j] - pts[parent]
                predicted = placed @ to_smplx.T @ world[parent] @ to_smplx @ rest[j]
                cosine = predicted @ bone / (np.linalg.norm(predicted) * np.linalg.norm(bone))
                assert cosine > 0.999, (smplx.SMPLX_JOINTS[j], cosine)
            moving = max(moving, abs(ann["quaternions"]["left_knee"][0] - 1.0))
        assert moving > 0.05  # a squat bends the knees: the rotations are not all the identity


class TestSelfPenetration:
    def test_a_hand_through_the_torso_is_flagged(self) -> None:
        body = make_body("MALE", 0.0, 0.0)
        rest = pose_joints(body, _pose(np.zeros(1)))  # standing at rest
        assert not contact.self_penetrations(body, rest).any()
        through = rest.copy()
        names = list(JOINTS)
        centre = (rest[0, names.index("pelvis")] + rest[0, names.index("neck")]) / 2
        through[0, names.index("left_hand")] = centre  # the forearm runs from the elbow to the hand
        through[0, names.index("left_elbow")] = centre + np.array([0.0, 0.25, 0.0])
        assert contact.self_penetrations(body, through).tolist() == [True]

    def test_flags_in_images_and_info_agree(self, ours: Path) -> None:
        data = labels_of(ours / JOB)
        flags = [image["has_self_penetrations"] for image in data["images"]]
        assert all(isinstance(f, bool) for f in flags)
        assert data["info"]["has_self_penetrations"] is any(flags)


def _masks(job: Path, frame: int) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(job / "segmentation.zip") as archive:
        return {kind: cv2.imdecode(np.frombuffer(archive.read(f"image.{frame:06d}.{kind}.png"), np.uint8),
                                   cv2.IMREAD_GRAYSCALE) > 0
                for kind in ("cseg", "cseg.CLOTHING_1", "cseg.CLOTHING_2")}


class TestClothingMasks:
    def test_inside_the_person_and_apart(self, ours: Path) -> None:
        for frame in (0, 5):
            m = _masks(ours / JOB, frame)
            assert m["cseg.CLOTHING_1"].any() and m["cseg.CLOTHING_2"].any()
            assert not (m["cseg.CLOTHING_1"] & ~m["cseg"]).any() and not (m["cseg.CLOTHING_2"] & ~m["cseg"]).any()
            assert not (m["cseg.CLOTHING_1"] & m["cseg.CLOTHING_2"]).any()

    def test_follow_the_outfit(self, tmp_path: Path) -> None:
        """Shorts (outfit 1) cover less leg than sweatpants (3); a tank top less arm than a hoodie."""
        area = {}
        for outfit in (1, 3):
            job = render_job(tmp_path, f"outfit-{outfit}", "visionfit-v0.4.0",
                             {**VF, "outfit": outfit, "relative_avatar_angle_deg": 90.0}, seed=4)
            m = _masks(job, 0)
            area[outfit] = (int(m["cseg.CLOTHING_1"].sum()), int(m["cseg.CLOTHING_2"].sum()), int(m["cseg"].sum()))
        assert area[1][2] == area[3][2]  # the same person, pixel for pixel
        assert area[1][0] < area[3][0] and area[1][1] < area[3][1]

    def test_fixture_convention(self, fixture_batch: Path) -> None:
        """In the real sample too, both garments lie inside the person and do not overlap."""
        m = _masks(first_job(fixture_batch), 0)
        assert not (m["cseg.CLOTHING_1"] & ~m["cseg"]).any()
        assert not (m["cseg.CLOTHING_1"] & m["cseg.CLOTHING_2"]).any()


def test_stickfit_labels_are_as_rich(tmp_path: Path) -> None:
    """stickfit-v0.1.0 writes the same label structure (its pixels are pinned elsewhere)."""
    job = render_job(tmp_path, "stick", "stickfit-v0.1.0", {"num_reps": 1, "frame_rate": 6, "image_width": 128,
                                                              "image_height": 128}, seed=1)
    ann = labels_of(job)["annotations"][0]
    assert list(ann["armature_keypoints"]) == list(smplx.SMPLX_JOINTS) and len(ann["quaternions"]) == 56
