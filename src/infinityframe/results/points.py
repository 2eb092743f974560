"""Keypoints of annotations as long rows: one row per (object, keypoint).

COCO ``keypoints`` are flat ``[x, y, v, x, y, v, …]`` lists named by their category;
VisionFit's ``armature_keypoints`` and ``vertex_keypoints`` are ``{name: {x, y, v, z,
x_global, y_global, z_global}}`` objects. Each becomes a *block* of columns (frame,
object_id, kind, keypoint_index, keypoint, x, y, v, and z … for the 3-D kinds); a job's
blocks are stacked into its keypoints rows by :func:`stack_blocks`.

Examples
--------
>>> block = coco_keypoints([[1, 2, 2, 3, 4, 0]], [0], [{"id": 0, "keypoints": ["nose", "tail"]}],
...                        np.array([0]), np.array([7]), [])[0]
>>> block["keypoint"].tolist(), block["x"].tolist(), block["v"].tolist()
(['nose', 'tail'], [1.0, 3.0], [2, 0])
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .columns import Cat, Column, repeat_cat

__all__ = ["POINT_FIELDS", "coco_keypoints", "point_blocks", "stack_blocks"]

POINT_FIELDS = ("x", "y", "v", "z", "x_global", "y_global", "z_global")


def coco_keypoints(flats: Sequence[Any], category_ids: Sequence[Any], categories: Sequence[Any],
                   frame: NDArray[np.int64], object_id: NDArray[np.int64],
                   problems: list[str]) -> list[dict[str, Column]]:
    """COCO ``keypoints`` (flat x, y, v triples, one list per annotation) as blocks, one per category."""
    keypoint_names = {c.get("id"): c.get("keypoints") for c in categories
                      if isinstance(c, dict) and isinstance(c.get("keypoints"), list)}
    groups: dict[Any, list[int]] = {}
    for i, (flat, category_id) in enumerate(zip(flats, category_ids, strict=True)):
        if flat:
            groups.setdefault(category_id, []).append(i)
    blocks: list[dict[str, Column]] = []
    for category_id, rows in groups.items():
        lists = [flats[i] for i in rows]
        names = keypoint_names.get(category_id) or [f"keypoint_{j}" for j in range(len(lists[0]) // 3)]
        width = 3 * len(names)
        try:
            values = np.array(lists, dtype=np.float64)
        except (TypeError, ValueError):
            values = np.empty((0,))
        if values.shape != (len(rows), width):
            good = [j for j, f in enumerate(lists) if isinstance(f, list) and len(f) == width]
            if len(good) < len(rows):
                problems.append(f"{len(rows) - len(good)} annotations have keypoint lists that are not "
                                f"{len(names)} (x, y, v) triples; their keypoints were left out")
            rows = [rows[j] for j in good]
            values = np.array([lists[j] for j in good], dtype=np.float64).reshape(len(rows), width)
        if not rows:
            continue
        points = values.reshape(len(rows), len(names), 3)
        index = np.asarray(rows, dtype=np.intp)
        blocks.append(_block(points, names, "coco", frame[index], object_id[index]))
    return blocks


def point_blocks(values: Sequence[Any], kind: str, frame: NDArray[np.int64],
                 object_id: NDArray[np.int64]) -> list[dict[str, Column]]:
    """Named 3-D points (``{name: {x, y, v, z, x_global, …}}`` per annotation) as one block of ``kind``."""
    rows = [i for i, v in enumerate(values) if isinstance(v, dict) and v]
    if not rows:
        return []
    named = [values[i] for i in rows]
    names = list(dict.fromkeys(itertools.chain.from_iterable(named)))
    points = _complete_points(named, names)
    if points is None:
        empty: dict[str, Any] = {}
        flat = [(v.get(n) or empty).get(f) for v in named for n in names for f in POINT_FIELDS]
        points = np.array(flat, dtype=np.float64)
    index = np.asarray(rows, dtype=np.intp)
    return [_block(points.reshape(len(rows), len(names), len(POINT_FIELDS)), names, kind, frame[index],
                   object_id[index])]


def _complete_points(named: Sequence[dict[str, Any]], names: Sequence[str]) -> NDArray[np.float64] | None:
    """The fields of every point as one flat array when every object has every point with every
    field as a number (VisionFit's armature: 55 joints × 7 fields per person), else ``None``.

    Item getters pull the values out in C, a million points a second, where a ``get`` per field
    would take several times as long.
    """
    by_field = operator.itemgetter(*POINT_FIELDS)
    try:
        if len(names) == 1:
            points = [v[names[0]] for v in named]
        else:
            points = list(itertools.chain.from_iterable(map(operator.itemgetter(*names), named)))
        return np.fromiter(itertools.chain.from_iterable(map(by_field, points)), dtype=np.float64,
                           count=len(points) * len(POINT_FIELDS))
    except (KeyError, TypeError, ValueError):
        return None  # a missing point or field, or a null: fill the gaps with NaN one value at a time


def _block(points: NDArray[np.float64], names: Sequence[str], kind: str, frame: NDArray[np.int64],
           object_id: NDArray[np.int64]) -> dict[str, Column]:
    count, per = points.shape[0], points.shape[1]
    v = points[:, :, 2].ravel()
    whole = bool(np.isfinite(v).all() and (v == np.round(v)).all())
    block: dict[str, Column] = {
        "frame": np.repeat(frame, per), "object_id": np.repeat(object_id, per),
        "kind": Cat(np.zeros(count * per, dtype=np.int32), [kind]),
        "keypoint_index": np.tile(np.arange(per, dtype=np.int16), count),
        "keypoint": repeat_cat([str(n) for n in names], count),
        "x": points[:, :, 0].ravel(), "y": points[:, :, 1].ravel(),
        "v": v.astype(np.int8) if whole else v,
    }
    for i, name in enumerate(POINT_FIELDS[3:points.shape[2]], start=3):
        block[name] = points[:, :, i].ravel()
    return block


def stack_blocks(blocks: list[dict[str, Column]]) -> dict[str, Column]:
    """One job's keypoint blocks as one set of columns (absent numeric fields are NaN)."""
    if len(blocks) <= 1:
        return blocks[0] if blocks else {}
    names = list(dict.fromkeys(itertools.chain.from_iterable(blocks)))
    out: dict[str, Column] = {}
    for name in names:
        pieces = [b.get(name) for b in blocks]
        if any(isinstance(p, Cat) for p in pieces):
            codes: list[NDArray[np.int32]] = []
            categories: list[str] = []
            for piece, block in zip(pieces, blocks, strict=True):
                n = len(block["frame"])
                if isinstance(piece, Cat):
                    # duplicate names across blocks are merged when the batch's columns are joined
                    codes.append(np.where(piece.codes >= 0, piece.codes + len(categories), -1).astype(np.int32))
                    categories += piece.categories
                else:
                    codes.append(np.full(n, -1, dtype=np.int32))
            out[name] = Cat(np.concatenate(codes), categories)
        else:
            arrays = [p if isinstance(p, np.ndarray) else np.full(len(b["frame"]), np.nan)
                      for p, b in zip(pieces, blocks, strict=True)]
            out[name] = np.concatenate(arrays)
    return out
