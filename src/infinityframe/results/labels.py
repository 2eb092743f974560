"""COCO labels files (``labels.json``, ``video.rgb.json``) as frame and object columns.

Most of a VisionFit labels file is what no table shows: every annotation carries its
polygon, cuboid, joint rotations and two sets of 3-D points, tens of kilobytes that a full
parse turns into hundreds of thousands of Python objects, only to free them again. So the
file is decoded with msgspec against a schema that keeps each annotation's values as raw
JSON text (:class:`msgspec.Raw`, a view into the file's bytes: nothing is built for a value
that is skipped), and only the fields a table needs are parsed, one field of all annotations
at a time (:class:`RawRecords`). A file that does not fit the schema (damaged, or shaped
unlike COCO) is parsed whole with orjson instead and goes through the same column code,
which says what is wrong with it.

Examples
--------
>>> problems: list[str] = []
>>> labels = read_labels(folder / batch.job_ids[0] / "labels.json", problems=problems)  # a preview's
>>> labels.num_frames, sorted(labels.objects)[:3], problems
(1, ['area', 'bbox_h', 'bbox_w'], [])
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

# msgspec here for its schema-typed lazy decode (msgspec.Raw): orjson, the package's JSON library
# nearly everywhere else, cannot skip a value without building it, and reading results this way takes
# about half the time and a fifth of the memory of a whole orjson parse (benchmarks/results/results_read.md).
# (The service's batch POST is the other schema-typed decode: local/routes/batches.py.)
import msgspec
import numpy as np
import orjson
from numpy.typing import NDArray

from .columns import Column, cat_from_values, scalar_column
from .points import coco_keypoints, point_blocks, stack_blocks

__all__ = ["LabelColumns", "RawRecords", "Records", "read_json", "read_labels"]

PREVIEW_FILE = "video_preview.png"

# Annotation fields that are not one scalar per object: they get their own columns or tables,
# or (polygons, colours, cuboids, joint rotations) stay in the file for whoever needs them.
_OBJECT_SPECIAL = frozenset({"id", "image_id", "category_id", "bbox", "keypoints", "segmentation", "color",
                             "armature_keypoints", "vertex_keypoints", "quaternions", "cuboid_coordinates"})
_OBJECT_FIRST = ("area", "iscrowd", "num_keypoints", "percent_in_fov", "percent_occlusion")
_IMAGE_SPECIAL = frozenset({"id", "frame_number", "width", "height", "file_name"})

UNREADABLE: Any = object()


class LabelColumns(NamedTuple):
    """One labels file's rows of the ``frames``, ``objects`` and ``keypoints`` tables."""

    frames: dict[str, Column]
    objects: dict[str, Column]
    keypoints: dict[str, Column]
    num_frames: int


_EMPTY = LabelColumns({}, {}, {}, 0)


class _LazyLabels(msgspec.Struct):
    """The parts of a COCO file a table needs; annotation values stay unparsed until asked for."""

    images: list[dict[str, Any]]
    annotations: list[dict[str, msgspec.Raw]] = []
    categories: list[Any] = []


_LAZY = msgspec.json.Decoder(_LazyLabels)


def _union_keys(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of the records, in order of first appearance (one pass in C over all of them)."""
    return list(dict.fromkeys(itertools.chain.from_iterable(records)))


class Records:
    """A list of JSON objects (COCO images or annotations), read one field at a time.

    Examples
    --------
    >>> r = Records([{"id": 1, "area": 2.5}, {"id": 2}])
    >>> r.keys, r.values("area")
    (['id', 'area'], [2.5, None])
    """

    def __init__(self, items: Sequence[Mapping[str, Any]]) -> None:
        self._items = items
        self.keys = _union_keys(items)

    def __len__(self) -> int:
        return len(self._items)

    def values(self, key: str) -> list[Any]:
        """The field ``key`` of every record (``None`` where a record lacks it)."""
        return [item.get(key) for item in self._items]

    def take(self, index: Iterable[int]) -> Records:
        """The records at ``index``, as the same kind of records."""
        return type(self)([self._items[i] for i in index])


class RawRecords(Records):
    """Records whose values are raw JSON text; one field of every record is parsed in one call.

    Examples
    --------
    >>> r = RawRecords([{"id": msgspec.Raw(b"1"), "bbox": msgspec.Raw(b"[0, 0, 2, 3]")}, {"id": msgspec.Raw(b"2")}])
    >>> r.values("bbox")
    [[0, 0, 2, 3], None]
    """

    def values(self, key: str) -> list[Any]:
        # One JSON array of the field's texts: a single parse of a few bytes per record.
        parts = [item.get(key, b"null") for item in self._items]
        values: list[Any] = orjson.loads(b"[" + b",".join(parts) + b"]")
        return values


def read_json(path: Path, problems: list[str], consequence: str, data: bytes | None = None) -> Any:
    """The parsed file (or ``data``, its bytes), or :data:`UNREADABLE` with the reason in ``problems``."""
    try:
        return orjson.loads(path.read_bytes() if data is None else data)
    except OSError as err:
        problems.append(f"{path.name} could not be read ({err.strerror or err})")
    except orjson.JSONDecodeError as err:
        problems.append(f"{path.name} is not valid JSON ({err}); {consequence}")
    return UNREADABLE


def _decode(path: Path, problems: list[str]) -> tuple[list[Any], list[Any], list[Any], bool] | None:
    """Images, annotations, categories and whether the annotations' values are raw JSON, of a labels
    file, or ``None`` with the reason in ``problems``."""
    try:
        data = path.read_bytes()
    except OSError as err:
        problems.append(f"{path.name} could not be read ({err.strerror or err})")
        return None
    try:
        lazy = _LAZY.decode(data)
        return lazy.images, lazy.annotations, lazy.categories, True
    except msgspec.MsgspecError:
        pass  # not the expected shape, or not JSON: parse it the plain way to say what is wrong
    parsed = read_json(path, problems, "it may be truncated or damaged", data)
    if parsed is UNREADABLE:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("images"), list):
        problems.append(f"{path.name} has no 'images' list, so it is not COCO labels")
        return None
    annotations = parsed.get("annotations") or []
    categories = parsed.get("categories") or []
    if not isinstance(annotations, list) or not isinstance(categories, list):
        problems.append(f"{path.name} has 'annotations' or 'categories' that are not lists; its objects were left out")
        annotations = []
    return parsed["images"], annotations, categories, False


def read_labels(path: Path, *, problems: list[str], preview: bool = False, has_images: bool = False,
                armature: bool = False) -> LabelColumns:
    """The columns of one COCO labels file; what cannot be read is said in ``problems``, never raised.

    Parameters
    ----------
    path : Path
        ``labels.json`` or ``video.rgb.json`` in a job folder.
    problems : list of str
        Sentences about what could not be read are appended here.
    preview, has_images : bool
        Whether the job is a preview, and whether it has an ``images/`` folder (where frames' images are).
    armature : bool
        Also read ``armature_keypoints`` and ``vertex_keypoints`` into the keypoints rows.

    Examples
    --------
    >>> read_labels(folder / batch.job_ids[0] / "labels.json", problems=[]).num_frames  # a preview's
    1
    """
    decoded = _decode(path, problems)
    if decoded is None:
        return _EMPTY
    image_list, annotation_list, categories, raw = decoded
    try:
        images = Records(image_list)
        annotations = RawRecords(annotation_list) if raw else Records(annotation_list)
        frames, id_to_frame = _frame_columns(images, path.parent, preview, has_images)
        objects, keypoints = _object_columns(annotations, categories, id_to_frame, armature, problems)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        # A file that parses but is shaped unlike COCO: keep the job row, drop what came of it.
        problems.append(f"{path.name} has an unexpected structure ({type(err).__name__}: {err}); "
                        "its rows were left out")
        return _EMPTY
    return LabelColumns(frames, objects, keypoints, len(images))


def _int_column(values: list[Any], default: NDArray[np.int64]) -> NDArray[np.int64]:
    column = scalar_column(values)
    if isinstance(column, np.ndarray) and column.dtype == np.int64:
        return column
    return default


def _frame_columns(images: Records, folder: Path, preview: bool, has_images: bool,
                   ) -> tuple[dict[str, Column], dict[Any, int]]:
    """Frame columns and the map image id → frame number that annotations are joined by."""
    n = len(images)
    frame = _int_column(images.values("frame_number"), np.arange(n, dtype=np.int64))
    cols: dict[str, Column] = {"frame": frame}
    ids = scalar_column(images.values("id"))
    if ids is not None:
        cols["image_id"] = ids
    for name in ("width", "height"):
        if name in images.keys:
            column = scalar_column(images.values(name))
            if column is not None:
                cols[name] = column
    names = images.values("file_name") if "file_name" in images.keys else None
    cols["image_path"] = _image_paths(names, frame, folder, preview, has_images)
    for key in images.keys:
        if key in _IMAGE_SPECIAL:
            continue
        values = images.values(key)
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


def _image_paths(names: list[Any] | None, frame: NDArray[np.int64], folder: Path, preview: bool,
                 has_images: bool) -> NDArray[Any]:
    """Where each frame's image is, when it is a file of its own (not a frame inside a video)."""
    base = str(folder)
    if names is not None:
        return np.array([os.path.join(base, name) if name else None for name in names], dtype=object)
    if preview:
        return np.array([os.path.join(base, PREVIEW_FILE)] * len(frame), dtype=object)
    if has_images:
        return np.array([os.path.join(base, "images", f"image.{f:06d}.png") for f in frame.tolist()], dtype=object)
    return np.full(len(frame), None, dtype=object)


def _bbox(values: list[Any]) -> NDArray[np.float64]:
    m = len(values)
    try:
        boxes = np.array(values, dtype=np.float64)
        if boxes.shape == (m, 4):
            return boxes
    except (TypeError, ValueError):
        pass  # some objects lack a box (hidden spills, hidden shapes): fill row by row below
    boxes = np.full((m, 4), np.nan)
    for i, box in enumerate(values):
        if isinstance(box, list) and len(box) == 4:
            try:
                boxes[i] = box
            except (TypeError, ValueError):
                continue
    return boxes


def _object_columns(annotations: Records, categories: list[Any], id_to_frame: Mapping[Any, int],
                    armature: bool, problems: list[str]) -> tuple[dict[str, Column], dict[str, Column]]:
    image_ids = annotations.values("image_id")
    frame = np.fromiter((id_to_frame.get(i, -1) for i in image_ids), dtype=np.int64, count=len(image_ids))
    orphans = int((frame < 0).sum())
    if orphans:
        problems.append(f"{orphans} annotations refer to image ids missing from 'images'; they were left out")
        kept = np.flatnonzero(frame >= 0)
        annotations, frame = annotations.take(kept.tolist()), frame[kept]
        image_ids = [image_ids[i] for i in kept.tolist()]
    m = len(annotations)
    if m == 0:
        return {}, {}
    object_id = _int_column(annotations.values("id"), np.arange(m, dtype=np.int64))
    names = {c.get("id"): c.get("name") for c in categories if isinstance(c, dict)}
    category_ids = annotations.values("category_id")
    cols: dict[str, Column] = {"frame": frame, "object_id": object_id}
    image_id = scalar_column(image_ids)
    if image_id is not None:
        cols["image_id"] = image_id
    cols["category"] = cat_from_values((names.get(c) for c in category_ids), m)
    category_id = scalar_column(category_ids)
    if category_id is not None:
        cols["category_id"] = category_id
    boxes = _bbox(annotations.values("bbox"))
    for i, name in enumerate(("bbox_x", "bbox_y", "bbox_w", "bbox_h")):
        cols[name] = np.ascontiguousarray(boxes[:, i])
    keys = annotations.keys
    ordered = [k for k in _OBJECT_FIRST if k in keys] + [k for k in keys if k not in _OBJECT_FIRST]
    for key in ordered:
        if key in _OBJECT_SPECIAL:
            continue
        column = scalar_column(annotations.values(key))
        if column is not None:
            cols[key if key not in cols else f"object_{key}"] = column
    blocks = []
    if "keypoints" in keys:
        blocks += coco_keypoints(annotations.values("keypoints"), category_ids, categories, frame, object_id,
                                 problems)
    if armature:
        for kind in ("armature", "vertex"):
            if f"{kind}_keypoints" in keys:
                blocks += point_blocks(annotations.values(f"{kind}_keypoints"), kind, frame, object_id)
    return cols, stack_blocks(blocks)
