"""Exercises as poses over a rep's phase: stickfit's own and the VisionFit-named catalogue.

An exercise maps a phase ``p`` in [0, 1] to pose channels (:data:`skeleton.CHANNELS`); the
pose at ``p = 0`` equals the pose at ``p = 1`` and is where the avatar rests between reps. An
exercise may also turn the whole body about the vertical (``turn`` radians per rep, e.g. a
180° jump squat), which :mod:`motion` adds to the avatar's heading.

The VisionFit names are the real ones that a standing stick figure can perform honestly,
built from a few primitives (squat, hinge, lunge, curl, press, jump, turn) and their
single-arm and numbered variants; floor exercises (push-ups, crunches, burpees) are left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .skeleton import CHANNELS, C

__all__ = ["ALL_EXERCISES", "EXERCISES", "VISIONFIT_EXERCISES", "Exercise"]

Array = NDArray[np.float64]
HALF_PI = math.pi / 2
Channels = dict[str, Array | float]

_REST = {
    "lean": 0.03, "head_pitch": 0.05,
    "l_ua_elev": 0.10, "l_fa_elev": 0.18, "l_fa_azim": HALF_PI,
    "r_ua_elev": 0.10, "r_fa_elev": 0.18, "r_fa_azim": HALF_PI,
    "l_th_elev": 0.04, "l_sh_elev": 0.04, "r_th_elev": 0.04, "r_sh_elev": 0.04,
}


def _pose(p: Array, **channels: Array | float) -> Array:
    """Pose rows for phases ``p``: the standing rest pose overridden by ``channels``."""
    q = np.zeros((p.shape[0], len(CHANNELS)))
    for name, value in {**_REST, **channels}.items():
        q[:, C[name]] = value
    return q


def _bump(p: Array) -> Array:
    """0 → 1 → 0 over one rep, smooth at both ends."""
    return np.sin(np.pi * p) ** 2


def _squat(p: Array) -> Array:
    s = _bump(p)
    arm = 0.10 + 1.45 * s
    return _pose(p, lean=0.03 + 0.6 * s, head_pitch=0.05 - 0.35 * s,
                 l_ua_elev=arm, l_ua_azim=HALF_PI * s, l_fa_elev=arm + 0.08, l_fa_azim=HALF_PI,
                 r_ua_elev=arm, r_ua_azim=HALF_PI * s, r_fa_elev=arm + 0.08, r_fa_azim=HALF_PI,
                 l_th_elev=0.04 + 1.35 * s, l_th_azim=1.25, l_sh_elev=0.04 + 0.5 * s, l_sh_azim=-HALF_PI,
                 r_th_elev=0.04 + 1.35 * s, r_th_azim=1.25, r_sh_elev=0.04 + 0.5 * s, r_sh_azim=-HALF_PI)


def _jumping_jack(p: Array) -> Array:
    s = _bump(p)
    arm = 0.10 + 2.75 * s
    fore_azim = HALF_PI * (1.0 - s)
    leg = 0.04 + 0.30 * s
    return _pose(p, l_ua_elev=arm, r_ua_elev=arm, l_fa_elev=0.18 + 2.72 * s, r_fa_elev=0.18 + 2.72 * s,
                 l_fa_azim=fore_azim, r_fa_azim=fore_azim, l_th_elev=leg, r_th_elev=leg,
                 l_sh_elev=leg, r_sh_elev=leg, jump=0.12 * np.abs(np.sin(2 * np.pi * p)))


def _arm_raise(p: Array) -> Array:
    s = _bump(p)
    arm = 0.10 + 2.7 * s
    azim = HALF_PI * np.minimum(1.0, 4.0 * s)
    return _pose(p, lean=0.03 - 0.08 * s, head_pitch=0.05 - 0.25 * s,
                 l_ua_elev=arm, l_ua_azim=azim, l_fa_elev=arm + 0.08, l_fa_azim=azim,
                 r_ua_elev=arm, r_ua_azim=azim, r_fa_elev=arm + 0.08, r_fa_azim=azim)


def _lateral_raise(p: Array) -> Array:
    s = _bump(p)
    return _pose(p, l_ua_elev=0.10 + 1.45 * s, r_ua_elev=0.10 + 1.45 * s,
                 l_fa_elev=0.18 + 1.40 * s, r_fa_elev=0.18 + 1.40 * s,
                 l_fa_azim=HALF_PI * (1 - s), r_fa_azim=HALF_PI * (1 - s))


def _bicep_curl(p: Array) -> Array:
    s = _bump(p)
    return _pose(p, l_ua_elev=0.08, l_ua_azim=HALF_PI, r_ua_elev=0.08, r_ua_azim=HALF_PI,
                 l_fa_elev=0.15 + 2.35 * s, r_fa_elev=0.15 + 2.35 * s)


def _uppercut(left: bool) -> Callable[[Array], Array]:
    def pose(p: Array) -> Array:
        # A fast drive up and a slower return to guard.
        a = np.where(p < 0.35, np.sin(np.pi * p / 0.7) ** 2, np.cos(HALF_PI * (p - 0.35) / 0.65) ** 2)
        hit, guard = ("l", "r") if left else ("r", "l")
        stance: dict[str, Array | float] = {f"{k}_{c}": v for k in "lr" for c, v in
                  (("th_elev", 0.30), ("th_azim", 1.2), ("sh_elev", 0.30), ("sh_azim", -HALF_PI))}
        dip = 0.12 * np.sin(np.pi * p) ** 2
        stance |= {"l_th_elev": 0.30 + dip, "r_th_elev": 0.30 + dip, "l_sh_elev": 0.30 + dip,
                   "r_sh_elev": 0.30 + dip}
        arms: dict[str, Array | float] = {
            f"{guard}_ua_elev": 0.45, f"{guard}_ua_azim": HALF_PI + 0.2,
            f"{guard}_fa_elev": 2.7, f"{guard}_fa_azim": HALF_PI + 0.2,
            f"{hit}_ua_elev": 0.45 + 0.85 * a, f"{hit}_ua_azim": HALF_PI + 0.2 + 0.2 * a,
            f"{hit}_fa_elev": 2.7 + 0.25 * a, f"{hit}_fa_azim": HALF_PI + 0.2,
        }
        twist = (-0.45 if left else 0.45) * a
        return _pose(p, lean=0.12 + 0.05 * a, twist=twist, head_pitch=0.1, **stance, **arms)

    return pose


def _lunge(p: Array) -> Array:
    s = _bump(p)
    return _pose(p, lean=0.03 + 0.1 * s,
                 l_th_elev=0.04 + 1.35 * s, l_th_azim=HALF_PI, l_sh_elev=0.04 + 0.15 * s, l_sh_azim=-HALF_PI,
                 r_th_elev=0.04 + 0.45 * s, r_th_azim=-HALF_PI, r_sh_elev=0.04 + 1.5 * s, r_sh_azim=-HALF_PI,
                 l_ua_elev=0.10 + 0.1 * s, r_ua_elev=0.10 + 0.1 * s)


def _high_knees(p: Array) -> Array:
    left = np.where(p < 0.5, np.sin(2 * np.pi * p) ** 2, 0.0)
    right = np.where(p >= 0.5, np.sin(2 * np.pi * p) ** 2, 0.0)
    return _pose(p, lean=0.05,
                 l_th_elev=0.04 + 1.45 * left, l_th_azim=HALF_PI, l_sh_elev=0.04 + 0.1 * left,
                 l_sh_azim=-HALF_PI, r_th_elev=0.04 + 1.45 * right, r_th_azim=HALF_PI,
                 r_sh_elev=0.04 + 0.1 * right, r_sh_azim=-HALF_PI,
                 l_ua_elev=0.3 + 0.6 * right, l_ua_azim=HALF_PI * (right - left),
                 r_ua_elev=0.3 + 0.6 * left, r_ua_azim=HALF_PI * (left - right),
                 l_fa_elev=1.7 + 0.4 * right, r_fa_elev=1.7 + 0.4 * left,
                 jump=0.05 * np.sin(2 * np.pi * p) ** 2)



# ---- VisionFit-named exercises -------------------------------------------------------------------


def _smooth(x: Array) -> Array:
    """Smoothstep of ``x`` clipped to [0, 1]: 0 → 1 with zero slope at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _window(p: Array, a: float, b: float) -> Array:
    """A smooth 0 → 1 → 0 bump over the phases ``[a, b]``, zero outside."""
    inside = (p >= a) & (p <= b)
    return np.where(inside, np.sin(np.pi * (p - a) / (b - a)) ** 2, 0.0)


def _squat_legs(s: Array, width: float = 1.25) -> Channels:
    """Both legs bent by ``s`` (0 standing, 1 at depth); ``width`` is the knees' azimuth."""
    return {f"{k}_{c}": v for k in "lr" for c, v in (
        ("th_elev", 0.04 + 1.35 * s), ("th_azim", width), ("sh_elev", 0.04 + 0.5 * s), ("sh_azim", -HALF_PI))}


def _hinge_arm(side: str, lean: Array | float, angle: Array | float = 0.0) -> Channels:
    """An arm straight at ``angle`` from the vertical (forward positive) whatever the trunk's lean.

    The arm channels are relative to the trunk, so a hanging arm on a trunk leaning by ``lean``
    is raised forward by ``lean`` (a negative elevation at azimuth pi/2 points backward).
    """
    return {f"{side}_ua_elev": lean + angle, f"{side}_ua_azim": HALF_PI,
            f"{side}_fa_elev": lean + angle, f"{side}_fa_azim": HALF_PI}


def _back_squat(p: Array) -> Array:
    s = _bump(p)
    # Hands on a bar across the upper back: elbows out and back, forearms up and in behind the neck.
    arms: Channels = {f"{k}_{c}": v for k in "lr" for c, v in (
        ("ua_elev", 1.35), ("ua_azim", -0.35), ("fa_elev", 2.2), ("fa_azim", math.pi + 0.3))}
    return _pose(p, lean=0.05 + 0.5 * s, head_pitch=0.05 - 0.3 * s, **arms, **_squat_legs(s))


def _goblet_sumo(p: Array) -> Array:
    s = _bump(p)
    # A wide stance (legs out to the side at rest), one dumbbell held at the chest in both hands.
    legs: Channels = {f"{k}_{c}": v for k in "lr" for c, v in (
        ("th_elev", 0.22 + 1.1 * s), ("th_azim", 0.35 + 0.55 * s),
        ("sh_elev", 0.22 + 0.25 * s), ("sh_azim", 0.35 - (0.35 + HALF_PI) * s))}
    arms: Channels = {f"{k}_{c}": v for k in "lr" for c, v in (
        ("ua_elev", 0.5), ("ua_azim", HALF_PI + 0.3), ("fa_elev", 2.55), ("fa_azim", HALF_PI + 0.7))}
    return _pose(p, lean=0.05 + 0.35 * s, head_pitch=0.05 - 0.2 * s, **arms, **legs)


def _alternating_curl(p: Array) -> Array:
    left, right = _window(p, 0.0, 0.5), _window(p, 0.5, 1.0)
    return _pose(p, l_ua_elev=0.08, l_ua_azim=HALF_PI, r_ua_elev=0.08, r_ua_azim=HALF_PI,
                 l_fa_elev=0.15 + 2.35 * left, r_fa_elev=0.15 + 2.35 * right)


def _deadlift(p: Array) -> Array:
    s = _bump(p)
    lean = 0.03 + 1.15 * s
    # Hips back, knees soft, the dumbbells hanging straight down from the shoulders.
    legs: Channels = {f"{k}_{c}": v for k in "lr" for c, v in (
        ("th_elev", 0.04 + 0.45 * s), ("th_azim", HALF_PI), ("sh_elev", 0.04 + 0.25 * s), ("sh_azim", -HALF_PI))}
    return _pose(p, lean=lean, head_pitch=0.05 - 0.35 * s, **_hinge_arm("l", lean, 0.05),
                 **_hinge_arm("r", lean, 0.05), **legs)


def _lunge_legs(s: Array, front: str) -> Channels:
    back = "r" if front == "l" else "l"
    return {f"{front}_th_elev": 0.04 + 1.35 * s, f"{front}_th_azim": HALF_PI,
            f"{front}_sh_elev": 0.04 + 0.15 * s, f"{front}_sh_azim": -HALF_PI,
            f"{back}_th_elev": 0.04 + 0.45 * s, f"{back}_th_azim": -HALF_PI,
            f"{back}_sh_elev": 0.04 + 1.5 * s, f"{back}_sh_azim": -HALF_PI}


def _crossback_lunge(p: Array) -> Array:
    """Curtsy lunges, left leg then right: the stepping leg goes back and across behind the other."""
    channels: Channels = {}
    for back, front, a in (("l", "r", _window(p, 0.0, 0.5)), ("r", "l", _window(p, 0.5, 1.0))):
        channels[f"{back}_th_elev"] = channels.get(f"{back}_th_elev", 0.04) + 0.35 * a
        channels[f"{back}_th_azim"] = channels.get(f"{back}_th_azim", 0.0) - (HALF_PI + 0.5) * a
        channels[f"{back}_sh_elev"] = channels.get(f"{back}_sh_elev", 0.04) + 1.4 * a
        channels[f"{back}_sh_azim"] = channels.get(f"{back}_sh_azim", 0.0) - (HALF_PI + 0.3) * a
        channels[f"{front}_th_elev"] = channels.get(f"{front}_th_elev", 0.04) + 1.3 * a
        channels[f"{front}_th_azim"] = channels.get(f"{front}_th_azim", 0.0) + (HALF_PI - 0.2) * a
        channels[f"{front}_sh_elev"] = channels.get(f"{front}_sh_elev", 0.04) + 0.15 * a
        channels[f"{front}_sh_azim"] = channels.get(f"{front}_sh_azim", 0.0) - HALF_PI * a
    a = _window(p, 0.0, 0.5) + _window(p, 0.5, 1.0)
    return _pose(p, lean=0.03 + 0.15 * a, l_ua_elev=0.1 + 0.5 * a, l_ua_azim=HALF_PI * a,
                 r_ua_elev=0.1 + 0.5 * a, r_ua_azim=HALF_PI * a, **channels)


def _press(left: bool, dip: bool) -> Callable[[Array], Array]:
    """One dumbbell pressed overhead from the shoulder; ``dip``: a push press, driven by the knees."""
    side = "l" if left else "r"

    def pose(p: Array) -> Array:
        if dip:
            knees = _window(p, 0.0, 0.35)
            up = _smooth((p - 0.25) / 0.3) * (1.0 - _smooth((p - 0.7) / 0.3))
        else:
            knees, up = np.zeros_like(p), _bump(p)
        legs: Channels = {f"{k}_{c}": v for k in "lr" for c, v in (
            ("th_elev", 0.04 + 0.5 * knees), ("th_azim", HALF_PI), ("sh_elev", 0.04 + 0.45 * knees),
            ("sh_azim", -HALF_PI))}
        arm: Channels = {f"{side}_ua_elev": 1.2 + 1.75 * up, f"{side}_ua_azim": 0.5 * (1.0 - up),
                         f"{side}_fa_elev": 2.9 + 0.1 * up, f"{side}_fa_azim": HALF_PI}
        return _pose(p, lean=0.03 - 0.05 * up, **arm, **legs)

    return pose


def _split_squat(left: bool) -> Callable[[Array], Array]:
    """A staggered stance (the named leg in front) lowered and raised; the dumbbell hangs in the other hand.

    The back leg stands on its toes a few centimetres higher than the front foot, so the front
    foot carries the body throughout and nothing slides.
    """
    front, back = ("l", "r") if left else ("r", "l")

    def pose(p: Array) -> Array:
        s = _bump(p)
        legs: Channels = {f"{front}_th_elev": 0.35 + 0.95 * s, f"{front}_th_azim": HALF_PI,
                          f"{front}_sh_elev": 0.1 * (1.0 - s), f"{front}_sh_azim": -HALF_PI,
                          f"{back}_th_elev": 0.3 - 0.2 * s, f"{back}_th_azim": -HALF_PI,
                          f"{back}_sh_elev": 0.55 + 0.9 * s, f"{back}_sh_azim": -HALF_PI}
        return _pose(p, lean=0.05 + 0.05 * s, **{f"{back}_ua_elev": 0.04, f"{back}_fa_elev": 0.04}, **legs)

    return pose


def _kickback(left: bool) -> Callable[[Array], Array]:
    """Bent over, upper arm held back along the body, the forearm extends from hanging to straight back."""
    side, free = ("l", "r") if left else ("r", "l")
    lean = 0.95

    def pose(p: Array) -> Array:
        s = _bump(p)
        arm: Channels = {f"{side}_ua_elev": lean - HALF_PI + 0.1, f"{side}_ua_azim": HALF_PI,
                         f"{side}_fa_elev": lean - (HALF_PI - 0.1) * s, f"{side}_fa_azim": HALF_PI}
        legs: Channels = {f"{k}_{c}": v for k in "lr" for c, v in (
            ("th_elev", 0.3), ("th_azim", HALF_PI), ("sh_elev", 0.3), ("sh_azim", -HALF_PI))}
        return _pose(p, lean=lean, head_pitch=-0.35, **arm, **_hinge_arm(free, lean, 0.4), **legs)

    return pose


def _high_knees_variant(knee: float, arm: float, hop: float) -> Callable[[Array], Array]:
    def pose(p: Array) -> Array:
        left = np.where(p < 0.5, np.sin(2 * np.pi * p) ** 2, 0.0)
        right = np.where(p >= 0.5, np.sin(2 * np.pi * p) ** 2, 0.0)
        return _pose(p, lean=0.05,
                     l_th_elev=0.04 + knee * left, l_th_azim=HALF_PI, l_sh_elev=0.04 + 0.1 * left,
                     l_sh_azim=-HALF_PI, r_th_elev=0.04 + knee * right, r_th_azim=HALF_PI,
                     r_sh_elev=0.04 + 0.1 * right, r_sh_azim=-HALF_PI,
                     l_ua_elev=0.3 + arm * right, l_ua_azim=HALF_PI * (right - left),
                     r_ua_elev=0.3 + arm * left, r_ua_azim=HALF_PI * (left - right),
                     l_fa_elev=1.7 + 0.4 * right, r_fa_elev=1.7 + 0.4 * left,
                     jump=hop * np.sin(2 * np.pi * p) ** 2)

    return pose


def _turn_jump_phase(p: Array) -> Array:
    """Fraction of the rep's turn done at phase ``p``: all of it while in the air (0.4–0.65)."""
    return _smooth((p - 0.4) / 0.25)


def _jump_squat(depth: float, height: float) -> Callable[[Array], Array]:
    """Squat, jump (turning in the air, see :func:`_turn_jump_phase`), land soft and stand."""
    def pose(p: Array) -> Array:
        s = depth * (_window(p, 0.0, 0.4) + 0.6 * _window(p, 0.65, 1.0))
        air = np.where((p > 0.4) & (p < 0.65), np.sin(np.pi * (p - 0.4) / 0.25), 0.0)
        swing = 0.10 + 1.6 * s / depth - 0.3 * air
        arms: Channels = {f"{k}_{c}": v for k in "lr" for c, v in (
            ("ua_elev", np.maximum(0.1, swing + 1.6 * air)), ("ua_azim", HALF_PI), ("fa_elev", swing + 1.7 * air + 0.1),
            ("fa_azim", HALF_PI))}
        return _pose(p, lean=0.03 + 0.55 * s, head_pitch=0.05 - 0.3 * s, jump=height * air,
                     **arms, **_squat_legs(s))

    return pose


def _pogo_lunge(left: bool, hop: float, depth: float) -> Callable[[Array], Array]:
    """Two small hops on straight legs, then a lunge with the named leg forward."""
    front = "l" if left else "r"

    def pose(p: Array) -> Array:
        hops = np.where(p < 0.4, np.abs(np.sin(np.pi * p / 0.2)), 0.0)
        s = depth * _window(p, 0.4, 1.0)
        return _pose(p, lean=0.03 + 0.1 * s, jump=hop * hops, l_ua_elev=0.1 + 0.3 * hops + 0.1 * s,
                     r_ua_elev=0.1 + 0.3 * hops + 0.1 * s, **_lunge_legs(s, front))

    return pose


@dataclass(frozen=True)
class Exercise:
    """One exercise: natural rep duration (s), its pose over a rep's phase, and any turn per rep.

    ``turn`` is the whole-body turn of one rep in radians (positive: counter-clockwise seen from
    above, i.e. to the avatar's left) and ``turn_phase`` how much of it is done at each phase.
    """

    name: str
    period: float
    pose: Callable[[Array], Array]
    turn: float = 0.0
    turn_phase: Callable[[Array], Array] | None = None


EXERCISES: dict[str, Exercise] = {e.name: e for e in (
    Exercise("SQUAT", 2.2, _squat),
    Exercise("JUMPING_JACK", 1.1, _jumping_jack),
    Exercise("ARM_RAISE", 2.4, _arm_raise),
    Exercise("UPPERCUT-LEFT", 1.0, _uppercut(True)),
    Exercise("UPPERCUT-RIGHT", 1.0, _uppercut(False)),
    Exercise("LUNGE", 2.6, _lunge),
    Exercise("LATERAL_RAISE", 2.2, _lateral_raise),
    Exercise("BICEP_CURL", 2.0, _bicep_curl),
    Exercise("HIGH_KNEES", 1.2, _high_knees),
)}
"""stickfit-v0.1.0's exercises (its ``exercise`` choices)."""


def _sides(name: str, period: float, make: Callable[[bool], Callable[[Array], Array]]) -> list[Exercise]:
    return [Exercise(f"{name}-LEFT", period, make(True)), Exercise(f"{name}-RIGHT", period, make(False))]


def _turning(name: str, period: float, pose: Callable[[Array], Array]) -> list[Exercise]:
    return [Exercise(f"{name}-LEFT", period, pose, math.pi, _turn_jump_phase),
            Exercise(f"{name}-RIGHT", period, pose, -math.pi, _turn_jump_phase)]


_VISIONFIT = [
    EXERCISES["UPPERCUT-LEFT"], EXERCISES["UPPERCUT-RIGHT"],
    Exercise("SQUAT-BODYWEIGHT", 2.2, _squat),
    Exercise("SQUAT-BACK-BARBELL", 2.6, _back_squat),
    Exercise("SQUAT-GOBLET+SUMO-DUMBBELL", 2.6, _goblet_sumo),
    Exercise("ARM_RAISE-DUMBBELL", 2.4, _arm_raise),
    Exercise("BICEP_CURL-BARBELL", 2.0, _bicep_curl),
    Exercise("BICEP_CURL-ALTERNATING-DUMBBELL", 3.2, _alternating_curl),
    Exercise("DEADLIFT-DUMBBELL", 2.8, _deadlift),
    Exercise("LUNGE-CROSSBACK", 3.6, _crossback_lunge),
    *_sides("PRESS-SINGLE_ARM-DUMBBELL", 2.0, lambda left: _press(left, dip=False)),
    *_sides("PUSH_PRESS-SINGLE_ARM-DUMBBELL", 1.8, lambda left: _press(left, dip=True)),
    *_sides("SPLIT_SQUAT-SINGLE_ARM-DUMBBELL", 2.4, _split_squat),
    *_sides("TRICEP_KICKBACK-BENT_OVER+SINGLE_ARM-DUMBBELL", 1.8, _kickback),
    Exercise("HIGH_KNEES_01", 1.2, _high_knees_variant(1.45, 0.6, 0.05)),
    Exercise("HIGH_KNEES_02", 1.0, _high_knees_variant(1.25, 0.4, 0.03)),
    Exercise("HIGH_KNEES_03", 1.4, _high_knees_variant(1.6, 0.8, 0.08)),
    *_turning("180_JUMP_SQUAT_03", 2.0, _jump_squat(0.85, 0.22)),
    *_turning("180_JUMP_SQUAT_04", 2.3, _jump_squat(1.0, 0.3)),
    *_sides("POGO_POGO_LUNGE_01", 2.4, lambda left: _pogo_lunge(left, 0.08, 0.9)),
    *_sides("POGO_POGO_LUNGE_02", 2.8, lambda left: _pogo_lunge(left, 0.12, 1.0)),
]
VISIONFIT_EXERCISES: dict[str, Exercise] = {e.name: e for e in sorted(_VISIONFIT, key=lambda e: e.name)}
"""The VisionFit names the stand-ins perform (their ``exercise`` choices), alphabetically."""

ALL_EXERCISES: dict[str, Exercise] = {**EXERCISES, **VISIONFIT_EXERCISES}
"""Every exercise by name; the two catalogues share ``UPPERCUT-LEFT`` and ``UPPERCUT-RIGHT``."""
