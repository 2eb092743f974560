"""Drawing one shapes image: backgrounds, outlines, placement, occlusion and lighting.

Everything here is computation on arrays; randomness comes only from the
:class:`numpy.random.Generator` passed in. Per-pixel arithmetic is limited to ``+ - * /``
(correctly rounded everywhere), and the few trigonometric values are per-vertex scalars from
:mod:`math`, so the bytes do not hinge on a CPU's SIMD ``exp``/``sin`` variants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "BACKGROUNDS",
    "CATEGORIES",
    "CATEGORY_COLORS",
    "INSTANCE_COLORS",
    "Frame",
    "Placed",
    "draw_frame",
    "outline",
]

CATEGORIES: tuple[str, ...] = ("circle", "square", "triangle", "star")
# 8-bit so that ``round(color / 255 * 255)`` gives the mask pixel back exactly.
CATEGORY_COLORS: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (255, 225, 25),
)
BACKGROUNDS: tuple[str, ...] = ("PLAIN", "GRADIENT", "NOISE")

# Instance colours are indexed by the object's position in its image, so they only need to be
# distinct within one image; num_objects is at most 20.
INSTANCE_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 255, 255), (128, 0, 0), (0, 128, 0), (0, 0, 128), (128, 128, 0), (128, 0, 128),
    (0, 128, 128), (255, 128, 0), (255, 0, 128), (128, 255, 0), (0, 255, 128), (128, 0, 255),
    (0, 128, 255), (255, 64, 64), (64, 255, 64), (64, 64, 255), (192, 192, 64), (192, 64, 192),
    (64, 192, 192), (160, 160, 160),
)

_SHIFT = 4  # fillPoly fractional bits: vertices snap to 1/16 px rather than whole pixels
_CIRCLE_VERTICES = 64  # keeps the polygon within ~0.6 px of a true circle at 1024 px
_STAR_INNER = 0.4
_MAX_TRIES = 100  # rejection sampling budget per object when overlap is not allowed
_REFERENCE_POWER = 400.0  # the lighting_power at which albedo is shown unscaled at the light's centre

BoolMask = npt.NDArray[np.bool_]
Float32 = npt.NDArray[np.float32]


def outline(category: str, radius: float, angle: float) -> npt.NDArray[np.float64]:
    """Vertices ``(x, y)`` around the origin of a shape inscribed in a circle of ``radius``.

    >>> outline("square", 1.0, 0.0).round(3).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-0.0, -1.0]]
    """
    count = {"circle": _CIRCLE_VERTICES, "square": 4, "triangle": 3, "star": 10}[category]
    points = []
    for k in range(count):
        r = radius * _STAR_INNER if category == "star" and k % 2 else radius
        theta = angle + 2.0 * math.pi * k / count
        points.append((r * math.cos(theta), r * math.sin(theta)))
    return np.array(points, dtype=np.float64)


@dataclass
class Placed:
    """One object: its full rasterised shape and the part of it that falls inside the image."""

    category: int
    mask: BoolMask  # the whole shape, in a box that may stick out of the image
    x0: int
    y0: int
    ys: slice  # the image rows and columns the shape covers
    xs: slice
    inside: BoolMask  # view of ``mask`` restricted to the image
    fill: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def full_area(self) -> int:
        """Pixels of the whole shape, including any part outside the image."""
        return int(np.count_nonzero(self.mask))

    @property
    def fov_area(self) -> int:
        """Pixels of the shape inside the image, whether occluded or not."""
        return int(np.count_nonzero(self.inside))


def _rasterize(category: int, points: npt.NDArray[np.float64], width: int, height: int) -> Placed:
    x0 = math.floor(float(points[:, 0].min()))
    y0 = math.floor(float(points[:, 1].min()))
    w = math.ceil(float(points[:, 0].max())) + 1 - x0
    h = math.ceil(float(points[:, 1].max())) + 1 - y0
    canvas = np.zeros((h, w), dtype=np.uint8)
    fixed = np.rint((points - (x0, y0)) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(canvas, [fixed], 1, cv2.LINE_8, _SHIFT)
    if not canvas.any():
        # A sub-pixel shape may miss every pixel centre; keep the pixel under its centre so
        # that every object has a mask and a defined in-view fraction.
        centre = points.mean(axis=0)
        canvas[min(h - 1, round(centre[1]) - y0), min(w - 1, round(centre[0]) - x0)] = 1
    mask = canvas.astype(bool)
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = max(ix0, min(x0 + w, width)), max(iy0, min(y0 + h, height))
    inside = mask[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
    return Placed(category, mask, x0, y0, slice(iy0, iy1), slice(ix0, ix1), inside)


def _place(rng: np.random.Generator, params: dict[str, Any], width: int, height: int) -> list[Placed]:
    choice = params["categories"]
    allowed = list(range(len(CATEGORIES))) if choice == "ALL" else [CATEGORIES.index(choice.lower())]
    side = min(width, height)
    occupied = np.zeros((height, width), dtype=bool)
    placed: list[Placed] = []
    for _ in range(params["num_objects"]):
        for _try in range(1 if params["allow_overlap"] else _MAX_TRIES):
            category = allowed[int(rng.integers(len(allowed)))]
            radius = 0.5 * side * float(rng.uniform(*sorted((params["min_size"], params["max_size"]))))
            angle = float(rng.uniform(0.0, 2.0 * math.pi))
            # The centre stays in the image, so at least about a quarter of each shape is in view.
            centre = (float(rng.uniform(0.0, width)), float(rng.uniform(0.0, height)))
            obj = _rasterize(category, outline(CATEGORIES[category], radius, angle) + centre, width, height)
            if params["allow_overlap"] or not (occupied[obj.ys, obj.xs] & obj.inside).any():
                occupied[obj.ys, obj.xs] |= obj.inside
                red, green, blue = (float(v) for v in rng.uniform(0.15, 0.95, size=3))
                obj.fill = (red, green, blue)
                placed.append(obj)
                break
    return placed


def _upsample(grid: Float32, width: int, height: int) -> Float32:
    """Bilinear resize in plain numpy (cv2's float paths vary with the CPU's SIMD)."""

    def axis(n_out: int, n_in: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Float32]:
        pos = np.clip((np.arange(n_out, dtype=np.float32) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
        lo = pos.astype(np.intp)
        return lo, np.minimum(lo + 1, n_in - 1), (pos - lo).astype(np.float32)

    y0, y1, wy = axis(height, grid.shape[0])
    x0, x1, wx = axis(width, grid.shape[1])
    wx3, wy3 = wx[None, :, None], wy[:, None, None]
    top = grid[y0][:, x0] * (1 - wx3) + grid[y0][:, x1] * wx3
    bottom = grid[y1][:, x0] * (1 - wx3) + grid[y1][:, x1] * wx3
    return (top * (1 - wy3) + bottom * wy3).astype(np.float32)


def _background(rng: np.random.Generator, kind: str, width: int, height: int) -> Float32:
    if kind == "PLAIN":
        colour = rng.uniform(0.2, 0.8, size=3).astype(np.float32)
        plain: Float32 = np.broadcast_to(colour, (height, width, 3)).copy()
        return plain
    if kind == "GRADIENT":
        start, end = rng.uniform(0.1, 0.9, size=(2, 3)).astype(np.float32)
        angle = float(rng.uniform(0.0, 2.0 * math.pi))
        dx, dy = np.float32(math.cos(angle)), np.float32(math.sin(angle))
        xs, ys = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
        t: Float32 = xs[None, :] * dx + ys[:, None] * dy
        span = float(t.max() - t.min()) or 1.0
        t = ((t - t.min()) / np.float32(span))[:, :, None]
        blend: Float32 = start * (1 - t) + end * t
        return blend
    # NOISE: coarse colour blotches (about 24 px) under a fine per-pixel grain.
    cells = rng.uniform(0.1, 0.9, size=(max(2, height // 24), max(2, width // 24), 3)).astype(np.float32)
    grain = rng.uniform(-0.12, 0.12, size=(height, width, 1)).astype(np.float32)
    noise: Float32 = np.clip(_upsample(cells, width, height) + grain, 0, 1).astype(np.float32)
    return noise


def _light(rng: np.random.Generator, power: float, width: int, height: int) -> Float32:
    """Per-pixel irradiance relative to the reference power: a soft spotlight plus ambient."""
    lx, ly = float(rng.uniform(-0.2, 1.2)) * width, float(rng.uniform(-0.2, 1.2)) * height
    reach = float(rng.uniform(0.6, 1.2)) * max(width, height)
    dx = (np.arange(width, dtype=np.float32) - np.float32(lx)) / np.float32(reach)
    dy = (np.arange(height, dtype=np.float32) - np.float32(ly)) / np.float32(reach)
    falloff = 1 / (1 + dx[None, :] ** 2 + dy[:, None] ** 2)
    light: Float32 = ((0.5 + 0.5 * falloff) * np.float32(power / _REFERENCE_POWER)).astype(np.float32)
    return light


@dataclass
class Frame:
    """One rendered image with what the labels need."""

    rgb: npt.NDArray[np.uint8]  # H×W×3
    label: npt.NDArray[np.int16]  # index of the object seen at each pixel, −1 for background
    objects: list[Placed]


def draw_frame(rng: np.random.Generator, params: dict[str, Any]) -> Frame:
    """Draw one image: background, objects in painter's order, lighting, optional sensor noise."""
    width, height = params["image_width"], params["image_height"]
    albedo = _background(rng, params["background"], width, height)
    objects = _place(rng, params, width, height)
    label = np.full((height, width), -1, dtype=np.int16)
    for index, obj in enumerate(objects):
        albedo[obj.ys, obj.xs][obj.inside] = obj.fill
        label[obj.ys, obj.xs][obj.inside] = index
    power = float(params["lighting_power"])
    linear = albedo * _light(rng, power, width, height)[:, :, None]
    if params["enable_sensor_noise"]:
        # Read noise plus a shot-noise-like term that dominates in dim light.
        sigma = 0.01 + 0.05 * 100.0 / (power + 100.0)
        linear = linear + rng.normal(0.0, sigma, size=linear.shape).astype(np.float32)
    rgb = np.floor(np.clip(linear, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Frame(rgb, label, objects)
