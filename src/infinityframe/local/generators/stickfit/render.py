"""Per-frame rasterisation of the stick figure, its floor shadow, and sensor noise.

Limbs are capsules drawn as thick round-capped lines whose width follows depth, the head an
ellipse, the torso a quad plus capsules; parts are painted far to near. The same geometry is
painted into a part-label image, which gives the person mask and lets keypoint visibility be
decided per pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from .appearance import Look
from .camera import Camera
from .skeleton import JOINTS, PARTS, Body, J

__all__ = ["Drawn", "FigureRenderer", "SensorNoise"]

Array = NDArray[np.float64]
U8 = NDArray[np.uint8]
SHIFT = 4  # sub-pixel bits for cv2 drawing
ONE = 1 << SHIFT
NEAR = 0.05

def _bgr(rgb: Array) -> tuple[float, float, float]:
    r, g, b = np.clip(rgb, 0, 255).tolist()
    return (float(b), float(g), float(r))


@dataclass
class Drawn:
    """What drawing one frame's figure produced.

    Attributes
    ----------
    labels : ndarray of uint8, (H, W)
        Part index + 1 of the nearest body part at each pixel, 0 off the body.
    part_depth : ndarray, (len(PARTS) + 1,)
        Camera depth of each part (entry 0, background, is +inf).
    uv, z : ndarray
        Pixel coordinates ``(J, 2)`` and depths ``(J,)`` of every joint.
    """

    labels: U8
    part_depth: Array
    uv: Array
    z: Array


class FigureRenderer:
    """Draws one avatar with one look, seen by one camera, lit with a fixed exposure."""

    def __init__(self, body: Body, camera: Camera, exposure: float, look: Look) -> None:
        self.body = body
        self.camera = camera
        self.look = look
        self.identity = look.identity
        self.a = np.array([p.a for p in PARTS])
        self.b = np.array([p.b for p in PARTS])
        self.radius = np.array([getattr(body, p.radius) for p in PARTS])
        self.outer: list[tuple[float, float, float]] = []
        self.inner: list[tuple[float, float, float]] = []
        for i in range(len(PARTS)):
            rgb = np.array(look.color_of(i)) * exposure * 255.0
            self.outer.append(_bgr(0.72 * rgb))
            self.inner.append(_bgr(rgb))
        self.shadow_alpha = 0.45 * exposure
        # Surface samples: points on each capsule for the field-of-view percentage.
        k = np.arange(12) + 0.5
        polar, azim = np.arccos(1 - 2 * k / 12), np.pi * (1 + 5**0.5) * k
        self.sphere = np.stack([np.sin(polar) * np.cos(azim), np.sin(polar) * np.sin(azim), np.cos(polar)], -1)
        self.along = np.linspace(0.0, 1.0, 6)
        self.incident = np.zeros((len(JOINTS), len(PARTS) + 1), bool)
        for i, part in enumerate(PARTS):
            self.incident[list(part.joints), i + 1] = True
        self.volume = np.array([p.name in ("torso", "head") for p in PARTS])

    def _shadow(self, frame: U8, joints: Array) -> None:
        cam = self.camera
        centre = joints[[J["left_ankle"], J["right_ankle"]]].mean(axis=0)
        lift = max(0.0, float(joints[:, 2].min()))
        if self.shadow_alpha <= 0.01:
            return
        ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        rad = 0.28 + 2.0 * self.body.r_torso
        ring = np.stack([centre[0] + rad * np.cos(ang), centre[1] + 0.7 * rad * np.sin(ang), np.zeros(16)], -1)
        uv, z = cam.project(ring)
        if (z < NEAR).any():
            return
        x0, y0 = np.floor(uv.min(axis=0)).astype(int)
        x1, y1 = np.ceil(uv.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(cam.width, x1), min(cam.height, y1)
        if x1 <= x0 or y1 <= y0:
            return
        roi = frame[y0:y1, x0:x1]
        overlay = roi.copy()
        pts = np.round((uv - [x0, y0]) * ONE).astype(np.int32)
        cv2.fillConvexPoly(overlay, pts, (0, 0, 0), cv2.LINE_AA, SHIFT)
        alpha = self.shadow_alpha / (1.0 + 4.0 * lift)  # a jump lifts the body off its shadow
        cv2.addWeighted(overlay, alpha, roi, 1.0 - alpha, 0.0, dst=roi)

    def _segment(self, cam_a: Array, cam_b: Array) -> tuple[Array, Array, float] | None:
        """Clip a camera-space segment to the near plane; pixel ends and mean depth."""
        za, zb = cam_a[2], cam_b[2]
        if za < NEAR and zb < NEAR:
            return None
        if za < NEAR:
            cam_a = cam_b + (cam_a - cam_b) * (zb - NEAR) / (zb - za)
        elif zb < NEAR:
            cam_b = cam_a + (cam_b - cam_a) * (za - NEAR) / (za - zb)
        f, c = self.camera.focal, self.camera.K[:2, 2]
        pa = np.clip(cam_a[:2] / cam_a[2] * f + c, -1e5, 1e5)
        pb = np.clip(cam_b[:2] / cam_b[2] * f + c, -1e5, 1e5)
        return pa, pb, float(cam_a[2] + cam_b[2]) / 2

    def draw(self, frame: U8 | None, joints: Array) -> Drawn:
        """Paint the figure with joints ``joints`` (world, ``(J, 3)``) into ``frame`` (BGR).

        With ``frame`` None only the part-label image is drawn (pixel for pixel the same), which
        is what checking the occlusion of a whole animation at set-up needs.
        """
        cam = self.camera
        if frame is not None:
            self._shadow(frame, joints)
        cam_pts = cam.to_camera(joints)
        z = cam_pts[:, 2]
        zs = np.where(np.abs(z) < 1e-6, 1e-6, z)
        uv = np.clip(cam_pts[:, :2] / zs[:, None] * cam.focal + cam.K[:2, 2], -1e6, 1e6)
        depth = np.full(len(PARTS) + 1, np.inf)
        depth[1:] = (z[self.a] + z[self.b]) / 2
        torso = [J["pelvis"], J["neck"], J["left_shoulder"], J["right_shoulder"], J["left_hip"], J["right_hip"]]
        depth[1] = float(z[torso].mean())
        labels = np.zeros((cam.height, cam.width), np.uint8)
        f = cam.focal
        for i in np.argsort(-depth[1:], kind="stable"):
            part, label = PARTS[i], int(i) + 1
            if part.name == "head":
                if z[part.a] < NEAR + self.body.head_r:
                    continue
                centre = uv[part.a]
                r = self.radius[i] * f / z[part.a]
                up = centre - uv[J["neck"]]
                angle = math.degrees(math.atan2(up[1], up[0])) if np.hypot(*up) > 1e-6 else 90.0
                box = ((float(centre[0]), float(centre[1])), (2.3 * r, 2.0 * r), angle)
                if frame is not None:
                    cv2.ellipse(frame, box, self.outer[i], -1, cv2.LINE_AA)
                if frame is not None and r > 3:
                    inner = (box[0], (2.3 * r * 0.8, 2.0 * r * 0.8), angle)
                    cv2.ellipse(frame, inner, self.inner[i], -1, cv2.LINE_AA)
                cv2.ellipse(labels, box, label, -1, cv2.LINE_8)
                continue
            if part.name == "torso":
                self._torso(frame, labels, cam_pts, label, i)
            seg = self._segment(cam_pts[part.a], cam_pts[part.b])
            if seg is None:
                continue
            pa, pb, zm = seg
            width = max(1, round(2 * self.radius[i] * f / zm))
            a_ = (round(pa[0] * ONE), round(pa[1] * ONE))
            b_ = (round(pb[0] * ONE), round(pb[1] * ONE))
            if frame is not None:
                cv2.line(frame, a_, b_, self.outer[i], width, cv2.LINE_AA, SHIFT)
            if frame is not None and width >= 4:
                cv2.line(frame, a_, b_, self.inner[i], max(1, round(width * 0.55)), cv2.LINE_AA, SHIFT)
            cv2.line(labels, a_, b_, label, width, cv2.LINE_8, SHIFT)
        return Drawn(labels, depth, uv, z)

    def _torso(self, frame: U8 | None, labels: U8, cam_pts: Array, label: int, i: int) -> None:
        corners = cam_pts[[J["left_shoulder"], J["right_shoulder"], J["right_hip"], J["left_hip"]]]
        if (corners[:, 2] < NEAR).any():
            return
        f, c = self.camera.focal, self.camera.K[:2, 2]
        uv = np.clip(corners[:, :2] / corners[:, 2:3] * f + c, -1e5, 1e5)
        pts = np.round(uv * ONE).astype(np.int32)
        for tri in (pts[[0, 1, 2]], pts[[0, 2, 3]]):
            if frame is not None:
                cv2.fillConvexPoly(frame, tri, self.inner[i], cv2.LINE_AA, SHIFT)
            cv2.fillConvexPoly(labels, tri, label, cv2.LINE_8, SHIFT)
        for a, b, r in ((0, 1, self.body.r_upper_arm), (3, 2, self.body.r_thigh)):
            width = max(1, round(2 * r * f / float(corners[a, 2] + corners[b, 2]) * 2))
            if frame is not None:
                cv2.line(frame, tuple(pts[a].tolist()), tuple(pts[b].tolist()), self.inner[i], width,
                         cv2.LINE_AA, SHIFT)
            cv2.line(labels, tuple(pts[a].tolist()), tuple(pts[b].tolist()), label, width, cv2.LINE_8, SHIFT)

    def visibility(self, drawn: Drawn, joint_ids: NDArray[np.intp], occluder: U8 | None) -> NDArray[np.int64]:
        """COCO visibility of joints: 0 out of frame, 1 hidden, 2 visible.

        The part painted over a joint's pixel hides it when its surface there is nearer than
        the joint; its depth is read off the part's axis at the point nearest the pixel. A limb
        never hides its own joints (they sit on its axis), but the torso and head are volumes
        that hide their own joints lying behind their axis, like the far shoulder in a side
        view or the nose of a head turned away. The foreground occluder hides what it covers.
        """
        return self.point_visibility(drawn, drawn.uv[joint_ids], drawn.z[joint_ids], self.incident[joint_ids],
                                     occluder)

    def point_visibility(self, drawn: Drawn, uv: Array, z: Array, owners: NDArray[np.bool_],
                         occluder: U8 | None) -> NDArray[np.int64]:
        """:meth:`visibility` of any points on the body: pixels ``uv``, depths ``z``, and for each
        the part labels it lies on (``owners``, one row per point, one column per label)."""
        cam = self.camera
        px, py = np.floor(uv[:, 0]).astype(np.int64), np.floor(uv[:, 1]).astype(np.int64)
        inside = (z > 0) & (px >= 0) & (py >= 0) & (px < cam.width) & (py < cam.height)
        pxc, pyc = np.clip(px, 0, cam.width - 1), np.clip(py, 0, cam.height - 1)
        label = drawn.labels[pyc, pxc].astype(np.int64)
        part = np.maximum(label - 1, 0)
        own = owners[np.arange(len(label)), label]
        ua, ub = drawn.uv[self.a[part]], drawn.uv[self.b[part]]
        axis = ub - ua
        s = np.clip(((uv - ua) * axis).sum(axis=1) / np.maximum((axis**2).sum(axis=1), 1e-9), 0.0, 1.0)
        za, zb = drawn.z[self.a[part]], drawn.z[self.b[part]]
        depth = za + s * (zb - za)  # of the part's axis at the point nearest the pixel
        radius = self.radius[part]
        surface_hides = depth - radius < z - 0.02
        hides = np.where(own, self.volume[part] & (depth < z - 0.5 * radius), surface_hides)
        hidden = (label > 0) & hides
        if occluder is not None:
            hidden |= occluder[pyc, pxc] > 0
        return np.where(inside, np.where(hidden, 1, 2), 0)

    def percent_in_fov(self, joints: Array) -> float:
        """Percent of sampled body-surface points that project inside the image."""
        a, b = joints[self.a], joints[self.b]
        pts = (a[:, None, None, :] + self.along[None, :, None, None] * (b - a)[:, None, None, :]
               + self.radius[:, None, None, None] * self.sphere[None, None, :, :])
        uv, z = self.camera.project(pts.reshape(-1, 3))
        ok = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < self.camera.width) & (uv[:, 1] >= 0) & (
            uv[:, 1] < self.camera.height)
        return float(100.0 * ok.mean())


class SensorNoise:
    """Gaussian read plus shot noise, drawn once per job as a bank of noise tiles.

    Each frame adds a randomly offset window of one tile, which costs one saturating add
    instead of a fresh normal draw per pixel.
    """

    PAD = 24

    def __init__(self, width: int, height: int, mean_level: float, enabled: bool,
                 rng: np.random.Generator) -> None:
        self.width, self.height = width, height
        self.sigma = math.sqrt(1.5**2 + 0.08 * max(0.0, mean_level)) if enabled else 0.0
        self.rng = rng
        shape = (2, height + self.PAD, width + self.PAD, 3)
        self.bank = (np.round(rng.standard_normal(shape, dtype=np.float32) * self.sigma).astype(np.int16)
                     if enabled else None)

    @property
    def effective_sigma(self) -> float:
        """Noise standard deviation in grey levels (quantisation noise when disabled)."""
        return max(self.sigma, 1.0 / math.sqrt(12.0))

    def apply(self, frame: U8) -> U8:
        """The frame with this frame's noise added (saturating)."""
        if self.bank is None:
            return frame
        k, dy, dx = (int(v) for v in self.rng.integers(0, [2, self.PAD, self.PAD]))
        tile = self.bank[k, dy:dy + self.height, dx:dx + self.width]
        return np.asarray(cv2.add(frame, tile, dtype=cv2.CV_8U), dtype=np.uint8)
