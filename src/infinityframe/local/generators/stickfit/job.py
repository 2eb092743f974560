"""One stickfit job, from parameters and a random generator to the files of a result folder.

Everything static (room, light, occluder, camera, the whole animation) is computed once up
front; the per-frame loop only paints the figure, adds noise, labels, and writes.
"""

from __future__ import annotations

import functools
import math
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import orjson
from numpy.typing import NDArray

from . import labels as lab
from . import smplx
from .appearance import random_look, visionfit_look
from .camera import make_camera
from .contact import self_penetrations
from .motion import expected_durations, plan_timeline, sample_motion
from .render import FigureRenderer, SensorNoise
from .scene import Occluder, build_scene, light_on_avatar, scene_lighting
from .skeleton import COCO_INDEX, make_body, pose_joints

__all__ = ["Job", "estimate_frames", "frame_count", "occluded_percent"]

NAME = "stickfit-v0.1.0"
_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 1]
# Masks are long runs of two values: unfiltered run-length deflate is 4x faster and smaller.
_PNG_MASK = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
             cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def frame_count(duration: float, fps: int) -> int:
    """Frames sampled at ``0, 1/fps, …`` up to and including ``duration`` seconds."""
    return math.floor(duration * fps + 1e-9) + 1


def estimate_frames(columns: Mapping[str, Sequence[Any]]) -> list[int]:
    """The expected frame count of each standard job, from the jobs' parameters by column
    (:func:`frame_count` of the expected duration, for every job at once)."""
    fps = np.asarray(columns["frame_rate"], dtype=float).astype(np.int64)
    frames: list[int] = (np.floor(expected_durations(columns) * fps + 1e-9).astype(np.int64) + 1).tolist()
    return frames


def _png(image: NDArray[Any], options: list[int] = _PNG) -> bytes:
    ok, buf = cv2.imencode(".png", image, options)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return bytes(buf.tobytes())


def occluded_percent(person: NDArray[np.uint8], occluder: Occluder) -> float:
    """Percent of a person mask's pixels that ``occluder`` covers (labels' ``percent_occlusion``)."""
    total = cv2.countNonZero(person)
    if not total:
        return 0.0
    x0, y0, x1, y1 = occluder.roi
    hidden = cv2.countNonZero(cv2.bitwise_and(person[y0:y1, x0:x1], occluder.mask[y0:y1, x0:x1]))
    return 100.0 * hidden / total


def _fit_occluder(figure: FigureRenderer, joints: NDArray[np.float64], limit: float,
                  candidates: list[Occluder]) -> int | None:
    """The tallest candidate occluder hiding at most ``limit`` percent of the person in every frame.

    ``candidates`` are the same furniture at falling heights, each inside the projection of
    the one before. Only the person's label mask is drawn (no colour), and only in frames whose
    projected body can reach the furniture, so checking a whole animation costs a fraction of
    rendering it. ``None`` when even the lowest one hides too much.
    """
    if limit >= 100.0:
        return 0
    cam = figure.camera
    x0, y0, x1, y1 = candidates[0].roi  # the tallest: it contains the others
    worst = np.zeros(len(candidates))
    reach = 2.5 * float(figure.radius.max()) * cam.focal
    for frame_joints in joints:
        uv, z = cam.project(frame_joints)
        if (z > 0.1).all():
            margin = reach / float(z.min()) + 2.0
            lo, hi = uv.min(axis=0) - margin, uv.max(axis=0) + margin
            if hi[0] < x0 or lo[0] >= x1 or hi[1] < y0 or lo[1] >= y1:
                continue
        labels = figure.draw(None, frame_joints).labels
        person = np.asarray(cv2.threshold(labels, 0, 255, cv2.THRESH_BINARY)[1], dtype=np.uint8)
        for k, occluder in enumerate(candidates):
            if worst[k] <= limit:
                percent = occluded_percent(person, occluder)
                # Labels hold it rounded to 6 digits, which must not round past the limit either.
                worst[k] = max(worst[k], percent, round(percent, 6))
        if (worst > limit).all():
            return None
    fits = np.flatnonzero(worst <= limit)
    return int(fits[0]) if len(fits) else None


class Job:
    """The prepared state of one job; :meth:`run` writes its files."""

    def __init__(self, params: dict[str, Any], rng: np.random.Generator, preview: bool, name: str = NAME) -> None:
        self.params = params
        self.preview = preview
        self.name = name
        # The VisionFit-named stand-ins carry avatar_identity, outfit, allowable_occlusion, ...;
        # stickfit-v0.1.0 jobs do not, and render exactly as they always have.
        visionfit = "avatar_identity" in params
        # One independent stream per concern: a parameter that changes how much one part draws
        # (more reps, other art) must not reshuffle the others, so re-runs keep their scene.
        streams = [np.random.default_rng(int(s)) for s in rng.integers(0, 2**63, 6)]
        place_rng, look_rng, timeline_rng, wobble_rng, scene_rng, noise_rng = streams
        identity = int(params["avatar_identity"]) if visionfit else None
        self.body = make_body(params["gender"], float(params["relative_height"]), float(params["relative_weight"]),
                              identity)
        self.avatar_xy = place_rng.uniform([-0.4, -0.3], [0.4, 0.3])
        self.avatar_yaw = (180.0 + float(params["relative_avatar_angle_deg"])) % 360.0
        self.camera = make_camera(params, self.avatar_xy, 0.55 * self.body.height)
        exposure = light_on_avatar(scene_lighting(params, self.avatar_xy), self.avatar_xy, 0.75 * self.body.height)
        look = visionfit_look(params, look_rng) if visionfit else random_look(look_rng)
        self.figure = FigureRenderer(self.body, self.camera, exposure, look)
        self.fps = int(params["frame_rate"])
        self.timeline = plan_timeline(params, timeline_rng)
        full_frames = frame_count(self.timeline.duration, self.fps)
        self.num_frames = 1 if preview else full_frames
        # A VisionFit preview poses the whole animation, so that the occluder it keeps (checked
        # against every frame) and its frame are those of the standard job.
        posed = full_frames if visionfit else self.num_frames
        times = np.arange(posed, dtype=np.float64) / self.fps
        self.motion = sample_motion(params, self.timeline, times, wobble_rng)
        local = pose_joints(self.body, self.motion.q)
        offset = np.array([self.avatar_xy[0], self.avatar_xy[1], 0.0])
        if self.motion.heading.any():  # an exercise that turns the body, e.g. a 180° jump squat
            yaws = math.radians(self.avatar_yaw) + self.motion.heading
            c, s_ = np.cos(yaws), np.sin(yaws)
            x, y = local[..., 0], local[..., 1]
            joints = np.stack([c[:, None] * x - s_[:, None] * y, s_[:, None] * x + c[:, None] * y, local[..., 2]], -1)
            joints = joints + offset
        else:
            yaw = math.radians(self.avatar_yaw)
            rz = np.array([[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0, 0, 1.0]])
            joints = local @ rz.T + offset
        limit = float(params["allowable_occlusion"]) if visionfit else None
        t0 = time.perf_counter()
        choose = None if limit is None else functools.partial(_fit_occluder, self.figure, joints, limit)
        self.scene = build_scene(params, self.camera, self.avatar_xy, scene_rng, choose)
        self.setup_seconds = time.perf_counter() - t0
        self.joints = joints[:self.num_frames]
        self.armature = smplx.armature(self.body, self.joints, self.avatar_yaw)
        self.penetrating = self_penetrations(self.body, self.joints)
        # Part label → 255 where the part wears it: the CLOTHING_1 (bottom) and CLOTHING_2 (top) masks.
        wear = self.figure.look.wear
        self.clothing = {member: np.array([0, *(255 if w == kind else 0 for w in wear)], dtype=np.uint8)
                         for member, kind in (("CLOTHING_1", "bottom"), ("CLOTHING_2", "top"))}
        gray = cv2.cvtColor(self.scene.background, cv2.COLOR_BGR2GRAY)
        self.noise = SensorNoise(self.camera.width, self.camera.height, float(gray.mean()),
                                 bool(params["enable_sensor_noise"]), noise_rng)

    def info(self) -> dict[str, Any]:
        """The scene-level ``info`` block of labels.json."""
        cam, p, r = self.camera, self.params, lab.rounded
        return {
            "url": lab.URL, "date_created": lab.DATE_CREATED,
            "camera_pitch": r(cam.pitch_deg), "camera_height": r(cam.position[2]), "camera_yaw": r(cam.yaw_deg),
            "camera_location": [r(v) for v in cam.position],
            "avatar_yaw": r(self.avatar_yaw),
            "avatar_location": [r(self.avatar_xy[0]), r(self.avatar_xy[1]), 0.0],
            "avatar_presenting_gender": str(p["gender"]).lower(),
            "avatar_attire_top": self.figure.look.attire_top,
            "avatar_attire_bottom": self.figure.look.attire_bottom,
            "avatar_identity": self.figure.identity,
            **({"avatar_footwear": self.figure.look.footwear} if "avatar_identity" in p else {}),
            "avatar_betas": [r(p["relative_height"]), r(p["relative_weight"])] + [0.0] * 8,
            "avatar_height": r(self.body.height),
            "avatar_waist_circumference": r(self.body.waist_circumference),
            "camera_P_matrix": lab.matrix(cam.P), "camera_K_matrix": lab.matrix(cam.K),
            "camera_RT_matrix": lab.matrix(cam.RT),
            "has_self_penetrations": bool(self.penetrating.any()),
            "video_name": "video", "scene_id": p["scene"],
            "occluder": None if self.scene.occluder is None else self.scene.occluder.name,
            "num_wall_art": len(self.scene.art),
        }

    def run(self, out_dir: Path) -> int:
        """Render every frame into ``out_dir``; returns the number of frames rendered."""
        out_dir = Path(out_dir)
        (out_dir / "job.json").write_bytes(orjson.dumps({"name": self.name, "params": self.params},
                                                        option=orjson.OPT_INDENT_2))
        cam, fig, occ = self.camera, self.figure, self.scene.occluder
        occ_full = occ.mask if occ is not None else None
        halo = max(2, round(min(cam.width, cam.height) / 64))
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        timing: dict[str, Any] = {"scene_setup": [self.setup_seconds], "frame_render": [],
                                  "frame_annotate": [], "frame_write": []}
        video = archive = None
        if not self.preview:
            fourcc = cv2.VideoWriter.fourcc(*"mp4v")
            video = cv2.VideoWriter(str(out_dir / "video.mp4"), fourcc, float(self.fps), (cam.width, cam.height))
            if not video.isOpened():
                raise RuntimeError("could not open an mp4v video writer")
            archive = zipfile.ZipFile(out_dir / "segmentation.zip", "w", zipfile.ZIP_STORED)
        try:
            for i in range(self.num_frames):
                t0 = time.perf_counter()
                joints = self.joints[i]
                frame = self.scene.background.copy()
                drawn = fig.draw(frame, joints)
                full = np.asarray(cv2.threshold(drawn.labels, 0, 255, cv2.THRESH_BINARY)[1], dtype=np.uint8)
                visible, occlusion = full, 0.0
                if occ is not None:
                    x0, y0, x1, y1 = occ.roi
                    cover = occ.mask[y0:y1, x0:x1]
                    np.copyto(frame[y0:y1, x0:x1], occ.layer[y0:y1, x0:x1], where=cover[:, :, None] > 0)
                    visible = full.copy()
                    hidden = cv2.bitwise_and(full[y0:y1, x0:x1], cover)
                    visible[y0:y1, x0:x1] = cv2.subtract(full[y0:y1, x0:x1], hidden)
                    total = cv2.countNonZero(full)
                    occlusion = 100.0 * cv2.countNonZero(hidden) / total if total else 0.0
                frame = self.noise.apply(frame)
                t1 = time.perf_counter()

                coco_v = fig.visibility(drawn, COCO_INDEX, occ_full)
                arm = self.armature
                world = np.concatenate([arm.joints[i], arm.vertices[i]])
                uv, z = cam.project(world)
                v = fig.point_visibility(drawn, uv, z, arm.owners, occ_full)
                k = len(smplx.SMPLX_JOINTS)
                points = {
                    "armature": lab.joint_points(smplx.SMPLX_JOINTS, uv[:k], z[:k], v[:k], world[:k]),
                    "vertex": lab.joint_points(smplx.VERTEX_KEYPOINTS, uv[k:], z[k:], v[k:], world[k:]),
                    "quaternions": lab.quaternion_table(smplx.QUATERNION_KEYS, arm.quaternions[i]),
                }
                ann = lab.annotation(i, 3 * i, visible, drawn.uv[COCO_INDEX], coco_v, points,
                                     fig.percent_in_fov(joints), occlusion,
                                     lab.cuboid(cam, joints, self.body.r_thigh))
                metrics = lab.frame_metrics(frame, visible, ann["bbox"], self.noise.effective_sigma, halo)
                images.append(lab.image_entry(i, cam, float(self.motion.rep_from_start[i]),
                                              float(self.motion.rep_from_intermediate[i]),
                                              bool(self.penetrating[i]), metrics))
                annotations.append(ann)
                t2 = time.perf_counter()

                if i == 0:
                    (out_dir / "video_preview.png").write_bytes(_png(frame))
                if video is not None and archive is not None:
                    video.write(frame)
                    stem = f"image.{i:06d}"
                    seg = _png(cv2.cvtColor(visible, cv2.COLOR_GRAY2BGR), _PNG_MASK)
                    whole = seg if visible is full else _png(cv2.cvtColor(full, cv2.COLOR_GRAY2BGR), _PNG_MASK)
                    worn = [(f"{stem}.cseg.{name}.png",
                                    _png(cv2.cvtColor(cv2.bitwise_and(lut[drawn.labels], visible), cv2.COLOR_GRAY2BGR),
                                         _PNG_MASK)) for name, lut in self.clothing.items()]
                    for member, data in ((f"{stem}.cseg.png", seg), (f"{stem}.iseg.png", seg),
                                         (f"{stem}.iseg.{i:06d}.png", whole), *worn):
                        archive.writestr(zipfile.ZipInfo(member, date_time=_ZIP_TIME), data)
                t3 = time.perf_counter()
                timing["frame_render"].append(t1 - t0)
                timing["frame_annotate"].append(t2 - t1)
                timing["frame_write"].append(t3 - t2)
        finally:
            if video is not None:
                video.release()
            if archive is not None:
                archive.close()

        labels = {"info": self.info(), "categories": lab.categories(), "images": images,
                  "annotations": annotations}
        (out_dir / "labels.json").write_bytes(orjson.dumps(labels))
        if not self.preview:
            timing["num_frames"] = self.num_frames
            (out_dir / "timing.json").write_bytes(orjson.dumps(timing, option=orjson.OPT_INDENT_2))
        return self.num_frames
