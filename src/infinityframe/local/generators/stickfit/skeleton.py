"""A 3-D stick-figure body: joints, COCO-17 keypoints and forward kinematics.

Local avatar frame: +x is the avatar's right, +y the way it faces, +z up; the origin is on the
floor under the pelvis. Poses are arrays of joint *channels* (see :data:`CHANNELS`); every
limb segment is given as a direction by its elevation from straight down and its azimuth
(0 = out to the limb's own side, pi/2 = forward, -pi/2 = backward).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CHANNELS",
    "COCO_INDEX",
    "COCO_KEYPOINTS",
    "COCO_SKELETON",
    "JOINTS",
    "PARTS",
    "Body",
    "Part",
    "identity_proportions",
    "make_body",
    "pose_joints",
]

Array = NDArray[np.float64]

JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "spine3", "neck", "head", "nose",
    "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_foot", "right_foot",
)
J: dict[str, int] = {name: i for i, name in enumerate(JOINTS)}

COCO_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO_INDEX: NDArray[np.intp] = np.array([J[n] for n in COCO_KEYPOINTS], dtype=np.intp)
COCO_SKELETON: list[list[int]] = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
    [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]

CHANNELS: tuple[str, ...] = (
    "lean", "twist", "side_bend", "head_pitch",
    "l_ua_elev", "l_ua_azim", "l_fa_elev", "l_fa_azim",
    "r_ua_elev", "r_ua_azim", "r_fa_elev", "r_fa_azim",
    "l_th_elev", "l_th_azim", "l_sh_elev", "l_sh_azim",
    "r_th_elev", "r_th_azim", "r_sh_elev", "r_sh_azim",
    "jump",
)
C: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}


@dataclass(frozen=True)
class Part:
    """One drawable body part: a capsule from joint ``a`` to ``b`` (or the head ellipse).

    Attributes
    ----------
    name : str
        Part name, also its label in the per-frame part image (index + 1).
    a, b : int
        Joint indices of the capsule ends.
    radius : str
        Name of the :class:`Body` attribute holding the capsule radius.
    clothing : str
        ``"skin"``, ``"top"``, ``"bottom"`` or ``"shoes"``: which palette colour it wears.
    joints : tuple of int
        Joints that lie on this part's surface, so that covering them is not occluding them.
    """

    name: str
    a: int
    b: int
    radius: str
    clothing: str
    joints: tuple[int, ...]


def _part(name: str, a: str, b: str, radius: str, clothing: str, *extra: str) -> Part:
    return Part(name, J[a], J[b], radius, clothing, tuple(J[n] for n in (a, b, *extra)))


# The torso is drawn as a filled quad between shoulders and hips plus this spine capsule.
PARTS: tuple[Part, ...] = (
    _part("torso", "pelvis", "spine3", "r_torso", "top", "left_hip", "right_hip", "spine1", "neck",
          "left_shoulder", "right_shoulder"),
    _part("neck", "neck", "head", "r_neck", "skin"),
    _part("head", "head", "head", "head_r", "skin", "nose", "left_eye", "right_eye", "left_ear", "right_ear"),
    _part("left_upper_arm", "left_shoulder", "left_elbow", "r_upper_arm", "top"),
    _part("right_upper_arm", "right_shoulder", "right_elbow", "r_upper_arm", "top"),
    _part("left_forearm", "left_elbow", "left_hand", "r_forearm", "skin", "left_wrist"),
    _part("right_forearm", "right_elbow", "right_hand", "r_forearm", "skin", "right_wrist"),
    _part("left_thigh", "left_hip", "left_knee", "r_thigh", "bottom"),
    _part("right_thigh", "right_hip", "right_knee", "r_thigh", "bottom"),
    _part("left_shin", "left_knee", "left_ankle", "r_shin", "bottom"),
    _part("right_shin", "right_knee", "right_ankle", "r_shin", "bottom"),
    _part("left_foot", "left_ankle", "left_foot", "r_foot", "shoes"),
    _part("right_foot", "right_ankle", "right_foot", "r_foot", "shoes"),
)


@dataclass(frozen=True)
class Body:
    """Segment lengths and capsule radii of one avatar, in metres."""

    thigh: float
    shin: float
    ankle_h: float
    foot: float
    torso: float
    neck_len: float
    head_r: float
    shoulder_half: float
    shoulder_drop: float
    hip_half: float
    upper_arm: float
    forearm: float
    hand: float
    r_torso: float
    r_neck: float
    r_upper_arm: float
    r_forearm: float
    r_thigh: float
    r_shin: float
    r_foot: float

    @property
    def height(self) -> float:
        """Standing height from the floor to the top of the head."""
        return self.ankle_h + self.shin + self.thigh + self.torso + self.neck_len + 2.2 * self.head_r

    @property
    def waist_circumference(self) -> float:
        """Waist girth of the torso capsule and hip width, for ``info``."""
        return float(2.0 * np.pi * self.r_torso + 2.0 * self.hip_half)


def identity_proportions(identity: int) -> dict[str, float]:
    """Small per-identity scale factors (within ±5%) of legs, arms, torso, shoulders and head.

    A fixed closed form of the identity, so identity 7 has the same build on every platform
    and in every job; :func:`make_body` applies them.

    >>> identity_proportions(3) == identity_proportions(3) != identity_proportions(4)
    True
    """
    golden = 2.399963  # the golden angle: consecutive identities land far apart
    return {part: 1.0 + 0.05 * math.sin(golden * (identity + 1) * (k + 1) + k)
            for k, part in enumerate(("legs", "arms", "torso", "shoulders", "head"))}


def make_body(gender: str, relative_height: float, relative_weight: float, identity: int | None = None) -> Body:
    """The body of an avatar of the given gender and relative shape.

    ``relative_height`` scales every length by about 4% per unit and ``relative_weight`` every
    girth by about 9% per unit, like the first two SMPL-X shape coefficients. An ``identity``
    (``avatar_identity``) adds its own small differences in limb and torso ratios
    (:func:`identity_proportions`); without one the body is the plain average build.
    """
    female = gender == "FEMALE"
    s = (0.93 if female else 1.0) * (1.0 + 0.04 * relative_height)
    g = max(0.55, 1.0 + 0.09 * relative_weight) * (0.94 if female else 1.0)
    shoulders = 0.90 if female else 1.0
    hips = 1.10 if female else 1.0
    k = identity_proportions(identity) if identity is not None else dict.fromkeys(
        ("legs", "arms", "torso", "shoulders", "head"), 1.0)
    legs, arms, torso, head = s * k["legs"], s * k["arms"], s * k["torso"], s * k["head"]
    return Body(
        thigh=0.44 * legs, shin=0.42 * legs, ankle_h=0.08 * s, foot=0.17 * s, torso=0.50 * torso,
        neck_len=0.08 * s, head_r=0.10 * head,
        shoulder_half=0.19 * s * shoulders * (0.85 + 0.15 * g) * k["shoulders"],
        shoulder_drop=0.03 * s, hip_half=0.095 * s * hips * (0.8 + 0.2 * g), upper_arm=0.30 * arms,
        forearm=0.26 * arms, hand=0.08 * arms, r_torso=0.12 * s * g, r_neck=0.05 * s * g,
        r_upper_arm=0.05 * s * g, r_forearm=0.04 * s * g, r_thigh=0.08 * s * g,
        r_shin=0.055 * s * g, r_foot=0.045 * s,
    )


def _rot(axis: int, angle: Array) -> Array:
    """Rotation matrices about one coordinate axis, shape ``(n, 3, 3)``."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros((angle.shape[0], 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[:, axis, axis] = 1.0
    out[:, i, i] = c
    out[:, j, j] = c
    out[:, i, j] = -s
    out[:, j, i] = s
    return out


def _direction(elev: Array, azim: Array, side: float) -> Array:
    """Unit vectors from elevation (0 = down) and azimuth (0 = outwards to ``side``)."""
    se = np.sin(elev)
    return np.stack([side * se * np.cos(azim), se * np.sin(azim), -np.cos(elev)], axis=-1)


def _apply(rot: Array, vec: Array) -> Array:
    out: Array = np.einsum("nij,nj->ni", rot, vec)
    return out


def pose_joints(body: Body, q: Array) -> Array:
    """Joint positions for every pose row of ``q``, shape ``(n, len(JOINTS), 3)``.

    Feet are kept on the floor (plus ``jump``) and the body slides horizontally so that the
    grounded foot stays where it stands at rest: a foot that lifts does not drag the body.
    """
    n = q.shape[0]
    ch = {name: q[:, i] for i, name in enumerate(CHANNELS)}
    out = np.zeros((n, len(JOINTS), 3))
    trunk = _rot(2, ch["twist"]) @ _rot(0, -ch["lean"]) @ _rot(1, ch["side_bend"])
    pelvis_rot = _rot(2, 0.35 * ch["twist"])
    head_rot = trunk @ _rot(0, -ch["head_pitch"])
    one = np.ones(n)

    def vec(x: float, y: float, z: float) -> Array:
        return np.stack([x * one, y * one, z * one], axis=-1)

    out[:, J["left_hip"]] = _apply(pelvis_rot, vec(-body.hip_half, 0.0, 0.0))
    out[:, J["right_hip"]] = _apply(pelvis_rot, vec(body.hip_half, 0.0, 0.0))
    out[:, J["spine1"]] = _apply(trunk, vec(0.0, 0.0, 0.45 * body.torso))
    out[:, J["spine3"]] = _apply(trunk, vec(0.0, 0.0, 0.8 * body.torso))
    neck = out[:, J["neck"]] = _apply(trunk, vec(0.0, 0.0, body.torso))
    r = body.head_r
    head = out[:, J["head"]] = neck + _apply(head_rot, vec(0.0, 0.02, body.neck_len + r))
    out[:, J["nose"]] = head + _apply(head_rot, vec(0.0, r, -0.2 * r))
    for side, sign in (("left", -1.0), ("right", 1.0)):
        out[:, J[f"{side}_eye"]] = head + _apply(head_rot, vec(sign * 0.35 * r, 0.85 * r, 0.25 * r))
        out[:, J[f"{side}_ear"]] = head + _apply(head_rot, vec(sign * 0.95 * r, -0.05 * r, 0.0))
        k = side[0]
        shoulder = out[:, J[f"{side}_shoulder"]] = neck + _apply(
            trunk, vec(sign * body.shoulder_half, 0.0, -body.shoulder_drop))
        upper = _apply(trunk, _direction(ch[f"{k}_ua_elev"], ch[f"{k}_ua_azim"], sign))
        fore = _apply(trunk, _direction(ch[f"{k}_fa_elev"], ch[f"{k}_fa_azim"], sign))
        elbow = out[:, J[f"{side}_elbow"]] = shoulder + body.upper_arm * upper
        wrist = out[:, J[f"{side}_wrist"]] = elbow + body.forearm * fore
        out[:, J[f"{side}_hand"]] = wrist + body.hand * fore
        thigh = _apply(pelvis_rot, _direction(ch[f"{k}_th_elev"], ch[f"{k}_th_azim"], sign))
        shin = _apply(pelvis_rot, _direction(ch[f"{k}_sh_elev"], ch[f"{k}_sh_azim"], sign))
        knee = out[:, J[f"{side}_knee"]] = out[:, J[f"{side}_hip"]] + body.thigh * thigh
        ankle = out[:, J[f"{side}_ankle"]] = knee + body.shin * shin
        out[:, J[f"{side}_foot"]] = ankle + _apply(pelvis_rot, vec(0.0, body.foot, -0.8 * body.ankle_h))

    ankles = out[:, [J["left_ankle"], J["right_ankle"]]]
    lowest = ankles[:, :, 2].min(axis=1)
    # Soft choice of the supporting foot: the lower one, or both when level.
    weight = np.exp(-(ankles[:, :, 2] - lowest[:, None]) / 0.02)
    weight /= weight.sum(axis=1, keepdims=True)
    # At rest each ankle stands straight below its hip.
    rest = np.array([[-body.hip_half, 0.0], [body.hip_half, 0.0]])
    support = (weight[:, :, None] * (ankles[:, :, :2] - rest)).sum(axis=1)
    out[:, :, :2] -= support[:, None, :]
    out[:, :, 2] += (body.ankle_h - lowest + ch["jump"])[:, None]
    return out
