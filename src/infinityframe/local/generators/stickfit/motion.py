"""The timeline of reps, pauses and noise, and the poses it gives at each frame time.

The exercises themselves (poses over a rep's phase) are in :mod:`poses`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .poses import ALL_EXERCISES, EXERCISES, Exercise
from .skeleton import CHANNELS

__all__ = [
    "EXERCISES",
    "Exercise",
    "Motion",
    "Timeline",
    "clipped_mean_pause",
    "clipped_mean_pauses",
    "expected_duration",
    "expected_durations",
    "plan_timeline",
    "sample_motion",
]

Array = NDArray[np.float64]

# Noise wobbles angles only; feet and jump height stay physical.
_NOISE_SCALE = np.array([0.0 if name == "jump" else 0.035 for name in CHANNELS])


def _speed_spread(max_change: Array) -> Array:
    """E[(1 + m)^-u] for u ~ U(-1, 1): the mean stretch of a rep's duration, per job."""
    k = np.log1p(max_change)
    tiny = k < 1e-9
    return np.where(tiny, 1.0, np.sinh(k) / np.where(tiny, 1.0, k))


def clipped_mean_pauses(avg: Array, spread: Array) -> Array:
    """E[max(0, avg + spread * u)] for u ~ U(-1, 1), per job: the mean pause once negative draws are clipped.

    A spread larger than the mean draws some negative pauses, which the timeline clips at zero,
    so the mean pause is then ``(avg + spread)**2 / (4 * spread)`` rather than ``avg``.
    """
    clipped = (spread > avg) & (avg > -spread)  # so spread > 0 wherever it divides
    return np.where(clipped, (avg + spread) ** 2 / (4.0 * np.where(clipped, spread, 1.0)),
                    np.where(spread <= avg, np.maximum(0.0, avg), 0.0))


def clipped_mean_pause(avg: float, spread: float) -> float:
    """:func:`clipped_mean_pauses` of one job.

    >>> clipped_mean_pause(0.5, 0.1), clipped_mean_pause(0.0, 2.0), clipped_mean_pause(1.0, 1.0)
    (0.5, 0.5, 1.0)
    """
    return float(clipped_mean_pauses(np.array([avg], dtype=float), np.array([spread], dtype=float))[0])


def _pauses_on(params: dict[str, Any]) -> bool:
    # stickfit-v0.1.0 has no add_pauses and always pauses.
    return bool(params.get("add_pauses", True))


def expected_durations(columns: Mapping[str, Sequence[Any]]) -> Array:
    """Expected length of each job's video in seconds (each pause at its clipped mean, 0 without
    pauses), from the jobs' parameters by column: a batch's estimates in one pass."""
    def floats(name: str) -> Array:
        return np.asarray(columns[name], dtype=float)

    period = np.array([ALL_EXERCISES[name].period for name in columns["exercise"]], dtype=float)
    reps = np.asarray(columns["num_reps"], dtype=float).astype(np.int64)
    rep = period / floats("rel_baseline_speed") * _speed_spread(floats("max_rel_speed_change"))
    pause = clipped_mean_pauses(floats("inter_rep_delay_avg"), floats("inter_rep_delay_var"))
    if "add_pauses" in columns:  # stickfit-v0.1.0 has no add_pauses and always pauses
        pause = np.where(np.asarray(columns["add_pauses"], dtype=bool), pause, 0.0)
    result: Array = reps * rep + (reps - 1) * pause
    return result


def expected_duration(params: dict[str, Any]) -> float:
    """Expected length of one job's video in seconds (:func:`expected_durations` of one job)."""
    return float(expected_durations({name: [value] for name, value in params.items()})[0])


@dataclass(frozen=True)
class Timeline:
    """When each rep starts and ends, how deep it goes, and the total duration (s)."""

    starts: Array
    ends: Array
    amplitude: Array
    duration: float


def plan_timeline(params: dict[str, Any], rng: np.random.Generator) -> Timeline:
    """Sample per-rep speeds, depths and the pauses between reps.

    Without pauses (``add_pauses`` false) the pauses are still drawn, then zeroed, so the
    per-rep depths that follow them in the stream are the same either way.
    """
    ex = ALL_EXERCISES[params["exercise"]]
    reps = int(params["num_reps"])
    base = ex.period / float(params["rel_baseline_speed"])
    # Speeds change by a factor in [1/(1+m), 1+m], symmetric in log so slow and fast balance.
    lengths = base * np.power(1.0 + float(params["max_rel_speed_change"]), -rng.uniform(-1, 1, reps))
    avg, spread = float(params["inter_rep_delay_avg"]), float(params["inter_rep_delay_var"])
    pauses = np.maximum(0.0, avg + spread * rng.uniform(-1, 1, reps))
    pauses[-1] = 0.0
    if not _pauses_on(params):
        pauses[:] = 0.0
    amplitude = 1.0 + 0.08 * float(params["kinematic_noise_factor"]) * rng.uniform(-1, 1, reps)
    starts = np.concatenate([[0.0], np.cumsum(lengths + pauses)[:-1]])
    ends = starts + lengths
    return Timeline(starts, ends, amplitude, float(ends[-1]))


@dataclass(frozen=True)
class Motion:
    """Pose channels, rep counts and the exercise's whole-body turn (radians) at each frame time."""

    q: Array
    rep_from_start: Array
    rep_from_intermediate: Array
    heading: Array


def sample_motion(params: dict[str, Any], timeline: Timeline, times: Array, rng: np.random.Generator) -> Motion:
    """Poses at ``times`` (s): reps at their phase, rest in pauses, plus smooth kinematic noise.

    ``rep_from_start`` counts finished reps plus the fraction of the current one;
    ``rep_from_intermediate`` counts the same reps between rep midpoints (deepest points), so
    it passes k + 1 at the middle of rep k and is interpolated linearly in between.
    """
    ex = ALL_EXERCISES[params["exercise"]]
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
    heading = np.zeros_like(times)
    if ex.turn and ex.turn_phase is not None:
        # Each rep adds one turn; a pause holds the heading the rep ended at.
        heading = np.asarray(ex.turn * (idx + np.where(in_rep, ex.turn_phase(phase), 1.0)), dtype=np.float64)
    return Motion(q, from_start.astype(np.float64), from_mid, heading)
