"""The stick figure as an SMPL-X armature: 55 joints, their parent tree and local rotations.

VisionFit labels every frame with the 55 joints of the SMPL-X body model (``armature_keypoints``),
five surface points of the head (``vertex_keypoints``) and each joint's rotation relative to its
parent (``quaternions``). The stick figure has 26 joints; this module derives the rest from them
and from the frames they span, so every derived point moves rigidly with the stick part it
belongs to:

* the pelvis frame from the hip line (it only turns about the vertical), the trunk frame from
  the shoulder line and the pelvis–neck axis, the head frame from the eyes;
* ``spine1`` a fifth of the torso above the pelvis, turning with the pelvis, and ``spine2``
  on the stick spine, so the lumbar spine bends between them; ``spine3``, ``neck`` and
  ``head`` are the stick joints;
* the collars on the trunk between ``spine3`` and the shoulders; the jaw, the nostrils and the
  eyes on the head;
* five fingers of three joints each, a relaxed hand (fixed curls), laid out along the forearm
  from the wrist, thumb forward when the arm hangs, as in SMPL-X's T-pose.

Rotations follow SMPL-X: the rest pose is the T-pose (arms out sideways, palms down), in which
every joint's frame is the body's; a joint's rotation turns the bones to its children. The
limbs' rotations are the shortest turns from their parent's frame onto each bone (the stick
figure has no twist about a limb), the trunk's, pelvis's and head's are those of the frames
above. ``quaternions`` hold each rotation relative to the parent's, in SMPL-X's body axes
(x the avatar's left, y up, z forward), as ``[w, x, y, z]`` with ``w >= 0``; ``root`` is the
identity and ``pelvis`` is relative to the avatar's placement (``info.avatar_yaw``), so it
carries the pelvis's own turn and any turn of the exercise. Composing them along the tree and
applying them to :func:`rest_offsets` gives the direction of every bone (and, but for
``spine1``–``spine2``, whose length changes as the lower back bends, its length too).

Examples
--------
>>> len(SMPLX_JOINTS), SMPLX_JOINTS[PARENTS[SMPLX_JOINTS.index("left_index2")]]
(55, 'left_index1')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from .skeleton import PARTS, Body, J

__all__ = [
    "PARENTS",
    "QUATERNION_KEYS",
    "SMPLX_JOINTS",
    "VERTEX_KEYPOINTS",
    "Armature",
    "armature",
    "bone_frames",
    "rest_offsets",
]

Array = NDArray[np.float64]

_SIDES = ("left", "right")
_FINGERS = ("index", "middle", "pinky", "ring", "thumb")


def _arm(side: str) -> tuple[str, ...]:
    fingers = tuple(f"{side}_{finger}{k}" for finger in _FINGERS for k in (1, 2, 3))
    return (f"{side}_collar", f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist", *fingers)


def _leg(side: str) -> tuple[str, ...]:
    return tuple(f"{side}_{j}" for j in ("hip", "knee", "ankle", "foot"))


# The order of VisionFit v0.4.0's labels.json: legs, spine and head, then each arm to its fingers.
SMPLX_JOINTS: tuple[str, ...] = (
    "pelvis", *_leg("left"), *_leg("right"), "spine1", "spine2", "spine3", "neck", "head", "jaw",
    "left_eye_smplhf", "right_eye_smplhf", *_arm("left"), *_arm("right"),
)
QUATERNION_KEYS: tuple[str, ...] = ("root", *SMPLX_JOINTS)
VERTEX_KEYPOINTS: tuple[str, ...] = ("left_ear", "right_ear", "nose_left_nostril", "nose_right_nostril",
                                     "nose_tip")


def _parent(name: str) -> str | None:
    """SMPL-X's kinematic tree: each joint's parent (``None`` for the pelvis)."""
    side, _, rest = name.partition("_")
    chains = {"knee": "hip", "ankle": "knee", "foot": "ankle", "shoulder": "collar", "elbow": "shoulder",
              "wrist": "elbow"}
    if name == "pelvis":
        return None
    if side in _SIDES:
        if rest in ("hip",):
            return "pelvis"
        if rest == "collar":
            return "spine3"
        if rest == "eye_smplhf":
            return "head"
        if rest in chains:
            return f"{side}_{chains[rest]}"
        finger, k = rest[:-1], int(rest[-1])
        return f"{side}_wrist" if k == 1 else f"{side}_{finger}{k - 1}"
    return {"spine1": "pelvis", "spine2": "spine1", "spine3": "spine2", "neck": "spine3", "head": "neck",
            "jaw": "head"}[name]


_INDEX = {name: i for i, name in enumerate(SMPLX_JOINTS)}
PARENTS: tuple[int, ...] = tuple(-1 if (p := _parent(n)) is None else _INDEX[p] for n in SMPLX_JOINTS)
"""Index into :data:`SMPLX_JOINTS` of each joint's parent; -1 for the pelvis (its parent is the root)."""

# SMPL-X joints and head vertices that are stick-figure joints under another name, or the same.
_STICK = {"left_eye_smplhf": "left_eye", "right_eye_smplhf": "right_eye", "nose_tip": "nose"}
_STICK.update({n: n for n in (*SMPLX_JOINTS, *VERTEX_KEYPOINTS) if n in J and n != "spine1"})

# A relaxed hand, in units of the stick hand's length (wrist to palm centre), for the right hand
# in the T-pose: (along the forearm, towards the thumb = forward, towards the back of the hand = up).
_KNUCKLES = {"index": (0.90, 0.27, 0.0), "middle": (0.95, 0.09, 0.0), "ring": (0.90, -0.09, 0.0),
             "pinky": (0.82, -0.25, 0.0), "thumb": (0.20, 0.20, -0.10)}
_PHALANGES = {"index": (0.38, 0.25), "middle": (0.42, 0.28), "ring": (0.38, 0.26), "pinky": (0.30, 0.20),
              "thumb": (0.38, 0.30)}
_CURL = {"index": (0.35, 0.45, 0.30), "middle": (0.35, 0.45, 0.30), "ring": (0.40, 0.50, 0.30),
         "pinky": (0.45, 0.50, 0.30), "thumb": (0.15, 0.25, 0.20)}
_THUMB_RIGHT = np.array([0.70, 0.70, -0.15]) / np.linalg.norm([0.70, 0.70, -0.15])
_SPINE1, _SPINE2 = 0.2, 0.55  # of the torso: spine1 above the pelvis, spine2 along the stick spine
_COLLAR = (0.4, 0.1)  # of the shoulder half-width out, of the torso up from spine3
# Body axes (x right, y forward, z up) to SMPL-X's (x left, y up, z forward): a proper rotation.
_TO_SMPLX = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


def _sign(side: str) -> float:
    return -1.0 if side == "left" else 1.0


def _finger_direction(side: str, finger: str) -> Array:
    s = _sign(side)
    if finger == "thumb":
        return np.array([s * _THUMB_RIGHT[0], _THUMB_RIGHT[1], _THUMB_RIGHT[2]])
    return np.array([s, 0.0, 0.0])


def rest_offsets(body: Body) -> Array:
    """Each joint's offset from its parent in the T-pose, body axes (x right, y forward, z up), ``(55, 3)``.

    The pelvis's row is zero. A joint's rotation (composed from the root) applied to these
    offsets points along its bones in every frame.

    >>> from infinityframe.local.generators.stickfit.skeleton import make_body
    >>> rest_offsets(make_body("MALE", 0.0, 0.0))[SMPLX_JOINTS.index("left_elbow")].round(2).tolist()
    [-0.3, 0.0, 0.0]
    """
    b, r, t = body, body.head_r, body.torso
    out = np.zeros((len(SMPLX_JOINTS), 3))

    def put(name: str, x: float, y: float, z: float) -> None:
        out[_INDEX[name]] = (x, y, z)

    put("spine1", 0.0, 0.0, _SPINE1 * t)
    put("spine2", 0.0, 0.0, (_SPINE2 - _SPINE1) * t)
    put("spine3", 0.0, 0.0, (0.8 - _SPINE2) * t)
    put("neck", 0.0, 0.0, 0.2 * t)
    put("head", 0.0, 0.02, b.neck_len + r)
    put("jaw", 0.0, 0.3 * r, -0.5 * r)
    for side in _SIDES:
        s = _sign(side)
        put(f"{side}_hip", s * b.hip_half, 0.0, 0.0)
        put(f"{side}_knee", 0.0, 0.0, -b.thigh)
        put(f"{side}_ankle", 0.0, 0.0, -b.shin)
        put(f"{side}_foot", 0.0, b.foot, -0.8 * b.ankle_h)
        put(f"{side}_eye_smplhf", s * 0.35 * r, 0.85 * r, 0.25 * r)
        put(f"{side}_collar", s * _COLLAR[0] * b.shoulder_half, 0.0, _COLLAR[1] * t)
        put(f"{side}_shoulder", s * (1 - _COLLAR[0]) * b.shoulder_half, 0.0, (0.2 - _COLLAR[1]) * t - b.shoulder_drop)
        put(f"{side}_elbow", s * b.upper_arm, 0.0, 0.0)
        put(f"{side}_wrist", s * b.forearm, 0.0, 0.0)
        for finger in _FINGERS:
            along, thumbward, back = (v * b.hand for v in _KNUCKLES[finger])
            put(f"{side}_{finger}1", s * along, thumbward, back)
            direction = _finger_direction(side, finger)
            for k, length in zip((2, 3), _PHALANGES[finger], strict=True):
                out[_INDEX[f"{side}_{finger}{k}"]] = direction * length * b.hand
    return out


def _curl(side: str, finger: str, angle: float) -> Array:
    """The fixed bend of one finger joint: a turn of the finger towards the palm (rest frame)."""
    direction = _finger_direction(side, finger)
    axis = np.cross(direction, [0.0, 0.0, -1.0])
    axis /= np.linalg.norm(axis)
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    out: Array = np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)
    return out


def _unit(v: Array) -> Array:
    out: Array = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    return out


def _frame(x: Array, y: Array) -> Array:
    """Rotation matrices ``(n, 3, 3)`` whose columns are ``x``, ``y`` and ``x × y`` (x ⟂ y, unit)."""
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def _swing(parent: Array, rest: Array, direction: Array) -> Array:
    """``parent`` turned by the shortest rotation taking ``parent @ rest`` onto ``direction`` (unit)."""
    u = np.einsum("nij,j->ni", parent, rest / np.linalg.norm(rest))
    v = np.cross(u, direction)
    c = np.einsum("ni,ni->n", u, direction)
    k = np.zeros((len(u), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    k[:, 1, 0], k[:, 2, 0], k[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    turn = np.eye(3) + k + (k @ k) / np.maximum(1.0 + c, 1e-9)[:, None, None]
    out: Array = turn @ parent
    return out


class Armature(NamedTuple):
    """One animation as SMPL-X points and rotations.

    Attributes
    ----------
    joints : ndarray, (n, 55, 3)
        World positions of :data:`SMPLX_JOINTS`.
    vertices : ndarray, (n, 5, 3)
        World positions of :data:`VERTEX_KEYPOINTS`.
    quaternions : ndarray, (n, 56, 4)
        ``[w, x, y, z]`` of :data:`QUATERNION_KEYS`, each relative to its parent, SMPL-X axes.
    owners : ndarray of bool, (60, len(PARTS) + 1)
        For each joint then vertex, the part-label values (part index + 1) it lies on, so that
        covering it is not hiding it.
    """

    joints: Array
    vertices: Array
    quaternions: Array
    owners: NDArray[np.bool_]


@dataclass(frozen=True)
class _Frames:
    pelvis: Array
    trunk: Array
    head: Array


def _stick_frames(stick: Array) -> _Frames:
    """The pelvis, trunk and head frames (world) that the stick joints ``(n, 26, 3)`` span."""
    up = np.broadcast_to([0.0, 0.0, 1.0], (len(stick), 3))
    hips = _unit(stick[:, J["right_hip"]] - stick[:, J["left_hip"]])
    pelvis = np.stack([hips, np.cross(up, hips), up], axis=-1)
    across = _unit(stick[:, J["right_shoulder"]] - stick[:, J["left_shoulder"]])
    spine = _unit(stick[:, J["neck"]] - stick[:, J["pelvis"]])
    trunk = np.stack([across, np.cross(spine, across), spine], axis=-1)
    eyes = _unit(stick[:, J["right_eye"]] - stick[:, J["left_eye"]])
    ahead = stick[:, [J["left_eye"], J["right_eye"]]].mean(axis=1) - stick[:, J["head"]]
    ahead = _unit(ahead - np.einsum("ni,ni->n", ahead, eyes)[:, None] * eyes)
    # In the head's own frame the eyes' midpoint lies at (0, 0.85, 0.25) head radii from its centre.
    local_ahead = np.array([0.0, 0.85, 0.25]) / np.hypot(0.85, 0.25)
    rest = _frame(np.array([[1.0, 0.0, 0.0]]), local_ahead[None])[0]
    head = _frame(eyes, ahead) @ rest.T
    return _Frames(pelvis, trunk, head)


def bone_frames(body: Body, stick: Array) -> tuple[Array, Array]:
    """World rotations ``(n, 55, 3, 3)`` of every SMPL-X joint and its world position ``(n, 55, 3)``.

    ``stick`` holds the stick figure's joints (world, ``(n, len(JOINTS), 3)``).
    """
    n = len(stick)
    frames = _stick_frames(stick)
    rest = rest_offsets(body)
    rot = np.zeros((n, len(SMPLX_JOINTS), 3, 3))
    pos = np.zeros((n, len(SMPLX_JOINTS), 3))

    def place(name: str, parent_rotation: Array, origin: Array) -> None:
        pos[:, _INDEX[name]] = origin + np.einsum("nij,j->ni", parent_rotation, rest[_INDEX[name]])

    def stick_at(name: str) -> Array:
        out: Array = stick[:, J[name]]
        return out

    def aim(name: str, parent: Array, child: str) -> None:
        """The rotation of ``name``: its parent's, swung so that its bone points at ``child``."""
        direction = _unit(pos[:, _INDEX[child]] - pos[:, _INDEX[name]])
        rot[:, _INDEX[name]] = _swing(parent, rest[_INDEX[child]], direction)

    for name, stick_name in _STICK.items():
        if name in _INDEX:
            pos[:, _INDEX[name]] = stick_at(stick_name)
    place("spine1", frames.pelvis, stick_at("pelvis"))
    # spine2 sits on the stick spine, so the lower back bends between spine1 and spine2.
    pos[:, _INDEX["spine2"]] = stick_at("pelvis") + frames.trunk[:, :, 2] * (_SPINE2 * body.torso)
    place("jaw", frames.head, stick_at("head"))
    rot[:, _INDEX["pelvis"]] = frames.pelvis
    aim("spine1", frames.pelvis, "spine2")
    aim("spine2", rot[:, _INDEX["spine1"]], "spine3")
    rot[:, _INDEX["spine3"]] = frames.trunk
    for name in ("neck", "head", "jaw", "left_eye_smplhf", "right_eye_smplhf"):
        rot[:, _INDEX[name]] = frames.head
    for side in _SIDES:
        aim(f"{side}_hip", frames.pelvis, f"{side}_knee")
        aim(f"{side}_knee", rot[:, _INDEX[f"{side}_hip"]], f"{side}_ankle")
        # The stick foot keeps the pelvis's heading whatever the shin does.
        rot[:, _INDEX[f"{side}_ankle"]] = rot[:, _INDEX[f"{side}_foot"]] = frames.pelvis
        place(f"{side}_collar", frames.trunk, stick_at("spine3"))
        rot[:, _INDEX[f"{side}_collar"]] = frames.trunk
        aim(f"{side}_shoulder", frames.trunk, f"{side}_elbow")
        aim(f"{side}_elbow", rot[:, _INDEX[f"{side}_shoulder"]], f"{side}_wrist")
        wrist = rot[:, _INDEX[f"{side}_wrist"]] = rot[:, _INDEX[f"{side}_elbow"]]
        for finger in _FINGERS:
            parent, origin = wrist, stick_at(f"{side}_wrist")
            for k, angle in enumerate(_CURL[finger], start=1):
                name = f"{side}_{finger}{k}"
                place(name, parent, origin)
                origin = pos[:, _INDEX[name]]
                parent = rot[:, _INDEX[name]] = parent @ _curl(side, finger, angle)
    return rot, pos


def _quaternions(m: Array) -> Array:
    """``[w, x, y, z]`` (w >= 0) of rotation matrices ``(..., 3, 3)``, by the largest of the four pivots."""
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    candidates = np.stack([
        np.stack([1 + m00 + m11 + m22, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                  m[..., 1, 0] - m[..., 0, 1]], -1),
        np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0],
                  m[..., 0, 2] + m[..., 2, 0]], -1),
        np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22,
                  m[..., 1, 2] + m[..., 2, 1]], -1),
        np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1],
                  1 - m00 - m11 + m22], -1),
    ], -2)
    pivot = np.argmax(np.stack([m00 + m11 + m22, m00, m11, m22], -1), axis=-1)
    q = np.take_along_axis(candidates, pivot[..., None, None], axis=-2)[..., 0, :]
    q = _unit(q)
    out: Array = np.where(q[..., :1] < 0, -q, q)
    return out


def armature(body: Body, stick: Array, avatar_yaw_deg: float) -> Armature:
    """The SMPL-X joints, head vertices and joint rotations of an animation of the stick figure.

    Parameters
    ----------
    body : Body
        The avatar's proportions (the hands' and head's size, the spine's length).
    stick : ndarray, (n, len(JOINTS), 3)
        The stick joints in world coordinates, one row per frame.
    avatar_yaw_deg : float
        ``info.avatar_yaw``: the pelvis's rotation is given relative to this placement.

    Examples
    --------
    >>> arm = armature(body, job.joints, job.avatar_yaw)  # doctest: +SKIP
    >>> arm.joints.shape, arm.quaternions.shape           # doctest: +SKIP
    ((30, 55, 3), (30, 56, 4))
    """
    rot, pos = bone_frames(body, stick)
    parents = np.array(PARENTS)
    yaw = np.radians(avatar_yaw_deg)
    placed = np.array([[np.cos(yaw), -np.sin(yaw), 0.0], [np.sin(yaw), np.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    parent_rot = np.where((parents < 0)[None, :, None, None], placed[None, None], rot[:, np.maximum(parents, 0)])
    local = np.swapaxes(parent_rot, -1, -2) @ rot
    q = _quaternions(local)
    q = np.concatenate([q[..., :1], q[..., 1:] @ _TO_SMPLX.T], axis=-1)
    root = np.broadcast_to([1.0, 0.0, 0.0, 0.0], (len(stick), 1, 4))
    vertices = np.zeros((len(stick), len(VERTEX_KEYPOINTS), 3))
    head = _stick_frames(stick).head
    r = body.head_r
    for i, name in enumerate(VERTEX_KEYPOINTS):
        if name in _STICK:
            vertices[:, i] = stick[:, J[_STICK[name]]]
        else:
            s = _sign(name.split("_")[1])
            vertices[:, i] = stick[:, J["head"]] + np.einsum("nij,j->ni", head, [s * 0.15 * r, 0.9 * r, -0.3 * r])
    return Armature(pos, vertices, np.concatenate([root, q], axis=1), _OWNERS)


def _owners() -> NDArray[np.bool_]:
    """Which part labels each SMPL-X joint and head vertex lies on (see :class:`Armature`)."""
    part_of = {p.name: i + 1 for i, p in enumerate(PARTS)}
    owners = np.zeros((len(SMPLX_JOINTS) + len(VERTEX_KEYPOINTS), len(PARTS) + 1), bool)
    for row, name in enumerate((*SMPLX_JOINTS, *VERTEX_KEYPOINTS)):
        if name in _STICK:
            for i, part in enumerate(PARTS):
                if J[_STICK[name]] in part.joints:
                    owners[row, i + 1] = True
            continue
        side = name.split("_")[0]
        if name in ("spine1", "spine2") or name.endswith("collar"):
            owners[row, part_of["torso"]] = True
        elif name == "jaw" or name.startswith("nose"):
            owners[row, part_of["head"]] = True
        else:  # a finger: on the forearm's capsule, which ends in the hand
            owners[row, part_of[f"{side}_forearm"]] = True
    return owners


_OWNERS = _owners()
