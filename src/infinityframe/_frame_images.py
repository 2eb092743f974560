"""Where ``res.show()`` gets its pictures: frame images, video frames and segmentation masks, and which frames.

A frame's image is its own file (previews, still images) or a frame of the job's video,
decoded with OpenCV; masks are the ``segmentation`` of each annotation in the job's labels
file, as polygons or COCO RLE (compressed or not). Nothing here raises for a missing or
damaged file: that frame simply has no image or no mask, and is drawn without.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from numpy.typing import NDArray

from .errors import InfinityError

__all__ = ["Shown", "frames_to_show", "load_images", "load_masks", "pixel_size", "rle_counts", "rle_mask", "rows_for",
           "segmentations", "spread_frames"]


def video_file(folder: Path) -> Path | None:
    """The job's video, if it has one (``folder`` is a job folder, or a flat job's ``<folder>/<id>``)."""
    from .results.flat import job_file
    from .results.readers import VIDEO_FILES

    for name in VIDEO_FILES:
        if job_file(folder, name).is_file():
            return job_file(folder, name)
    found = sorted(folder.glob("*.mp4")) if folder.is_dir() else []
    return found[0] if found else None


def load_images(chosen: pd.DataFrame, folders: dict[str, Path]) -> dict[tuple[str, int], NDArray[np.uint8]]:
    """RGB images of the chosen frames (rows of ``res.frames``) by (job id, frame); those not found are left out."""
    images: dict[tuple[str, int], NDArray[np.uint8]] = {}
    from_video: dict[str, list[int]] = {}
    paths = chosen["image_path"] if "image_path" in chosen.columns else pd.Series([None] * len(chosen))
    for job_id, frame, image_path in zip(chosen["job_id"].astype(str), chosen["frame"].astype(int), paths,
                                         strict=True):
        if isinstance(image_path, str) and image_path:
            image = read_image(image_file(Path(image_path), folders.get(job_id)))
            if image is not None:
                images[(job_id, frame)] = image
                continue
        from_video.setdefault(job_id, []).append(frame)
    for job_id, wanted in from_video.items():
        video = video_file(folders[job_id]) if job_id in folders else None
        if video is not None:
            for frame, image in video_frames(video, sorted(set(wanted))):
                images[(job_id, frame)] = image
    return images


def image_file(path: Path, folder: Path | None) -> Path:
    """A frame's image: its path as read (relative ones to where the results were read from), else in its job."""
    if path.is_file() or folder is None:
        return path
    for candidate in (folder / path, folder / path.name):
        if candidate.is_file():
            return candidate
    return path


def read_image(path: Path) -> NDArray[np.uint8] | None:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    return None if image is None else np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def video_frames(video: Path, wanted: list[int]) -> Iterator[tuple[int, NDArray[np.uint8]]]:
    import cv2

    capture = cv2.VideoCapture(str(video))
    try:
        position = 0
        for frame in wanted:
            if frame - position > 48:  # far ahead: seek; near: grabbing is exact and cheap
                capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
                position = frame
            while position < frame and capture.grab():
                position += 1
            ok, image = capture.read()
            if not ok:
                return
            position += 1
            yield frame, np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    finally:
        capture.release()


def load_masks(chosen: pd.DataFrame, folders: dict[str, Path]) -> dict[tuple[str, int], list[Any]]:
    """Each chosen frame's segmentations from its job's labels file: polygons (lists) or boolean arrays."""
    from .results.flat import job_file
    from .results.readers import LABEL_FILES

    masks: dict[tuple[str, int], list[Any]] = {}
    if "image_id" not in chosen.columns:
        return masks
    for job_id, part in chosen.groupby(chosen["job_id"].astype(str), sort=False):
        folder = folders.get(str(job_id))
        labels = next((job_file(folder, name) for name in LABEL_FILES if folder and job_file(folder, name).is_file()),
                      None)
        if labels is None:
            continue
        try:
            data = orjson.loads(labels.read_bytes())
        except (OSError, ValueError):
            continue
        frame_of = {int(i): int(f) for i, f in zip(part["image_id"], part["frame"], strict=True) if pd.notna(i)}
        for annotation in data.get("annotations") or []:
            frame = frame_of.get(annotation.get("image_id", -1))
            if frame is not None and annotation.get("segmentation"):
                masks.setdefault((str(job_id), frame), []).extend(segmentations(annotation["segmentation"]))
    return masks


def segmentations(value: Any) -> list[Any]:
    """Polygons as lists of (x, y) pairs; RLE as boolean masks; nothing for what cannot be read."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except ValueError:
            return []
    if isinstance(value, dict) and "counts" in value and "size" in value:
        return [rle_mask(value)]
    if isinstance(value, list):
        polygons = [np.asarray(p, dtype=float).reshape(-1, 2) for p in value
                    if isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0]
        return polygons
    return []


def rle_counts(text: str | bytes) -> NDArray[np.int64]:
    """COCO's compressed RLE string (``counts``) as run lengths, decoded with numpy.

    Each value is written in 5-bit groups, low bits first, in characters from ``'0'``; a set
    0x20 bit means another group follows, and 0x10 in the last group is the sign. From the
    third value on, each is stored as the difference to the value two places before it.

    >>> rle_counts(":3500000>").tolist()   # a 3 x 4 block in a 8 x 7 frame
    [10, 3, 5, 3, 5, 3, 5, 3, 19]
    """
    raw = np.frombuffer(text.encode() if isinstance(text, str) else bytes(text), dtype=np.uint8)
    if not raw.size:
        return np.zeros(0, dtype=np.int64)
    codes = raw.astype(np.int64) - 48
    last = (codes & 0x20) == 0  # the last group of its value
    starts = np.flatnonzero(np.concatenate(([True], last[:-1])))
    lengths = np.diff(np.append(starts, raw.size))
    if (lengths > 12).any():
        raise ValueError("a run length in the RLE string is longer than 60 bits")
    place = np.arange(raw.size) - np.repeat(starts, lengths)  # the group's position in its value
    values = np.add.reduceat((codes & 0x1F) << (5 * place), starts)
    negative = (codes[starts + lengths - 1] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * lengths[negative])
    # From the third value on, each was stored as a difference to the value two before it: the
    # values at odd places, and those at even places from the third on, are running sums.
    values[1::2] = np.cumsum(values[1::2])
    values[2::2] = np.cumsum(values[2::2])
    return values


def rle_mask(rle: dict[str, Any]) -> NDArray[np.bool_]:
    """A COCO RLE (compressed string or list of counts) as a boolean mask of ``size``."""
    height, width = (int(v) for v in rle["size"])
    counts = rle["counts"]
    runs = rle_counts(counts) if isinstance(counts, (str, bytes)) else np.asarray(counts, dtype=np.int64)
    runs = np.clip(runs, 0, None)
    flat = np.repeat(np.arange(runs.size) % 2 == 1, runs)[:height * width]  # runs alternate 0s and 1s
    if flat.size < height * width:
        flat = np.concatenate((flat, np.zeros(height * width - flat.size, dtype=bool)))
    mask: NDArray[np.bool_] = flat.reshape(width, height).T  # COCO runs go down the columns
    return mask


# -- which frames to show ---------------------------------------------------------------------------

def spread_frames(frames: pd.DataFrame, n: int, keypoints: pd.DataFrame | None = None) -> pd.DataFrame:
    """Up to ``n`` frames: round-robin over jobs; within each, the most different poses (or evenly spaced)."""
    groups = [part.sort_values("frame") for _, part in frames.groupby("job_id", sort=False, observed=True)]
    if len(groups) > n:
        picks = np.unique(np.linspace(0, len(groups) - 1, n).round().astype(int))
        groups = [groups[i] for i in picks]
    quota = [0] * len(groups)
    left = n
    while left > 0:
        grew = False
        for i, part in enumerate(groups):
            if left > 0 and quota[i] < len(part):
                quota[i] += 1
                left -= 1
                grew = True
        if not grew:
            break
    parts = []
    by_job = _poses_by_job(keypoints) if max(quota, default=0) > 1 else {}
    for part, k in zip(groups, quota, strict=True):
        if k == 1:
            parts.append(part.iloc[[len(part) // 2]])
        elif k > 1:
            poses = _poses(part, by_job)
            if poses is None:  # no keypoints: evenly spaced, the first and the last frame left out
                at = np.unique(((np.arange(k) + 0.5) * len(part) / k).astype(int))
            else:
                at = np.sort(_most_different(poses, k))
            parts.append(part.iloc[at])
    return pd.concat(parts, ignore_index=True)


def _poses_by_job(keypoints: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Each job's frames as rows of their keypoints' x and y (COCO keypoints in view), by job id."""
    if keypoints is None or keypoints.empty or not {"job_id", "frame", "keypoint", "x", "y"} <= set(keypoints.columns):
        return {}
    points = keypoints
    if "kind" in points.columns:
        points = points[points["kind"].astype(str) == "coco"]
    if "v" in points.columns:
        points = points[points["v"] > 0]
    if points.empty:
        return {}
    points = points.assign(job_id=points["job_id"].astype(str), frame=points["frame"].astype(int),
                           keypoint=points["keypoint"].astype(str))
    table = points.pivot_table(index=["job_id", "frame"], columns="keypoint", values=["x", "y"], aggfunc="mean")
    return {str(job): part.droplevel(0) for job, part in table.groupby(level=0, sort=False)}


def _poses(part: pd.DataFrame, poses: dict[str, pd.DataFrame]) -> NDArray[np.float64] | None:
    """Each frame of one job (in ``part``'s order) as a vector of its keypoints' x and y; None without them."""
    table = poses.get(str(part["job_id"].iloc[0]))
    if table is None:
        return None
    values = table.reindex(part["frame"].astype(int).to_numpy()).to_numpy(dtype=float)
    if np.isnan(values).all():
        return None
    # a keypoint unseen in a frame counts as where it usually is (0 if it is never seen)
    seen = (~np.isnan(values)).sum(axis=0)
    fill = np.where(seen > 0, np.nansum(values, axis=0) / np.maximum(seen, 1), 0.0)
    values = np.where(np.isnan(values), fill, values)
    return values


def _most_different(poses: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    """``k`` rows of ``poses``: the first, then each time the one farthest from all chosen so far."""
    chosen = [0]
    nearest = np.linalg.norm(poses - poses[0], axis=1)
    while len(chosen) < min(k, len(poses)):
        best = int(np.argmax(nearest))
        if nearest[best] <= 0:  # the rest repeat a chosen pose: fill evenly instead
            rest = [i for i in np.linspace(0, len(poses) - 1, k).round().astype(int) if i not in chosen]
            chosen += rest[: k - len(chosen)]
            break
        chosen.append(best)
        nearest = np.minimum(nearest, np.linalg.norm(poses - poses[best], axis=1))
    return np.asarray(chosen, dtype=np.int64)


def rows_for(table: pd.DataFrame, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], pd.DataFrame]:
    if table.empty:
        return {}
    wanted = pd.DataFrame(keys, columns=["job_id", "frame"])
    base = table.assign(job_id=table["job_id"].astype(str), frame=table["frame"].astype(int))
    picked = base.merge(wanted, on=["job_id", "frame"], how="inner")
    return {(str(j), int(f)): part for (j, f), part in picked.groupby(["job_id", "frame"], sort=False)}


def pixel_size(value: Any, fallback: float) -> float:
    """A frame's width or height in pixels; the image's own (or 1) where the labels do not say."""
    return float(value) if value is not None and pd.notna(value) and float(value) > 0 else float(fallback)


@dataclass(frozen=True)
class Shown:
    """The frames ``res.show()`` and ``frames_sheet`` draw, with what is drawn on each.

    ``chosen`` are the rows of ``frames`` picked by :func:`spread_frames`, ``keys`` their
    ``(job_id, frame)``; ``images``, ``masks``, ``objects`` and ``keypoints`` are by key.
    """

    frames: pd.DataFrame
    chosen: pd.DataFrame
    keys: list[tuple[str, int]]
    images: dict[tuple[str, int], NDArray[np.uint8]]
    masks: dict[tuple[str, int], list[Any]]
    objects: dict[tuple[str, int], pd.DataFrame]
    keypoints: dict[tuple[str, int], pd.DataFrame]


def frames_to_show(table: Callable[[str], pd.DataFrame], n: int,
                   drawn_keypoints: Callable[[pd.DataFrame], pd.DataFrame] = lambda k: k) -> Shown:
    """``n`` frames spread over the results whose levels ``table(level)`` gives, read from their files.

    ``drawn_keypoints`` narrows the keypoints table to the rows a panel draws (the choice of
    frames still sees them all).
    """
    if n < 1:
        raise InfinityError(f"n must be at least 1 frame, not {n}.")
    frames = table("frames")
    if frames.empty:
        raise InfinityError("These results have no frames to show (see res.jobs['problem'] for why).")
    keypoints = table("keypoints")
    chosen = spread_frames(frames, n, keypoints)
    jobs = table("jobs")
    folders = {str(j): Path(str(p)) for j, p in zip(jobs["job_id"], jobs["path"], strict=True) if pd.notna(p)}
    keys = list(zip(chosen["job_id"].astype(str), chosen["frame"].astype(int), strict=True))
    return Shown(frames, chosen, keys, load_images(chosen, folders), load_masks(chosen, folders),
                 rows_for(table("objects"), keys), rows_for(drawn_keypoints(keypoints), keys))
