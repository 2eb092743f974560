"""Self-penetration of the stick figure: two body parts that do not touch in the tree overlapping in 3-D.

VisionFit flags frames whose body mesh passes through itself (``has_self_penetrations``). The
stick figure's parts are capsules (the head a sphere); two parts count as penetrating when they
share no joint and their capsules overlap by more than :data:`TOLERANCE` (a grazing touch, such
as a hand resting on the thigh, is not a penetration).

Examples
--------
>>> flags = self_penetrations(job.body, job.joints)  # doctest: +SKIP
>>> flags.shape, flags.dtype                         # doctest: +SKIP
((30,), dtype('bool'))
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from .skeleton import PARTS, Body

__all__ = ["TOLERANCE", "self_penetrations"]

Array = NDArray[np.float64]
TOLERANCE = 0.01  # metres of overlap below which two capsules only touch
# Pairs of parts that share no joint: neighbours along the body always meet at their joint.
_PAIRS = np.array([(i, j) for i, j in itertools.combinations(range(len(PARTS)), 2)
                   if not set(PARTS[i].joints) & set(PARTS[j].joints)], dtype=np.intp)


def _segment_distances(p0: Array, p1: Array, q0: Array, q1: Array) -> Array:
    """Closest distances between segments ``p0–p1`` and ``q0–q1`` (arrays ``(..., 3)``)."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a, e = (d1 * d1).sum(-1), (d2 * d2).sum(-1)
    b, c, f = (d1 * d2).sum(-1), (d1 * r).sum(-1), (d2 * r).sum(-1)
    tiny = 1e-12
    denom = a * e - b * b
    s = np.where(denom > tiny, np.clip((b * f - c * e) / np.maximum(denom, tiny), 0.0, 1.0), 0.0)
    t = np.where(e > tiny, (b * s + f) / np.maximum(e, tiny), 0.0)
    # t outside [0, 1]: clamp it and recompute s for the clamped t.
    t_clamped = np.clip(t, 0.0, 1.0)
    s = np.where(t != t_clamped, np.where(a > tiny, np.clip((b * t_clamped - c) / np.maximum(a, tiny), 0.0, 1.0), 0.0),
                 s)
    gap = (p0 + s[..., None] * d1) - (q0 + t_clamped[..., None] * d2)
    out: Array = np.sqrt((gap * gap).sum(-1))
    return out


def self_penetrations(body: Body, joints: Array) -> NDArray[np.bool_]:
    """Whether any two parts that share no joint overlap in each frame of ``joints`` ``(n, J, 3)``."""
    a = np.array([p.a for p in PARTS])
    b = np.array([p.b for p in PARTS])
    radius = np.array([getattr(body, p.radius) for p in PARTS])
    i, j = _PAIRS[:, 0], _PAIRS[:, 1]
    distance = _segment_distances(joints[:, a[i]], joints[:, b[i]], joints[:, a[j]], joints[:, b[j]])
    out: NDArray[np.bool_] = (distance < radius[i] + radius[j] - TOLERANCE).any(axis=1)
    return out
