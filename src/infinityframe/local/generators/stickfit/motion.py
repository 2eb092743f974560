"""Exercises as poses over a rep's phase, and the timeline of reps, pauses and noise.

An exercise maps a phase ``p`` in [0, 1] to pose channels (:data:`skeleton.CHANNELS`); the
pose at ``p = 0`` equals the pose at ``p = 1`` and is where the avatar rests between reps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .skeleton import CHANNELS, C

__all__ = ["EXERCISES", "Exercise", "Motion", "Timeline", "expected_duration", "plan_timeline", "sample_motion"]

Array = NDArray[np.float64]
HALF_PI = math.pi / 2

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


@dataclass(frozen=True)
class Exercise:
    """One exercise: natural rep duration (s) and its pose over a rep's phase."""

    name: str
    period: float
    pose: Callable[[Array], Array]


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

# Noise wobbles angles only; feet and jump height stay physical.
_NOISE_SCALE = np.array([0.0 if name == "jump" else 0.035 for name in CHANNELS])


def _speed_spread(max_change: float) -> float:
    """E[(1 + m)^-u] for u ~ U(-1, 1): the mean stretch of a rep's duration."""
    k = math.log1p(max_change)
    return 1.0 if k < 1e-9 else math.sinh(k) / k


def expected_duration(params: dict[str, Any]) -> float:
    """Expected length of the video in seconds (the pauses at their mean)."""
    ex = EXERCISES[params["exercise"]]
    reps = int(params["num_reps"])
    rep = ex.period / float(params["rel_baseline_speed"]) * _speed_spread(float(params["max_rel_speed_change"]))
    return reps * rep + (reps - 1) * float(params["inter_rep_delay_avg"])


@dataclass(frozen=True)
class Timeline:
    """When each rep starts and ends, how deep it goes, and the total duration (s)."""

    starts: Array
    ends: Array
    amplitude: Array
    duration: float


def plan_timeline(params: dict[str, Any], rng: np.random.Generator) -> Timeline:
    """Sample per-rep speeds, depths and the pauses between reps."""
    ex = EXERCISES[params["exercise"]]
    reps = int(params["num_reps"])
    base = ex.period / float(params["rel_baseline_speed"])
    # Speeds change by a factor in [1/(1+m), 1+m], symmetric in log so slow and fast balance.
    lengths = base * np.power(1.0 + float(params["max_rel_speed_change"]), -rng.uniform(-1, 1, reps))
    avg, spread = float(params["inter_rep_delay_avg"]), float(params["inter_rep_delay_var"])
    pauses = np.maximum(0.0, avg + spread * rng.uniform(-1, 1, reps))
    pauses[-1] = 0.0
    amplitude = 1.0 + 0.08 * float(params["kinematic_noise_factor"]) * rng.uniform(-1, 1, reps)
    starts = np.concatenate([[0.0], np.cumsum(lengths + pauses)[:-1]])
    ends = starts + lengths
    return Timeline(starts, ends, amplitude, float(ends[-1]))


@dataclass(frozen=True)
class Motion:
    """Pose channels and rep counts at each frame time."""

    q: Array
    rep_from_start: Array
    rep_from_intermediate: Array


def sample_motion(params: dict[str, Any], timeline: Timeline, times: Array, rng: np.random.Generator) -> Motion:
    """Poses at ``times`` (s): reps at their phase, rest in pauses, plus smooth kinematic noise.

    ``rep_from_start`` counts finished reps plus the fraction of the current one;
    ``rep_from_intermediate`` counts the same reps between rep midpoints (deepest points), so
    it passes k + 1 at the middle of rep k and is interpolated linearly in between.
    """
    ex = EXERCISES[params["exercise"]]
    idx = np.clip(np.searchsorted(timeline.starts, times, side="right") - 1, 0, None)
    start, end = timeline.starts[idx], timeline.ends[idx]
    in_rep = times < end
    phase = np.where(in_rep, (times - start) / (end - start), 0.0)
    rest = ex.pose(np.zeros(1))
    q = rest + timeline.amplitude[idx, None] * (ex.pose(phase) - rest)

    kin = float(params["kinematic_noise_factor"])
    if kin > 0:
        freq = rng.uniform(0.15, 1.2, (3, len(CHANNELS)))
        shift = rng.uniform(0, 2 * np.pi, (3, len(CHANNELS)))
        wobble = np.sin(2 * np.pi * freq[None] * times[:, None, None] + shift[None]).sum(axis=1)
        q = q + kin * _NOISE_SCALE * wobble

    from_start = np.where(in_rep, idx + phase, idx + 1.0)
    mids = (timeline.starts + timeline.ends) / 2
    if len(mids) > 1:
        first, last = mids[1] - mids[0], mids[-1] - mids[-2]
    else:
        first = last = float(timeline.ends[0] - timeline.starts[0])
    knots = np.concatenate([[mids[0] - first], mids, [mids[-1] + last]])
    values = np.arange(len(knots), dtype=np.float64)
    from_mid = np.interp(times, knots, values)
    return Motion(q, from_start.astype(np.float64), from_mid)
