"""Readers of one job folder, for every result layout in the contract (reference §4).

=========================  ==================================  ===============================
layout                     labels                              frames come from
=========================  ==================================  ===============================
VisionFit v0.4.0, flagship ``labels.json`` (COCO)              ``images``
VisionFit ≤ v0.3.1, Spills ``video.rgb.json`` (COCO)           ``images``
SenseFit                   ``data.csv``                        its rows (``time`` → ``time_s``)
preview (no video)         ``labels.json`` if present          else one frame: ``video_preview.png``
our shapes generator       ``labels.json``                     ``images`` (``file_name`` → path)
=========================  ==================================  ===============================

:func:`read_job` never raises for damaged input: whatever could not be read becomes a sentence
in :attr:`JobData.problems`, and the job contributes the rows that could be read (often none).
It builds numpy columns straight from the parsed lists, and the parsed JSON is released when
it returns, so only the arrays of a job outlive its reading.

Examples
--------
>>> job = read_job(Path("batch/1b3f73c9-0e95-46f7-93c3-ce0ae516b413"))  # doctest: +SKIP
>>> job.num_frames, job.problem, job.frames["time_s"][:3]                 # doctest: +SKIP
(81, None, array([0.        , 0.16666667, 0.33333333]))
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from .casting import typed_params
from .columns import Cat, Column, cat_from_values, repeat_cat, scalar_column

__all__ = ["JOB_FILES", "LABEL_FILES", "JobData", "is_job_folder", "read_job"]

LABEL_FILES = ("labels.json", "video.rgb.json")
VIDEO_FILES = ("video.mp4", "video.rgb.mp4")
CSV_FILE = "data.csv"
PREVIEW_FILE = "video_preview.png"
JOB_FILES = ("job.json", *LABEL_FILES, CSV_FILE, PREVIEW_FILE)

# Annotation fields that are not one scalar per object: they get their own columns or tables,
# or (polygons, colours, cuboids, joint rotations) stay in the file for whoever needs them.
_OBJECT_SPECIAL = frozenset({"id", "image_id", "category_id", "bbox", "keypoints", "segmentation", "color",
                             "armature_keypoints", "vertex_keypoints", "quaternions", "cuboid_coordinates"})
_OBJECT_FIRST = ("area", "iscrowd", "num_keypoints", "percent_in_fov", "percent_occlusion")
_IMAGE_SPECIAL = frozenset({"id", "frame_number", "width", "height", "file_name"})
# Identifiers and positions: a per-job mean of these would mean nothing.
_NOT_AVERAGED = frozenset({"frame", "object_id", "image_id", "category_id", "iscrowd", "bbox_x", "bbox_y",
                           "person_idx"})
_POINT_FIELDS = ("x", "y", "v", "z", "x_global", "y_global", "z_global")


@dataclass
class JobData:
    """What one job folder holds, as numpy columns per table.

    Attributes
    ----------
    job_id, path, generator, params, preview, num_frames
        As in the ``jobs`` table; ``params`` are typed (see :mod:`.casting`).
    problems : list of str
        Sentences saying what could not be read; empty for a job read fully.
    frames, objects, keypoints : dict of str to Column
        The job's rows of each table, without the batch, job and parameter columns.
    summary : dict of str to float
        Per-job means of numeric object fields (``mean_percent_in_fov`` …).
    """

    job_id: str
    path: Path
    generator: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    preview: bool = False
    num_frames: int = 0
    problems: list[str] = field(default_factory=list)
    frames: dict[str, Column] = field(default_factory=dict)
    objects: dict[str, Column] = field(default_factory=dict)
    keypoints: dict[str, Column] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)

    @property
    def problem(self) -> str | None:
        """All problems as one sentence, or ``None``."""
        return "; ".join(self.problems) if self.problems else None

    def rows(self, table: str) -> int:
        """Row count of ``table`` ("frames", "objects" or "keypoints")."""
        columns: dict[str, Column] = getattr(self, table)
        return len(next(iter(columns.values()))) if columns else 0


def is_job_folder(path: Path) -> bool:
    """Whether ``path`` looks like one job's folder rather than a batch of them."""
    return any((path / name).is_file() for name in JOB_FILES)


def read_job(folder: Path, *, armature: bool = False) -> JobData:
    """Read one job folder into numpy columns; problems are recorded, never raised.

    Parameters
    ----------
    folder : Path
        The job folder (its name is the job id).
    armature : bool
        Also read ``armature_keypoints`` and ``vertex_keypoints`` into the keypoints rows.

    Examples
    --------
    >>> read_job(Path("batch/<job id>")).rows("objects")  # doctest: +SKIP
    81
    """
    job = JobData(folder.name, folder)
    try:
        entries = {e.name: e.is_dir() for e in os.scandir(folder)}
    except OSError as err:
        job.problems.append(f"the job folder could not be listed ({err.strerror or err})")
        return job
    _read_job_json(job, folder, entries)
    has_video = any(name in entries for name in VIDEO_FILES)
    has_images = entries.get("images", False)
    job.preview = not has_video and not has_images and CSV_FILE not in entries and PREVIEW_FILE in entries
    labels = next((name for name in LABEL_FILES if name in entries), None)
    if labels is not None:
        _read_coco(job, folder / labels, armature, has_images)
    elif CSV_FILE in entries:
        _read_csv(job, folder / CSV_FILE)
    elif job.preview:
        _read_preview_image(job, folder / PREVIEW_FILE)
    else:
        job.problems.append("no labels were found (labels.json, video.rgb.json or data.csv)")
    _add_time(job)
    job.summary = _summary(job.objects)
    return job


_UNREADABLE = object()


def _load_json(job: JobData, path: Path, consequence: str) -> Any:
    """The parsed file, or ``_UNREADABLE`` with the reason recorded as the job's problem."""
    try:
        return orjson.loads(path.read_bytes())
    except OSError as err:
        job.problems.append(f"{path.name} could not be read ({err.strerror or err})")
    except orjson.JSONDecodeError as err:
        job.problems.append(f"{path.name} is not valid JSON ({err}); {consequence}")
    return _UNREADABLE


def _read_job_json(job: JobData, folder: Path, entries: Mapping[str, bool]) -> None:
    if "job.json" not in entries:
        job.problems.append("job.json is missing, so the job's generator and parameters are unknown")
        return
    data = _load_json(job, folder / "job.json", "the job's parameters are unknown")
    if data is _UNREADABLE:
        return
    if not isinstance(data, dict):
        job.problems.append("job.json does not hold a JSON object, so the job's parameters are unknown")
        return
    name = data.get("name")
    job.generator = name if isinstance(name, str) else None
    params = data.get("params")
    if isinstance(params, dict):
        job.params = typed_params(job.generator, params)
    else:
        job.problems.append("job.json has no 'params' object, so the job's parameters are unknown")


def _read_coco(job: JobData, path: Path, armature: bool, has_images: bool) -> None:
    data = _load_json(job, path, "it may be truncated or damaged")
    if data is _UNREADABLE:
        return
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        job.problems.append(f"{path.name} has no 'images' list, so it is not COCO labels")
        return
    try:
        frames, id_to_frame = _frame_columns(data["images"], path.parent, job.preview, has_images)
        job.frames, job.num_frames = frames, len(data["images"])
        annotations = data.get("annotations") or []
        categories = data.get("categories") or []
        if not isinstance(annotations, list) or not isinstance(categories, list):
            job.problems.append(f"{path.name} has 'annotations' or 'categories' that are not lists; "
                                "its objects were left out")
            return
        job.objects, job.keypoints = _object_columns(annotations, categories, id_to_frame, armature,
                                                     job.problems)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        # A file that parses but is shaped unlike COCO: keep the job row, drop what came of it.
        job.frames, job.objects, job.keypoints, job.num_frames = {}, {}, {}, 0
        job.problems.append(f"{path.name} has an unexpected structure ({type(err).__name__}: {err}); "
                            "its rows were left out")


def _int_column(values: list[Any], default: NDArray[np.int64]) -> NDArray[np.int64]:
    column = scalar_column(values)
    if isinstance(column, np.ndarray) and column.dtype == np.int64:
        return column
    return default


def _union_keys(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of the records, in order of first appearance (one pass in C over all of them)."""
    return list(dict.fromkeys(itertools.chain.from_iterable(records)))


def _frame_columns(images: list[Any], folder: Path, preview: bool, has_images: bool,
                   ) -> tuple[dict[str, Column], dict[Any, int]]:
    """Frame columns and the map image id → frame number that annotations are joined by."""
    n = len(images)
    keys = _union_keys(images)
    frame = _int_column([im.get("frame_number") for im in images], np.arange(n, dtype=np.int64))
    cols: dict[str, Column] = {"frame": frame}
    ids = scalar_column([im.get("id") for im in images])
    if ids is not None:
        cols["image_id"] = ids
    for name in ("width", "height"):
        if name in keys:
            column = scalar_column([im.get(name) for im in images])
            if column is not None:
                cols[name] = column
    cols["image_path"] = _image_paths(images, frame, folder, preview, has_images, "file_name" in keys)
    for key in keys:
        if key in _IMAGE_SPECIAL:
            continue
        values = [im.get(key) for im in images]
        if all(v is None or isinstance(v, dict) for v in values):
            # ``metrics`` flattens bare (``snr``, ``mean_image_brightness``): they are the image's own
            # measures; any other nested object is prefixed with its key, as is a clash.
            for sub in _union_keys(v for v in values if v):
                column = scalar_column([(v or {}).get(sub) for v in values])
                name = sub if key == "metrics" and sub not in cols else f"{key}_{sub}"
                if column is not None:
                    cols[name] = column
            continue
        column = scalar_column(values)
        if column is not None:
            cols[key if key not in cols else f"image_{key}"] = column
    id_to_frame = dict(zip(ids.tolist(), frame.tolist(), strict=True)) if isinstance(ids, np.ndarray) else {}
    return cols, id_to_frame


def _image_paths(images: list[Any], frame: NDArray[np.int64], folder: Path, preview: bool, has_images: bool,
                 named: bool) -> NDArray[Any]:
    """Where each frame's image is, when it is a file of its own (not a frame inside a video)."""
    base = str(folder)
    if named:
        return np.array([None if not im.get("file_name") else os.path.join(base, im["file_name"])
                         for im in images], dtype=object)
    if preview:
        return np.array([os.path.join(base, PREVIEW_FILE)] * len(images), dtype=object)
    if has_images:
        return np.array([os.path.join(base, "images", f"image.{f:06d}.png") for f in frame.tolist()], dtype=object)
    return np.full(len(images), None, dtype=object)


def _bbox(annotations: list[Any]) -> NDArray[np.float64]:
    m = len(annotations)
    try:
        boxes = np.array([a["bbox"] for a in annotations], dtype=np.float64)
        if boxes.shape == (m, 4):
            return boxes
    except (KeyError, TypeError, ValueError):
        pass  # some objects lack a box (hidden spills, hidden shapes): fill row by row below
    boxes = np.full((m, 4), np.nan)
    for i, a in enumerate(annotations):
        box = a.get("bbox")
        if isinstance(box, list) and len(box) == 4:
            try:
                boxes[i] = box
            except (TypeError, ValueError):
                continue
    return boxes


def _object_columns(annotations: list[Any], categories: list[Any], id_to_frame: Mapping[Any, int],
                    armature: bool, problems: list[str]) -> tuple[dict[str, Column], dict[str, Column]]:
    frame = np.fromiter((id_to_frame.get(a.get("image_id"), -1) for a in annotations), dtype=np.int64,
                        count=len(annotations))
    orphans = int((frame < 0).sum())
    if orphans:
        problems.append(f"{orphans} annotations refer to image ids missing from 'images'; they were left out")
        annotations = [a for a, f in zip(annotations, frame.tolist(), strict=True) if f >= 0]
        frame = frame[frame >= 0]
    m = len(annotations)
    if m == 0:
        return {}, {}
    keys = _union_keys(annotations)
    object_id = _int_column([a.get("id") for a in annotations], np.arange(m, dtype=np.int64))
    names = {c.get("id"): c.get("name") for c in categories if isinstance(c, dict)}
    category_ids = [a.get("category_id") for a in annotations]
    cols: dict[str, Column] = {"frame": frame, "object_id": object_id}
    image_id = scalar_column([a.get("image_id") for a in annotations])
    if image_id is not None:
        cols["image_id"] = image_id
    cols["category"] = cat_from_values((names.get(c) for c in category_ids), m)
    category_id = scalar_column(category_ids)
    if category_id is not None:
        cols["category_id"] = category_id
    boxes = _bbox(annotations)
    for i, name in enumerate(("bbox_x", "bbox_y", "bbox_w", "bbox_h")):
        cols[name] = np.ascontiguousarray(boxes[:, i])
    ordered = [k for k in _OBJECT_FIRST if k in keys] + [k for k in keys if k not in _OBJECT_FIRST]
    for key in ordered:
        if key in _OBJECT_SPECIAL:
            continue
        column = scalar_column([a.get(key) for a in annotations])
        if column is not None:
            cols[key if key not in cols else f"object_{key}"] = column
    blocks = _coco_keypoints(annotations, categories, frame, object_id, problems)
    if armature:
        for kind in ("armature", "vertex"):
            blocks += _point_blocks(annotations, f"{kind}_keypoints", kind, frame, object_id)
    return cols, _stack_blocks(blocks)


def _coco_keypoints(annotations: list[Any], categories: list[Any], frame: NDArray[np.int64],
                    object_id: NDArray[np.int64], problems: list[str]) -> list[dict[str, Column]]:
    """COCO ``keypoints`` (flat x, y, v triples) as long rows, one block per category."""
    keypoint_names = {c.get("id"): c.get("keypoints") for c in categories
                      if isinstance(c, dict) and isinstance(c.get("keypoints"), list)}
    groups: dict[Any, list[int]] = {}
    for i, a in enumerate(annotations):
        if a.get("keypoints"):
            groups.setdefault(a.get("category_id"), []).append(i)
    blocks: list[dict[str, Column]] = []
    for category_id, rows in groups.items():
        flats = [annotations[i]["keypoints"] for i in rows]
        names = keypoint_names.get(category_id) or [f"keypoint_{j}" for j in range(len(flats[0]) // 3)]
        width = 3 * len(names)
        try:
            values = np.array(flats, dtype=np.float64)
        except (TypeError, ValueError):
            values = np.empty((0,))
        if values.shape != (len(rows), width):
            good = [j for j, f in enumerate(flats) if isinstance(f, list) and len(f) == width]
            if len(good) < len(rows):
                problems.append(f"{len(rows) - len(good)} annotations have keypoint lists that are not "
                                f"{len(names)} (x, y, v) triples; their keypoints were left out")
            rows = [rows[j] for j in good]
            values = np.array([flats[j] for j in good], dtype=np.float64).reshape(len(rows), width)
        if not rows:
            continue
        points = values.reshape(len(rows), len(names), 3)
        index = np.asarray(rows, dtype=np.intp)
        blocks.append(_block(points, names, "coco", frame[index], object_id[index]))
    return blocks


def _point_blocks(annotations: list[Any], key: str, kind: str, frame: NDArray[np.int64],
                  object_id: NDArray[np.int64]) -> list[dict[str, Column]]:
    """``armature_keypoints`` / ``vertex_keypoints`` ({name: {x, y, v, z, x_global, …}}) as long rows."""
    rows = [i for i, a in enumerate(annotations) if isinstance(a.get(key), dict) and a[key]]
    if not rows:
        return []
    names = _union_keys(annotations[i][key] for i in rows)
    empty: dict[str, Any] = {}
    flat = [(annotations[i][key].get(n) or empty).get(f) for i in rows for n in names for f in _POINT_FIELDS]
    points = np.array(flat, dtype=np.float64).reshape(len(rows), len(names), len(_POINT_FIELDS))
    index = np.asarray(rows, dtype=np.intp)
    return [_block(points, names, kind, frame[index], object_id[index])]


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
    for i, name in enumerate(_POINT_FIELDS[3:points.shape[2]], start=3):
        block[name] = points[:, :, i].ravel()
    return block


def _stack_blocks(blocks: list[dict[str, Column]]) -> dict[str, Column]:
    """One job's keypoint blocks as one set of columns (absent numeric fields are NaN)."""
    if len(blocks) <= 1:
        return blocks[0] if blocks else {}
    names = _union_keys(blocks)
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


def _read_csv(job: JobData, path: Path) -> None:
    """SenseFit ``data.csv``: one row per frame, an unnamed index, ``time`` in seconds."""
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as err:  # pandas' ParserError is a ValueError
        job.problems.append(f"{path.name} could not be read as CSV ({err})")
        return
    n = len(table)
    cols: dict[str, Column] = {"frame": np.arange(n, dtype=np.int64)}
    for name in table.columns:
        values = table[name].to_numpy()
        if str(name).startswith("Unnamed"):
            if values.dtype.kind in "iu":
                cols["frame"] = values.astype(np.int64)
            continue
        target = "time_s" if name == "time" else str(name)
        cols[target] = values if values.dtype.kind in "biuf" else cat_from_values(values.tolist(), n)
    job.frames, job.num_frames = cols, n


def _png_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, without decoding the image."""
    try:
        with path.open("rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _read_preview_image(job: JobData, path: Path) -> None:
    """A preview without labels: one frame, the preview image."""
    cols: dict[str, Column] = {"frame": np.zeros(1, dtype=np.int64)}
    size = _png_size(path)
    if size is None:
        job.problems.append(f"{path.name} is not a readable PNG image")
    else:
        cols["width"], cols["height"] = np.array([size[0]]), np.array([size[1]])
    cols["image_path"] = np.array([str(path)], dtype=object)
    job.frames, job.num_frames = cols, 1


def _add_time(job: JobData) -> None:
    """``time_s`` = frame / frame_rate (there is no timestamp in COCO labels), placed after the keys."""
    if not job.frames or "time_s" in job.frames:
        return
    rate = job.params.get("frame_rate")
    frame = job.frames["frame"]
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:
        time_s = np.asarray(frame, dtype=np.float64) / float(rate)
    else:
        time_s = np.full(len(frame), np.nan)
    items = list(job.frames.items())
    at = 2 if "image_id" in job.frames else 1
    job.frames = dict([*items[:at], ("time_s", time_s), *items[at:]])


def _summary(objects: Mapping[str, Column]) -> dict[str, float]:
    """Per-job means of numeric object fields, over the objects that have them."""
    out: dict[str, float] = {}

    def mean(values: NDArray[Any]) -> float:
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else float("nan")

    for name, column in objects.items():
        if name in _NOT_AVERAGED or isinstance(column, Cat) or column.dtype.kind not in "iuf":
            continue
        out[f"mean_{name}"] = mean(column.astype(np.float64, copy=False))
        if name == "bbox_h" and "bbox_w" in objects:
            width = np.asarray(objects["bbox_w"], dtype=np.float64)
            out["mean_bbox_area"] = mean(width * column)
    return out
