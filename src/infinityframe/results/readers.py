"""Readers of one job folder, for every result layout in the contract (reference §4).

=========================  ==================================  ===============================
layout                     labels                              frames come from
=========================  ==================================  ===============================
VisionFit v0.4.0, flagship ``labels.json`` (COCO)              ``images``
VisionFit ≤ v0.3.1, Spills ``video.rgb.json`` (COCO)           ``images``
SenseFit                   ``data.csv``                        its rows (``time`` → ``time_s``)
preview (no video)         ``labels.json`` if present          else one frame: ``video_preview.png``
our shapes generator       ``labels.json``                     ``images`` (``file_name`` → path)
published dataset (flat)   ``<id>_labels.json``                ``images``, else ``<id>.csv`` rows
=========================  ==================================  ===============================

A published dataset's jobs are not folders but files side by side (see :mod:`.flat`); each
comes as a :class:`~.flat.FlatJob` that names its files, and is read by the same code.

:func:`read_job` never raises for damaged input: whatever could not be read becomes a sentence
in :attr:`JobData.problems`, and the job contributes the rows that could be read (often none).
COCO labels files are read by :mod:`.labels` (keypoint rows by :mod:`.points`); the smaller
layouts here. Only the numpy columns of a job outlive its reading.

Examples
--------
>>> job = read_job(folder / batch.job_ids[0])  # a downloaded job's folder (a preview: one frame)
>>> job.num_frames, job.problem, job.frames["time_s"][:3]
(1, None, array([0.]))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .casting import typed_params
from .columns import Cat, Column, cat_from_values
from .flat import PARAMS_FILE, FlatJob
from .labels import PREVIEW_FILE, UNREADABLE, read_json, read_labels

__all__ = ["JOB_FILES", "LABEL_FILES", "JobData", "JobSource", "is_job_folder", "label_files", "read_job"]

LABEL_FILES = ("labels.json", "video.rgb.json")
VIDEO_FILES = ("video.mp4", "video.rgb.mp4")
CSV_FILE = "data.csv"
JOB_FILES = ("job.json", *LABEL_FILES, CSV_FILE, PREVIEW_FILE)

# A job folder, or the files of one job of a flat dataset.
JobSource = Path | FlatJob

# Identifiers and positions: a per-job mean of these would mean nothing.
_NOT_AVERAGED = frozenset({"frame", "object_id", "image_id", "category_id", "iscrowd", "bbox_x", "bbox_y",
                           "person_idx"})


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


def label_files(source: JobSource) -> list[Path]:
    """Where a job's labels file may be, in the order :func:`read_job` looks (none need exist)."""
    if isinstance(source, FlatJob):
        return [source.path(name) for name in LABEL_FILES if name in source.files]
    return [source / name for name in LABEL_FILES]


def read_job(source: JobSource, *, armature: bool = False) -> JobData:
    """Read one job into numpy columns; problems are recorded, never raised.

    Parameters
    ----------
    source : Path or FlatJob
        The job folder (its name is the job id), or the files of one job of a flat dataset
        (its ``path`` is then ``<dataset folder>/<id>``, the stem of those files).
    armature : bool
        Also read ``armature_keypoints`` and ``vertex_keypoints`` into the keypoints rows.

    Examples
    --------
    >>> read_job(folder / batch.job_ids[0]).rows("objects")  # one person in one frame
    1
    """
    where: Callable[[str], Path]
    if isinstance(source, FlatJob):
        job = JobData(source.job_id, source.stem)
        entries = dict.fromkeys(source.files, False)
        where = source.path
        _read_params_json(job, where(PARAMS_FILE), entries)
    else:
        job = JobData(source.name, source)
        try:
            entries = {e.name: e.is_dir() for e in os.scandir(source)}
        except OSError as err:
            job.problems.append(f"the job folder could not be listed ({err.strerror or err})")
            return job
        where = source.joinpath
        _read_job_json(job, where("job.json"), entries)
    has_video = any(name in entries for name in VIDEO_FILES)
    has_images = entries.get("images", False)
    job.preview = not has_video and not has_images and CSV_FILE not in entries and PREVIEW_FILE in entries
    labels = next((name for name in LABEL_FILES if name in entries), None)
    if labels is not None:
        job.frames, job.objects, job.keypoints, job.num_frames = read_labels(
            where(labels), problems=job.problems, preview=job.preview, has_images=has_images, armature=armature)
    elif CSV_FILE in entries:
        _read_csv(job, where(CSV_FILE))
    elif job.preview:
        _read_preview_image(job, where(PREVIEW_FILE))
    elif isinstance(source, FlatJob):
        job.problems.append(f"no labels were found ({source.file_name('labels.json')} or "
                            f"{source.file_name(CSV_FILE)})")
    else:
        job.problems.append("no labels were found (labels.json, video.rgb.json or data.csv)")
    _add_time(job)
    job.summary = _summary(job.objects)
    return job


def _read_params_json(job: JobData, path: Path, entries: Mapping[str, bool]) -> None:
    """A flat dataset's ``<id>_params.json``: the bare parameters, or job.json's ``{"name"?, "params"}``."""
    data = _json_object(job, path, PARAMS_FILE in entries)
    if data is None:
        return
    if isinstance(data.get("params"), dict) and set(data) <= {"name", "params"}:
        name = data.get("name")
        job.generator = name if isinstance(name, str) else None
        data = data["params"]
    job.params = typed_params(job.generator, data)


def _json_object(job: JobData, path: Path, present: bool) -> dict[str, Any] | None:
    """The JSON object in a job's parameters file, or ``None`` with the problem recorded."""
    if not present:
        job.problems.append(f"{path.name} is missing, so the job's generator and parameters are unknown")
        return None
    data = read_json(path, job.problems, "the job's parameters are unknown")
    if data is UNREADABLE:
        return None
    if not isinstance(data, dict):
        job.problems.append(f"{path.name} does not hold a JSON object, so the job's parameters are unknown")
        return None
    return data


def _read_job_json(job: JobData, path: Path, entries: Mapping[str, bool]) -> None:
    data = _json_object(job, path, path.name in entries)
    if data is None:
        return
    name = data.get("name")
    job.generator = name if isinstance(name, str) else None
    params = data.get("params")
    if isinstance(params, dict):
        job.params = typed_params(job.generator, params)
    else:
        job.problems.append("job.json has no 'params' object, so the job's parameters are unknown")


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
