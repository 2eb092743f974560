"""Write :class:`~infinityframe.results.Results` as merged COCO json files, one per split.

Segmentation masks are not in the tables (they stay in each job's ``segmentation.zip``), so the
annotations carry no ``segmentation`` key; boxes, areas and COCO keypoints are written.

Examples
--------
>>> res = inf.read_results("batch/").split({"train": .5, "val": .5}, seed=0)
>>> res.to_coco("coco/")
[PosixPath('coco/train.json'), PosixPath('coco/val.json')]
>>> from pycocotools.coco import COCO
>>> len(COCO("coco/train.json").getImgIds())                           # doctest: +ELLIPSIS
loading annotations into memory...
1
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd

if TYPE_CHECKING:
    from .core import Results

__all__ = ["COCO_KEYPOINTS", "COCO_SKELETON", "to_coco"]

COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)
COCO_SKELETON = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9), (8, 10), (9, 11),
    (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)
_IMAGE_KEYS = ["batch_id", "job_id", "image_id"]
_OBJECT_KEYS = ["batch_id", "job_id", "frame", "object_id"]


def to_coco(results: Results, path: str | os.PathLike[str], *, split: str | Sequence[str] | None = None) -> list[Path]:
    """Write the results as COCO json: one merged file per split.

    With a ``split`` column (see :meth:`Results.split`), ``path`` is a folder and each split
    goes to ``path/<split>.json``. Without one, everything goes to one file: ``path`` itself if
    it ends in ``.json``, else ``path/all.json``. Files are written atomically (a temporary file
    renamed into place).

    Each file has ``images`` (new ids from 1, unique across jobs; ``file_name`` is
    the frame's ``image_path`` when it has its own image (prefixed with ``<job_id>/`` when
    relative), else ``<job_id>/frame_<n>``;
    ``width``, ``height``, ``batch_id``, ``job_id``, ``frame``), ``annotations`` (new ids from 1,
    ``image_id``, ``category_id``, ``bbox`` ``[x, y, w, h]`` (left out when the object has no
    box), ``area``, ``iscrowd``, and for categories with COCO keypoints ``keypoints``
    ``[x, y, v] * K`` and ``num_keypoints``) and ``categories`` (``id``, ``name``, and for
    keypoint categories ``keypoints``, the names in index order, and, for COCO's 17 keypoints,
    COCO's ``skeleton``). Coordinates are written as ints when whole, as floats otherwise, so
    they round-trip unchanged. There is no ``segmentation``: masks are in ``segmentation.zip``.

    Parameters
    ----------
    results : Results
        The results to write (either backend).
    path : str or PathLike
        A folder (created if needed), or a ``.json`` file when the results have no splits.
    split : str or sequence of str, optional
        Only these splits (default: every split; ignored when there is no ``split`` column).

    Returns
    -------
    list of Path
        The files written, in split order.

    Raises
    ------
    ValueError
        When ``split`` names a split that is not in the results, or ``path`` is a ``.json``
        file but there are several splits to write.

    Examples
    --------
    >>> to_coco(res, "coco/all.json")
    [PosixPath('coco/all.json')]
    >>> to_coco(res.split({"train": .5, "val": .5}), "coco/", split="val")
    [PosixPath('coco/val.json')]
    """
    tables = results.to_backend("pandas")
    frames, objects, keypoints = tables.frames, tables.objects, tables.keypoints
    target = Path(path)
    categories, layouts = _categories(objects, keypoints)
    if "split" not in frames.columns:
        file = target if target.suffix.lower() == ".json" else target / "all.json"
        return [_write(file, _document(frames, objects, keypoints, categories, layouts))]
    known = [str(c) for c in frames["split"].cat.categories] if isinstance(frames["split"].dtype, pd.CategoricalDtype) \
        else [str(v) for v in frames["split"].dropna().unique()]
    wanted = known if split is None else ([split] if isinstance(split, str) else list(split))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(f"no split named {unknown} in these results; the splits are {known}")
    if target.suffix.lower() == ".json" and len(wanted) > 1:
        raise ValueError(f"{target} is a file but there are {len(wanted)} splits ({wanted}) to write; "
                         "pass a folder, or split=<one name>")
    written = []
    for name in wanted:
        file = target if target.suffix.lower() == ".json" else target / f"{name}.json"
        document = _document(_rows(frames, name), _rows(objects, name), _rows(keypoints, name), categories, layouts)
        written.append(_write(file, document))
    return written


def _rows(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame[(frame["split"].astype(object) == name).to_numpy()] if "split" in frame.columns else frame


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _categories(objects: pd.DataFrame, keypoints: pd.DataFrame) -> tuple[list[dict[str, Any]], dict[int, list[str]]]:
    """COCO categories (for every file alike) and each keypoint category's keypoint names."""
    pairs = objects[["category_id", "category"]].astype(object).dropna().drop_duplicates("category_id")
    coco = keypoints[(keypoints["kind"].astype(object) == "coco").to_numpy()] if "kind" in keypoints else keypoints
    names = (coco[["keypoint_index", "keypoint"]].astype(object).drop_duplicates("keypoint_index")
             .sort_values("keypoint_index"))
    keypoint_names = [str(n) for n in names["keypoint"]]
    linked = _plain(coco, _OBJECT_KEYS).drop_duplicates().merge(
        _plain(objects, [*_OBJECT_KEYS, "category_id"]), on=_OBJECT_KEYS, how="inner") if len(coco) else None
    with_keypoints = set() if linked is None else {int(c) for c in linked["category_id"].dropna().unique()}
    categories: list[dict[str, Any]] = []
    layouts: dict[int, list[str]] = {}
    for cat_id, cat_name in sorted(((int(i), str(n)) for i, n in pairs.itertuples(index=False)), key=lambda p: p[0]):
        entry: dict[str, Any] = {"id": cat_id, "name": cat_name, "supercategory": cat_name}
        if cat_id in with_keypoints and keypoint_names:
            entry["keypoints"] = keypoint_names
            entry["skeleton"] = [list(s) for s in COCO_SKELETON] if tuple(keypoint_names) == COCO_KEYPOINTS else []
            layouts[cat_id] = keypoint_names
        categories.append(entry)
    return categories, layouts


def _plain(frame: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: (frame[c].astype(object) if isinstance(frame[c].dtype, pd.CategoricalDtype)
                             else frame[c]) for c in cols}).reset_index(drop=True)


def _document(frames: pd.DataFrame, objects: pd.DataFrame, keypoints: pd.DataFrame,
              categories: list[dict[str, Any]], layouts: dict[int, list[str]]) -> dict[str, Any]:
    image_keys = _plain(frames, [*_IMAGE_KEYS, "frame"])
    image_keys["_new"] = np.arange(1, len(image_keys) + 1)
    paths = frames["image_path"].astype(object).to_numpy() if "image_path" in frames.columns else [None] * len(frames)
    images = []
    for (batch_id, job_id, _, number, new), image_path, width, height in zip(
            image_keys.itertuples(index=False), paths, frames["width"].to_numpy(), frames["height"].to_numpy(),
            strict=True):
        has_path = isinstance(image_path, str) and image_path != ""
        if has_path:  # absolute paths as they are; relative ones are relative to the job folder
            file_name = image_path if Path(image_path).is_absolute() else f"{job_id}/{image_path}"
        else:
            file_name = f"{job_id}/frame_{number}"
        images.append({"id": int(new), "file_name": file_name,
                       "width": int(width), "height": int(height), "batch_id": str(batch_id), "job_id": str(job_id),
                       "frame": int(number)})
    objs = _plain(objects, [*_OBJECT_KEYS, "image_id"]).merge(image_keys[[*_IMAGE_KEYS, "_new"]], on=_IMAGE_KEYS,
                                                              how="left", sort=False)
    flat = _flat_keypoints(objects, keypoints, layouts)
    annotations: list[dict[str, Any]] = []
    columns = {c: objects[c].to_numpy() for c in ("category_id", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "area",
                                                  "iscrowd", "num_keypoints") if c in objects.columns}
    for i, image in enumerate(objs["_new"].to_numpy()):
        if pd.isna(image):
            continue  # an object whose frame is not in this file
        category = int(columns["category_id"][i])
        box = [float(columns[c][i]) for c in ("bbox_x", "bbox_y", "bbox_w", "bbox_h") if c in columns]
        area = float(columns["area"][i]) if "area" in columns else math.nan
        annotation: dict[str, Any] = {"id": len(annotations) + 1, "image_id": int(image), "category_id": category}
        if len(box) == 4 and all(math.isfinite(v) for v in box):
            annotation["bbox"] = [_number(v) for v in box]
            if not math.isfinite(area):
                area = box[2] * box[3]
        annotation["area"] = _number(area) if math.isfinite(area) else 0
        annotation["iscrowd"] = int(columns["iscrowd"][i]) if "iscrowd" in columns else 0
        if category in layouts:
            values = flat[i]
            annotation["keypoints"] = values
            counted = columns.get("num_keypoints")
            visible = sum(1 for v in values[2::3] if v > 0)
            annotation["num_keypoints"] = int(counted[i]) if counted is not None and not pd.isna(counted[i]) \
                else visible
        annotations.append(annotation)
    return {"info": {"description": "written by infinityframe", "batch_ids": sorted({im["batch_id"] for im in images})},
            "licenses": [], "images": images, "annotations": annotations, "categories": categories}


def _flat_keypoints(objects: pd.DataFrame, keypoints: pd.DataFrame,
                    layouts: dict[int, list[str]]) -> list[list[int | float]]:
    """Per object row, ``[x, y, v] * K`` from its COCO keypoint rows (zeros where a keypoint is missing)."""
    size = max((len(names) for names in layouts.values()), default=0)
    flat = np.zeros((len(objects), size, 3), dtype=float)
    if size and len(keypoints):
        coco = keypoints[(keypoints["kind"].astype(object) == "coco").to_numpy()] if "kind" in keypoints \
            else keypoints
        rows = _plain(objects, _OBJECT_KEYS).assign(_row=np.arange(len(objects)))
        linked = _plain(coco, [*_OBJECT_KEYS, "keypoint_index"]).assign(
            x=coco["x"].to_numpy(dtype=float), y=coco["y"].to_numpy(dtype=float), v=coco["v"].to_numpy(dtype=float),
        ).merge(rows, on=_OBJECT_KEYS, how="inner", sort=False)
        index = linked["keypoint_index"].to_numpy(dtype=np.int64)
        inside = (index >= 0) & (index < size)
        at = linked["_row"].to_numpy()[inside], index[inside]
        flat[at[0], at[1]] = np.nan_to_num(linked[["x", "y", "v"]].to_numpy()[inside], nan=0.0)
    return [[_number(float(v)) for v in row.ravel()] for row in flat]


def _write(file: Path, document: dict[str, Any]) -> Path:
    file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(orjson.dumps(document))
        os.chmod(temporary, 0o644)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return file
