"""Rooms, lighting, wall art and a foreground occluder, rendered once per job.

The room is a box (floor z = 0) ray-cast per pixel: every pixel's ray hits the nearest of six
planes, whose texture (planks, tiles, carpet, wall decor, pictures) gives an albedo that a
ceiling point light plus ambient light turns into a colour. Brightness is a saturating
function of the light's power, so more light is always brighter and no light is dim, not black.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .camera import Camera

__all__ = [
    "OCCLUDER_HEIGHTS",
    "SCENES",
    "Lighting",
    "Occluder",
    "RoomSpec",
    "Scene",
    "build_scene",
    "light_on_avatar",
    "scene_lighting",
]

Array = NDArray[np.float64]
RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Decor:
    """A flat rectangle on a wall: ``u`` runs along the wall (x or y), ``z`` up it."""

    wall: str
    u0: float
    u1: float
    z0: float
    z1: float
    rgb: RGB
    emissive: bool = False


@dataclass(frozen=True)
class RoomSpec:
    """A room's box, surface looks, fixed decor and the furniture that may stand in front."""

    half_width: float
    back: float
    front: float
    ceiling: float
    floor: str
    floor_rgb: RGB
    wall_rgb: RGB
    accent_rgb: RGB | None = None
    decor: tuple[Decor, ...] = ()
    rug: bool = False
    occluder_chance: float = 0.0
    occluder_rgb: RGB = (0.4, 0.3, 0.2)
    occluder_size: tuple[float, float, float] = (0.9, 0.5, 0.45)
    occluder_name: str = "bench"


SCENES: dict[str, RoomSpec] = {
    "GYM_1": RoomSpec(4.0, 3.0, -6.5, 4.0, "tiles", (0.16, 0.16, 0.18), (0.78, 0.78, 0.76),
                      accent_rgb=(0.75, 0.15, 0.12),
                      decor=(Decor("back", -3.0, -1.4, 0.0, 0.9, (0.12, 0.12, 0.13)),
                             Decor("left", -3.0, 0.5, 2.3, 3.4, (0.75, 0.85, 0.95), True))),
    "BEDROOM_2": RoomSpec(2.6, 2.2, -6.0, 2.9, "planks", (0.55, 0.38, 0.22), (0.62, 0.72, 0.82),
                          decor=(Decor("back", -2.5, -1.4, 0.0, 2.1, (0.85, 0.82, 0.75)),
                                 Decor("right", -1.5, 0.2, 0.9, 2.2, (0.8, 0.88, 0.97), True),
                                 Decor("left", -3.5, -2.6, 0.0, 2.05, (0.45, 0.3, 0.2)))),
    "BEDROOM_4": RoomSpec(3.0, 2.4, -6.0, 2.9, "carpet", (0.66, 0.60, 0.50), (0.60, 0.68, 0.55),
                          decor=(Decor("back", 1.2, 2.6, 0.9, 2.2, (0.8, 0.88, 0.97), True),
                                 Decor("left", -2.0, 1.0, 0.0, 0.55, (0.9, 0.9, 0.92))),
                          occluder_chance=0.35, occluder_rgb=(0.55, 0.42, 0.3),
                          occluder_size=(0.9, 0.4, 0.45)),
    "LIVINGROOM_1": RoomSpec(3.5, 2.6, -6.2, 3.0, "planks", (0.36, 0.24, 0.15), (0.82, 0.74, 0.62),
                             decor=(Decor("back", -0.9, 0.9, 0.8, 1.8, (0.05, 0.05, 0.06)),
                                    Decor("left", -2.5, -0.5, 0.9, 2.3, (0.8, 0.88, 0.97), True)),
                             rug=True, occluder_chance=0.5, occluder_rgb=(0.3, 0.2, 0.14),
                             occluder_size=(0.8, 0.5, 0.42), occluder_name="coffee_table"),
    "OFFICE_1": RoomSpec(3.2, 2.5, -6.0, 2.9, "carpet_tiles", (0.35, 0.38, 0.42), (0.88, 0.88, 0.85),
                         decor=(Decor("back", -1.0, 1.0, 0.9, 2.0, (0.95, 0.95, 0.95)),
                                Decor("right", -3.0, -2.1, 0.0, 2.05, (0.5, 0.5, 0.52))),
                         occluder_chance=0.5, occluder_rgb=(0.62, 0.6, 0.56),
                         occluder_size=(0.9, 0.55, 0.74), occluder_name="desk"),
    # The three rooms below exist for the VisionFit-named stand-ins only (stickfit-v0.1.0 keeps
    # its five): a pale pink bedroom with a headboard, a dark-carpeted one with a rug and an
    # ottoman, and a teal living room on stone tiles with a bookcase and a sofa.
    "BEDROOM_5": RoomSpec(2.8, 2.3, -6.0, 2.8, "planks", (0.80, 0.68, 0.52), (0.86, 0.72, 0.74),
                          accent_rgb=(0.95, 0.93, 0.90),
                          decor=(Decor("back", -1.3, 1.3, 0.0, 1.15, (0.30, 0.18, 0.12)),
                                 Decor("left", -2.0, -0.4, 1.0, 2.2, (0.8, 0.88, 0.97), True),
                                 Decor("right", -2.8, -2.0, 0.0, 0.7, (0.92, 0.92, 0.9)))),
    "BEDROOM_6": RoomSpec(3.1, 2.5, -6.0, 2.7, "carpet", (0.20, 0.24, 0.40), (0.90, 0.85, 0.62),
                          decor=(Decor("back", 1.4, 2.9, 0.0, 2.2, (0.95, 0.95, 0.93)),
                                 Decor("back", -2.6, -1.4, 1.0, 2.1, (0.8, 0.88, 0.97), True),
                                 Decor("right", -2.5, -1.0, 0.0, 0.5, (0.25, 0.15, 0.1))),
                          rug=True, occluder_chance=0.45, occluder_rgb=(0.55, 0.2, 0.3),
                          occluder_size=(0.7, 0.5, 0.4), occluder_name="ottoman"),
    "LIVINGROOM_2": RoomSpec(3.8, 2.8, -6.5, 3.1, "tiles", (0.70, 0.66, 0.58), (0.38, 0.60, 0.60),
                             accent_rgb=(0.92, 0.90, 0.84),
                             decor=(Decor("back", -3.2, -1.6, 0.0, 2.3, (0.42, 0.28, 0.16)),
                                    Decor("back", 0.4, 2.6, 0.9, 2.2, (0.8, 0.88, 0.97), True),
                                    Decor("right", -2.0, 0.0, 0.6, 1.4, (0.06, 0.06, 0.07))),
                             occluder_chance=0.5, occluder_rgb=(0.24, 0.30, 0.45),
                             occluder_size=(1.1, 0.6, 0.5), occluder_name="sofa"),
}


@dataclass(frozen=True)
class Lighting:
    """A ceiling point light of ``power`` plus ambient and indirect light."""

    power: float
    position: Array

    def irradiance(self, points: Array, normals: Array) -> Array:
        """Light reaching surface points with the given unit normals (arbitrary units)."""
        to_light = self.position - points
        dist2 = np.maximum((to_light**2).sum(axis=-1), 0.05)
        cos = np.maximum(0.0, (to_light * normals).sum(axis=-1) / np.sqrt(dist2))
        scale = self.power / 100.0
        out: Array = 0.05 + 0.25 * scale + 2.2 * scale * cos / dist2
        return out

    @staticmethod
    def exposure(irradiance: Array | float) -> Array:
        """Sensor response in [0, 1): saturating, strictly increasing in the light."""
        return 1.0 - np.exp(-1.6 * np.asarray(irradiance, dtype=np.float64))


@dataclass
class Occluder:
    """A furniture box between camera and avatar, pre-rendered into a layer and a mask."""

    name: str
    corners: Array
    layer: NDArray[np.uint8]
    mask: NDArray[np.uint8]
    roi: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) of the mask's support


@dataclass
class Scene:
    """Everything static in a job: the lit room image, the light and the occluder."""

    background: NDArray[np.uint8]  # BGR
    lighting: Lighting
    occluder: Occluder | None
    art: list[dict[str, Any]] = field(default_factory=list)


def _floor_albedo(spec: RoomSpec, x: Array, y: Array, tex: dict[str, Array]) -> Array:
    base = np.array(spec.floor_rgb)
    if spec.floor == "planks":
        col = np.floor(x / 0.18).astype(np.int64)
        row = np.floor((y + 0.6 * (col % 3)) / 1.2).astype(np.int64)
        tone = tex["table"][(col * 7 + row * 13) % len(tex["table"])]
        grain = 0.04 * np.sin(y * 37.0 + col * 1.7)
        seam = (np.abs(x / 0.18 - np.round(x / 0.18)) < 0.04) | (np.abs((y + 0.6 * (col % 3)) / 1.2
                                                                       - np.round((y + 0.6 * (col % 3)) / 1.2)) < 0.01)
        out = base * (0.85 + 0.3 * tone + grain)[:, None]
        out[seam] *= 0.55
    elif spec.floor in ("tiles", "carpet_tiles"):
        size = 1.0 if spec.floor == "tiles" else 0.5
        ix, iy = np.floor(x / size).astype(np.int64), np.floor(y / size).astype(np.int64)
        tone = tex["table"][(ix * 11 + iy * 5) % len(tex["table"])]
        out = base * (0.9 + 0.2 * tone)[:, None]
        fx, fy = x / size - ix, y / size - iy
        out[(np.minimum(fx, 1 - fx) < 0.012) | (np.minimum(fy, 1 - fy) < 0.012)] *= 0.6
    else:
        out = np.repeat(base[None], x.shape[0], axis=0)
    noise = tex["grain"][(np.floor(y / 0.03).astype(np.int64) % 64), (np.floor(x / 0.03).astype(np.int64) % 64)]
    return np.asarray(out * (1.0 + 0.10 * noise)[:, None])


def _art_albedo(art: dict[str, Any], a: Array, b: Array) -> Array:
    """Picture colours at relative picture coordinates ``a`` (right) and ``b`` (up) in [0, 1]."""
    colors = np.array(art["colors"])
    out = np.repeat(colors[0][None], a.shape[0], axis=0)
    style = art["style"]
    if style == "blocks":
        out = colors[1 + (a > 0.5).astype(np.int64) + 2 * (b > 0.5).astype(np.int64)]
    elif style == "rings":
        r = np.hypot(a - 0.5, (b - 0.5) * art["aspect"])
        out = colors[1 + (np.floor(r / 0.09).astype(np.int64) % 2)]
    elif style == "stripes":
        out = colors[1 + (np.floor((a + b) / 0.12).astype(np.int64) % 3)]
    elif style == "figure":
        asp = art["aspect"]
        head = np.hypot(a - 0.5, (b - 0.8) * asp) < 0.11
        torso = (np.abs(a - 0.5) < 0.11) & (b > 0.42) & (b < 0.7)
        legs = (np.abs(np.abs(a - 0.5) - 0.055) < 0.045) & (b > 0.12) & (b <= 0.42)
        arms = (np.abs(np.abs(a - 0.5) - 0.16) < 0.035) & (b > 0.44) & (b < 0.7)
        out[head] = colors[1]
        out[torso | arms] = colors[2]
        out[legs] = colors[3]
    edge = np.minimum(np.minimum(a, 1 - a), np.minimum(b, 1 - b) / art["aspect"])
    out = np.array(out, dtype=np.float64)
    out[edge < 0.05] = art["frame"]
    return out


def _make_art(params: dict[str, Any], spec: RoomSpec, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Pictures on the back wall, drawn from ``rng`` whether or not they are hung."""
    # Pictures do not hang over windows, the TV or wardrobes.
    free = [u for u in (-1.7, -0.85, 0.0, 0.85, 1.7) if not any(
        d.wall == "back" and d.u0 < u + 0.4 and d.u1 > u - 0.4 and d.z1 > 1.0 for d in spec.decor)]
    count = int(rng.integers(1, 4))
    slots = rng.permutation(np.array(free))[:count]
    human = params["wall_art_type"] == "misc_human"
    pieces = []
    for u in slots:
        width = float(rng.uniform(0.45, 0.75))
        height = width * float(rng.uniform(1.2, 1.5) if human else rng.uniform(0.6, 1.2))
        zc = float(rng.uniform(1.35, 1.75))
        colors = rng.uniform(0.1, 0.95, (5, 3))
        style = "figure" if human else str(rng.choice(["blocks", "rings", "stripes"]))
        if human:
            colors[1] = rng.uniform([0.55, 0.4, 0.3], [0.95, 0.75, 0.6])  # a skin tone for the head
        pieces.append({"wall": "back", "u0": float(u) - width / 2, "u1": float(u) + width / 2,
                       "z0": zc - height / 2, "z1": zc + height / 2, "style": style,
                       "aspect": height / width, "colors": colors.tolist(),
                       "frame": rng.uniform(0.05, 0.5, 3).tolist()})
    return pieces if params["add_wall_art"] else []


def _wall_albedo(spec: RoomSpec, wall: str, u: Array, z: Array, art: list[dict[str, Any]],
                 tex: dict[str, Array]) -> tuple[Array, Array]:
    out = np.repeat(np.array(spec.wall_rgb)[None], u.shape[0], axis=0)
    out *= (1.0 + 0.03 * tex["grain"][(np.floor(z / 0.05).astype(np.int64) % 64),
                                      (np.floor(u / 0.05).astype(np.int64) % 64)])[:, None]
    if spec.accent_rgb is not None:
        out[(z > 1.0) & (z < 1.25)] = spec.accent_rgb
    out[z < 0.1] = (0.92, 0.92, 0.9)
    glow = np.zeros(u.shape[0])
    for d in spec.decor:
        if d.wall != wall:
            continue
        inside = (u >= d.u0) & (u <= d.u1) & (z >= d.z0) & (z <= d.z1)
        out[inside] = d.rgb
        if d.emissive:
            # Window panes with mullions; daylight adds a little light of its own.
            a, b = (u - d.u0) / (d.u1 - d.u0), (z - d.z0) / (d.z1 - d.z0)
            bar = (np.abs(a - 0.5) < 0.02) | (np.abs(b - 0.5) < 0.02) | (np.minimum(a, 1 - a) < 0.03)
            out[inside & bar] = (0.9, 0.9, 0.88)
            glow[inside & ~bar] = 0.35
    for piece in art:
        if piece["wall"] != wall:
            continue
        inside = (u >= piece["u0"]) & (u <= piece["u1"]) & (z >= piece["z0"]) & (z <= piece["z1"])
        if inside.any():
            a = (u[inside] - piece["u0"]) / (piece["u1"] - piece["u0"])
            b = (z[inside] - piece["z0"]) / (piece["z1"] - piece["z0"])
            out[inside] = _art_albedo(piece, a, b)
    return out, glow


_NORMALS = {"floor": (0, 0, 1), "ceiling": (0, 0, -1), "back": (0, -1, 0), "front": (0, 1, 0),
            "left": (1, 0, 0), "right": (-1, 0, 0)}


def _room_image(spec: RoomSpec, camera: Camera, lighting: Lighting, art: list[dict[str, Any]],
                tex: dict[str, Array], avatar_xy: Array) -> NDArray[np.uint8]:
    d = camera.rays().reshape(-1, 3)
    o = camera.position
    hw = spec.half_width
    with np.errstate(divide="ignore", invalid="ignore"):
        hits = np.stack([
            np.where(d[:, 2] < 0, -o[2] / d[:, 2], np.inf),
            np.where(d[:, 2] > 0, (spec.ceiling - o[2]) / d[:, 2], np.inf),
            np.where(d[:, 1] > 0, (spec.back - o[1]) / d[:, 1], np.inf),
            np.where(d[:, 1] < 0, (spec.front - o[1]) / d[:, 1], np.inf),
            np.where(d[:, 0] < 0, (-hw - o[0]) / d[:, 0], np.inf),
            np.where(d[:, 0] > 0, (hw - o[0]) / d[:, 0], np.inf),
        ])
    surface = np.argmin(hits, axis=0)
    t = hits[surface, np.arange(d.shape[0])]
    p = o + t[:, None] * d
    albedo = np.zeros_like(p)
    normals = np.zeros_like(p)
    glow = np.zeros(p.shape[0])
    for sid, name in enumerate(_NORMALS):
        sel = surface == sid
        if not sel.any():
            continue
        normals[sel] = _NORMALS[name]
        ps = p[sel]
        if name == "floor":
            alb = _floor_albedo(spec, ps[:, 0], ps[:, 1], tex)
            if spec.rug:
                rx, ry = ps[:, 0] - avatar_xy[0], ps[:, 1] - avatar_xy[1]
                on = (np.abs(rx) < 1.2) & (ry > -1.8) & (ry < 1.0)
                stripe = (np.floor((ry[on] + 1.8) / 0.2).astype(np.int64) % 2)[:, None]
                alb[on] = np.where(stripe == 0, (0.62, 0.18, 0.15), (0.86, 0.8, 0.66))
            albedo[sel] = alb
        elif name == "ceiling":
            albedo[sel] = (0.85, 0.85, 0.83)
        else:
            u = ps[:, 0] if name in ("back", "front") else ps[:, 1]
            albedo[sel], glow[sel] = _wall_albedo(spec, name, u, ps[:, 2], art, tex)
    light = lighting.irradiance(p, normals) + glow
    rgb = albedo * Lighting.exposure(light)[:, None] * 255.0
    img = np.clip(np.round(rgb), 0, 255).astype(np.uint8).reshape(camera.height, camera.width, 3)
    return np.ascontiguousarray(img[:, :, ::-1])


# Heights tried, as fractions of the furniture's own, when the occlusion must be limited.
OCCLUDER_HEIGHTS = (1.0, 0.8, 0.6, 0.45, 0.3, 0.2)


def _occluder(spec: RoomSpec, params: dict[str, Any], camera: Camera, lighting: Lighting,
              avatar_xy: Array, rng: np.random.Generator, heights: tuple[float, ...] = (1.0,)) -> list[Occluder]:
    """The foreground furniture at each of ``heights`` (fractions of its own), or ``[]`` when absent.

    Its presence, place and size are drawn from ``rng`` once, whatever ``heights`` asks for; a
    lower box lies inside the projection of a taller one, so the lower ones hide less.
    """
    present = rng.uniform() < spec.occluder_chance
    # Off to one side, so that it hides part of the body rather than all of it.
    side = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 0.9)
    frac = rng.uniform(0.3, 0.5)
    jitter = rng.uniform(0.85, 1.15, 3)
    distance = float(params["camera_distance"])
    # Too close to the camera a box would fill the frame, so small rooms shots go without.
    if not present or distance < 2.0:
        return []
    w, dp, full_h = (np.array(spec.occluder_size) * jitter).tolist()
    cx, cy = avatar_xy[0] + side, avatar_xy[1] - frac * distance
    out = []
    for scale in heights:
        h = full_h * scale
        xs, ys, zs = (cx - w / 2, cx + w / 2), (cy - dp / 2, cy + dp / 2), (h, 0.0)
        corners = np.array([[x, y, z] for z in zs for (x, y) in
                            ((xs[0], ys[0]), (xs[1], ys[0]), (xs[1], ys[1]), (xs[0], ys[1]))])
        occluder = _occluder_box(spec, corners, camera, lighting)
        if occluder is not None:
            out.append(occluder)
    return out


def _occluder_box(spec: RoomSpec, corners: Array, camera: Camera, lighting: Lighting) -> Occluder | None:
    """The lit layer and mask of one furniture box with the given corners (top face first)."""
    uv, z = camera.project(corners)
    if (z < 0.1).any():
        return None
    faces = {"top": ([0, 1, 2, 3], (0, 0, 1)), "front": ([4, 5, 1, 0], (0, -1, 0)),
             "left": ([7, 4, 0, 3], (-1, 0, 0)), "right": ([5, 6, 2, 1], (1, 0, 0))}
    layer = np.zeros((camera.height, camera.width, 3), np.uint8)
    mask = np.zeros((camera.height, camera.width), np.uint8)
    base = np.array(spec.occluder_rgb)
    for face, (idx, normal) in faces.items():
        centre = corners[idx].mean(axis=0)
        if np.dot(np.array(normal, float), camera.position - centre) <= 0:
            continue
        e = Lighting.exposure(lighting.irradiance(centre[None], np.array(normal, float)[None]))[0]
        shade = {"top": 1.1, "front": 0.85}.get(face, 0.7)
        bgr = tuple(float(v) for v in np.clip(base * e * shade * 255, 0, 255)[::-1])
        pts = np.round(uv[idx] * 16).astype(np.int32)
        cv2.fillConvexPoly(layer, pts, bgr, cv2.LINE_8, 4)
        cv2.fillConvexPoly(mask, pts, 255, cv2.LINE_8, 4)
    ys_, xs_ = np.nonzero(mask)
    if len(xs_) == 0:
        return None
    roi = (int(xs_.min()), int(ys_.min()), int(xs_.max()) + 1, int(ys_.max()) + 1)
    return Occluder(spec.occluder_name, corners, layer, mask, roi)


def build_scene(params: dict[str, Any], camera: Camera, avatar_xy: Array, rng: np.random.Generator,
                choose_occluder: Callable[[list[Occluder]], int | None] | None = None) -> Scene:
    """Render the static room for one job; all its randomness comes from ``rng``.

    ``choose_occluder``, when given, is shown the foreground furniture at the heights of
    :data:`OCCLUDER_HEIGHTS` (tallest first) and returns the index of the one to keep, or
    ``None`` to leave it out; that is how ``allowable_occlusion`` bounds what it hides.
    Without it the furniture stands at its full height, as in stickfit-v0.1.0.
    """
    spec = SCENES[params["scene"]]
    # Separate streams, so that e.g. changing the wall art leaves the furniture where it was.
    tex_rng, art_rng, occ_rng = (np.random.default_rng(s) for s in rng.integers(0, 2**63, 3))
    tex = {"table": tex_rng.uniform(0, 1, 97), "grain": tex_rng.standard_normal((64, 64))}
    art = _make_art(params, spec, art_rng)
    lighting = scene_lighting(params, avatar_xy)
    background = _room_image(spec, camera, lighting, art, tex, avatar_xy)
    heights = OCCLUDER_HEIGHTS if choose_occluder is not None else (1.0,)
    candidates = _occluder(spec, params, camera, lighting, avatar_xy, occ_rng, heights)
    occluder: Occluder | None = None
    if candidates:
        chosen = 0 if choose_occluder is None else choose_occluder(candidates)
        occluder = None if chosen is None else candidates[chosen]
    if occluder is not None:
        np.copyto(background, occluder.layer, where=occluder.mask[:, :, None] > 0)
    return Scene(background, lighting, occluder, art)


def scene_lighting(params: dict[str, Any], avatar_xy: Array) -> Lighting:
    """The ceiling light of a job's room: above and in front of the avatar, at ``lighting_power``."""
    spec = SCENES[params["scene"]]
    light_pos = np.array([avatar_xy[0] + 0.4, avatar_xy[1] - 1.3, spec.ceiling - 0.15])
    return Lighting(float(params["lighting_power"]), light_pos)


def light_on_avatar(lighting: Lighting, avatar_xy: Array, chest_height: float) -> float:
    """Exposure of a body surface at chest height facing the light."""
    point = np.array([[avatar_xy[0], avatar_xy[1], chest_height]])
    normal = lighting.position - point[0]
    normal = normal / np.linalg.norm(normal)
    return float(Lighting.exposure(lighting.irradiance(point, normal[None]))[0])
