"""A pinhole camera aimed at the avatar, in VisionFit's conventions.

World axes: z up, floor at z = 0. ``K`` has the principal point at the image centre and the
focal length of a 50 mm lens on a 36 mm sensor fitted to the longer image side, like the
real data (355.56 px at 256²). ``RT`` maps world to OpenCV camera coordinates (x right,
y down, z forward); ``P = K @ RT``. Reported yaw and pitch use Blender's camera angles:
pitch 90° looks horizontally, larger looks up; yaw 0° looks along +y.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Camera", "make_camera"]

Array = NDArray[np.float64]
LENS_MM, SENSOR_MM = 50.0, 36.0


@dataclass(frozen=True)
class Camera:
    """Intrinsics, extrinsics and the image size of one camera."""

    K: Array
    R: Array
    t: Array
    position: Array
    width: int
    height: int
    yaw_deg: float
    pitch_deg: float

    @property
    def RT(self) -> Array:
        """The 3×4 world-to-camera matrix."""
        return np.hstack([self.R, self.t[:, None]])

    @property
    def P(self) -> Array:
        """The 3×4 projection matrix ``K @ RT``."""
        return self.K @ self.RT

    @property
    def focal(self) -> float:
        """Focal length in pixels."""
        return float(self.K[0, 0])

    def to_camera(self, points: Array) -> Array:
        """World points ``(..., 3)`` in camera coordinates."""
        out: Array = points @ self.R.T + self.t
        return out

    def project(self, points: Array) -> tuple[Array, Array]:
        """Pixel coordinates ``(..., 2)`` and depths ``(...)`` of world points.

        Points at or behind the camera get depth ≤ 0 and huge but finite pixel coordinates.
        """
        cam = self.to_camera(points)
        z = cam[..., 2]
        zs = np.where(np.abs(z) < 1e-6, 1e-6, z)
        uv = cam[..., :2] / zs[..., None] * self.focal + self.K[:2, 2]
        return np.clip(uv, -1e6, 1e6), z

    def rays(self) -> Array:
        """World-space unit ray direction through every pixel centre, ``(H, W, 3)``."""
        u = np.arange(self.width, dtype=np.float64) + 0.5
        v = np.arange(self.height, dtype=np.float64) + 0.5
        uu, vv = np.meshgrid((u - self.K[0, 2]) / self.focal, (v - self.K[1, 2]) / self.focal)
        d = np.stack([uu, vv, np.ones_like(uu)], axis=-1) @ self.R  # camera → world: R.T @ d
        out: Array = d / np.linalg.norm(d, axis=-1, keepdims=True)
        return out


def _look(forward: Array) -> Array:
    """Rows: camera right, down and forward for a roll-free camera looking along ``forward``."""
    f = forward / np.linalg.norm(forward)
    right = np.cross(f, [0.0, 0.0, 1.0])
    norm = np.linalg.norm(right)
    right = np.array([1.0, 0.0, 0.0]) if norm < 1e-9 else right / norm
    down = np.cross(f, right)
    return np.stack([right, down, f])


def make_camera(params: dict[str, Any], avatar_xy: Array, target_height: float) -> Camera:
    """The camera ``camera_distance`` in front of the avatar along −y, aimed at its torso.

    The relative yaw and pitch then turn the camera away from the avatar, so they move the
    avatar off the image centre (and, at their extremes, partly out of the frame).
    """
    width, height = int(params["image_width"]), int(params["image_height"])
    f = LENS_MM / SENSOR_MM * max(width, height)
    K = np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
    position = np.array([avatar_xy[0], avatar_xy[1] - float(params["camera_distance"]),
                         float(params["camera_height"])])
    aim = np.array([avatar_xy[0], avatar_xy[1], target_height]) - position
    yaw = math.atan2(-aim[0], aim[1]) + math.radians(float(params["relative_camera_yaw_deg"]))
    elevation = math.atan2(aim[2], math.hypot(aim[0], aim[1]))
    elevation += math.radians(float(params["relative_camera_pitch_deg"]))
    elevation = max(-math.radians(89.0), min(math.radians(89.0), elevation))
    forward = np.array([-math.sin(yaw) * math.cos(elevation), math.cos(yaw) * math.cos(elevation),
                        math.sin(elevation)])
    R = _look(forward)
    t = -R @ position
    return Camera(K, R, t, position, width, height, math.degrees(yaw) % 360.0, 90.0 + math.degrees(elevation))
