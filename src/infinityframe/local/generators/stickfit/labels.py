"""COCO labels in the layout of VisionFit v0.4.0's ``labels.json``.

As in the real data: ``armature_keypoints`` holds the 55 SMPL-X joints under their names and in
their order, ``vertex_keypoints`` the five head points, ``quaternions`` each joint's rotation
(:mod:`.smplx`); the COCO ears are always ``(0, 0, 0)`` (their positions are in
``vertex_keypoints``); ``has_self_penetrations`` is per image and in ``info``; ``area`` is the
bbox's ``w * h``, not the polygon area, and ``image.id`` is ``3 * frame_number``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .camera import Camera
from .skeleton import COCO_KEYPOINTS, COCO_SKELETON

__all__ = [
    "DATE_CREATED",
    "annotation",
    "categories",
    "frame_metrics",
    "image_entry",
    "mask_polygons",
    "quaternion_table",
    "rounded",
]

# Labels must not depend on the clock, so the creation date is the generator's release date.
DATE_CREATED = "20240601_000000"
URL = "local://infinityframe/stickfit-v0.1.0"  # no public home; readers ignore it
# VisionFit leaves the COCO ears blank in every sample, visible or not.
_BLANK_EARS: NDArray[np.intp] = np.array([COCO_KEYPOINTS.index("left_ear"), COCO_KEYPOINTS.index("right_ear")])


def rounded(value: float, digits: int = 6) -> float:
    """A plain float rounded so that the JSON text is stable across platforms."""
    return round(float(value), digits)


def categories() -> list[dict[str, Any]]:
    """The single ``person`` category with COCO keypoint names and 1-based skeleton."""
    return [{"id": 0, "name": "person", "color": [1.0, 1.0, 1.0], "keypoints": list(COCO_KEYPOINTS),
             "skeleton": [list(pair) for pair in COCO_SKELETON]}]


def matrix(m: NDArray[np.float64]) -> list[list[float]]:
    """A numpy matrix as nested lists of rounded floats."""
    return [[rounded(v) for v in row] for row in m.tolist()]


def image_entry(frame: int, camera: Camera, from_start: float, from_mid: float, penetrating: bool,
                metrics: dict[str, float]) -> dict[str, Any]:
    """One ``images`` entry (id = 3 × frame number, as VisionFit numbers them)."""
    return {"id": 3 * frame, "width": camera.width, "height": camera.height,
            "rep_count_from_start": rounded(from_start), "rep_count_from_intermediate": rounded(from_mid),
            "frame_number": frame, "has_self_penetrations": bool(penetrating),
            "metrics": {k: rounded(v) for k, v in metrics.items()}}


def mask_polygons(mask: NDArray[np.uint8]) -> tuple[list[list[float]], list[float]]:
    """Outer contours of a mask as flat COCO polygons, and their bbox ``[x, y, w, h]``.

    The bbox spans the polygon vertices (pixel coordinates), like VisionFit's, so it always
    lies inside the image; it is all zeros when the mask is empty.
    """
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return [], [0.0, 0.0, 0.0, 0.0]
    points = np.concatenate([c.reshape(-1, 2) for c in contours])
    x0, y0 = points.min(axis=0).tolist()
    x1, y1 = points.max(axis=0).tolist()
    polygons = [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]
    return polygons, [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def _point(uv: NDArray[np.float64], z: float, v: int, world: NDArray[np.float64]) -> dict[str, Any]:
    return {"x": int(np.floor(uv[0])), "y": int(np.floor(uv[1])), "v": int(v), "z": rounded(z),
            "x_global": rounded(world[0]), "y_global": rounded(world[1]), "z_global": rounded(world[2])}


def annotation(ann_id: int, image_id: int, mask: NDArray[np.uint8], coco_uv: NDArray[np.float64],
               coco_v: NDArray[np.int64], armature: dict[str, Any], percent_in_fov: float,
               percent_occlusion: float, cuboid: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``person`` annotation for one frame.

    ``mask`` is the visible person mask (after the foreground occluder), from which come the
    polygons and bbox. Keypoints out of the frame keep their coordinates with v = 0.
    """
    polygons, bbox = mask_polygons(mask)
    coco = np.concatenate([np.floor(coco_uv).astype(np.int64), coco_v[:, None]], axis=1)
    coco[_BLANK_EARS] = 0
    keypoints: list[int] = coco.reshape(-1).tolist()
    return {
        "id": ann_id, "image_id": image_id, "category_id": 0, "iscrowd": 0, "color": [1.0, 1.0, 1.0],
        "bbox": bbox, "area": bbox[2] * bbox[3], "segmentation": polygons,
        "keypoints": keypoints, "num_keypoints": int((coco[:, 2] > 0).sum()),
        "armature_keypoints": armature["armature"], "vertex_keypoints": armature["vertex"],
        "quaternions": armature["quaternions"],
        "cuboid_coordinates": cuboid, "percent_in_fov": rounded(percent_in_fov),
        "percent_occlusion": rounded(percent_occlusion),
    }


def joint_points(names: list[str] | tuple[str, ...], uv: NDArray[np.float64], z: NDArray[np.float64],
                 v: NDArray[np.int64], world: NDArray[np.float64]) -> dict[str, Any]:
    """``{name: {x, y, v, z, x_global, y_global, z_global}}`` for the given joints."""
    return {n: _point(uv[i], float(z[i]), int(v[i]), world[i]) for i, n in enumerate(names)}


def quaternion_table(names: tuple[str, ...], q: NDArray[np.float64]) -> dict[str, list[float]]:
    """``{name: [w, x, y, z]}`` of one frame's rotations ``(len(names), 4)``."""
    return {n: [rounded(v) for v in row] for n, row in zip(names, q.tolist(), strict=True)}


def cuboid(camera: Camera, joints: NDArray[np.float64], margin: float) -> list[dict[str, Any]]:
    """The 8 corners of the body's axis-aligned box: top face 0-1-2-3, then bottom 4-5-6-7."""
    lo, hi = joints.min(axis=0) - margin, joints.max(axis=0) + margin
    lo[2] = max(0.0, float(joints[:, 2].min()) - margin)
    xy = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
    corners = np.array([[x, y, zz] for zz in (hi[2], lo[2]) for (x, y) in xy])
    uv, z = camera.project(corners)
    return [{"x": int(np.floor(p[0])), "y": int(np.floor(p[1])), "z": rounded(d)} for p, d in zip(uv, z, strict=True)]


def frame_metrics(frame: NDArray[np.uint8], mask: NDArray[np.uint8], bbox: list[float], sigma: float,
                  halo: int) -> dict[str, float]:
    """Image-quality metrics of one frame (grey levels 0–255).

    ``mean_avatar_brightness`` is over the visible person, ``mean_avatar_halo_brightness`` over a
    ``halo``-pixel ring around it; ``mean_brightness_contrast`` is their absolute difference and
    ``mean_color_contrast`` the RGB distance of their mean colours divided by √3 (same scale).
    ``snr`` is the power ratio (mean image brightness / noise σ)².
    """
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    image_mean = float(cv2.mean(gray)[0])
    out = {"mean_color_contrast": 0.0, "mean_brightness_contrast": 0.0, "mean_image_brightness": image_mean,
           "mean_avatar_brightness": 0.0, "mean_avatar_halo_brightness": 0.0,
           "snr": (image_mean / sigma) ** 2}
    if bbox[2] <= 0 and bbox[3] <= 0:
        return out
    h, w = mask.shape
    x0, y0 = max(0, int(bbox[0]) - halo), max(0, int(bbox[1]) - halo)
    x1, y1 = min(w, int(bbox[0] + bbox[2]) + halo + 1), min(h, int(bbox[1] + bbox[3]) + halo + 1)
    m = mask[y0:y1, x0:x1]
    if not m.any():
        return out
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * halo + 1, 2 * halo + 1))
    ring = cv2.subtract(cv2.dilate(m, kernel), m)
    roi, groi = frame[y0:y1, x0:x1], gray[y0:y1, x0:x1]
    avatar_bgr, halo_bgr = np.array(cv2.mean(roi, m)[:3]), np.array(cv2.mean(roi, ring)[:3])
    avatar, around = float(cv2.mean(groi, m)[0]), float(cv2.mean(groi, ring)[0])
    out.update(mean_color_contrast=float(np.linalg.norm(avatar_bgr - halo_bgr) / np.sqrt(3.0)),
               mean_brightness_contrast=abs(avatar - around), mean_avatar_brightness=avatar,
               mean_avatar_halo_brightness=around)
    return out
