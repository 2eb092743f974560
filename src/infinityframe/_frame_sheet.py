"""A contact sheet of frames drawn straight onto their pixels: :func:`frames_sheet`.

The same frames, boxes, skeletons and masks as ``res.show()`` (the same choice of frames,
from the same files), drawn with OpenCV onto the images themselves and laid out with numpy,
titles written with Pillow. There are no axes to lay out and nothing to resample: a frame's
pixel is a pixel of the sheet (small frames are doubled), so it is as sharp as the frames
are, and the demo's previews and videos (a dozen frames each) take about a third of the time
as sheets that they take as matplotlib figures, encoding included (0.23-0.32 s against
0.64-0.75 s for both, side by side in one process); most of what is left is choosing the
frames and reading them, which ``res.show()`` does as well. The result is a Pillow image: a notebook shows it, a
script saves it (``sheet.save("frames.png")``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._frame_images import frames_to_show, pixel_size
from .results.coco import COCO_KEYPOINTS, COCO_SKELETON

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from PIL.Image import Image

    from .results import Results

__all__ = ["frames_sheet"]

# the colours of res.show(), as RGB
_BOX = (255, 210, 63)
_SKELETON = (255, 93, 143)
_MASK = np.array((38, 140, 255), dtype=np.float32)
_MASK_OPACITY = 0.4
_MARK = (232, 89, 12)
_MISSING = (204, 204, 204)
_TEXT = (38, 38, 38)
_GAP, _TITLE, _HEAD, _BORDER = 8, 18, 28, 3
_MIN_PANEL = 160  # frames narrower than this are shown at twice their size
_EDGES = tuple((COCO_KEYPOINTS[a - 1], COCO_KEYPOINTS[b - 1]) for a, b in COCO_SKELETON)


def frames_sheet(res: Results, n: int = 16, mark: Iterable[str] | None = None, mark_label: str = "marked",
                 columns: int | None = None) -> Image:
    """``n`` frames with their boxes, keypoint skeletons and masks, as one image.

    The frames are those ``res.show(n)`` draws (spread over the jobs, and over each job's
    motion); each panel is titled ``<job id prefix> · frame <number>``, the jobs in ``mark``
    outlined and titled ``… · <mark_label>``. Panels are the frames' own pixels (doubled
    below 160 pixels wide), so the sheet is quick to make and to encode.

    Parameters
    ----------
    res : Results
        Results read from job folders.
    n : int
        Frames to draw at most.
    mark : iterable of str, optional
        Job ids whose frames are outlined.
    mark_label : str
        What the outline means.
    columns : int, optional
        Panels per row (default: a square grid).

    Returns
    -------
    PIL.Image.Image
        An RGB image; ``.save("frames.png")`` writes it.

    Examples
    --------
    >>> sheet = frames_sheet(res, n=2)
    >>> sheet.mode, sheet.width > sheet.height
    ('RGB', True)
    """
    shown = frames_to_show(lambda level: _table(res, level), n, _labelled)
    frames, chosen, keys = shown.frames, shown.chosen, shown.keys
    images, masks, objects, keypoints = shown.images, shown.masks, shown.objects, shown.keypoints
    marked = {str(j) for j in mark} if mark is not None else set()

    width = int(pixel_size(chosen["width"].iloc[0] if "width" in chosen else None,
                           next(iter(images.values())).shape[1] if images else 192))
    height = int(pixel_size(chosen["height"].iloc[0] if "height" in chosen else None,
                            next(iter(images.values())).shape[0] if images else 192))
    scale = 2 if width < _MIN_PANEL else 1
    panel_w, panel_h = width * scale, height * scale
    count = len(keys)
    ncols = max(1, min(count, columns if columns else math.ceil(math.sqrt(count))))
    nrows = math.ceil(count / ncols)
    cell_w, cell_h = panel_w + _GAP, panel_h + _TITLE + _GAP
    sheet = np.full((_HEAD + nrows * cell_h, ncols * cell_w + _GAP, 3), 255, dtype=np.uint8)
    titles: list[tuple[int, int, str, bool]] = []
    for i, (key, row) in enumerate(zip(keys, chosen.itertuples(index=False), strict=True)):
        top = _HEAD + (i // ncols) * cell_h + _TITLE
        left = _GAP + (i % ncols) * cell_w
        panel = _panel(images.get(key), masks.get(key, []), objects.get(key), keypoints.get(key), row,
                       panel_w, panel_h, scale)
        sheet[top:top + panel_h, left:left + panel_w] = panel
        is_marked = key[0] in marked
        if is_marked:
            _outline(sheet, top, left, panel_w, panel_h)
        title = f"{key[0][:8]} · frame {key[1]}" + (f" · {mark_label}" if is_marked else "")
        titles.append((left, top - _TITLE + 2, title, is_marked))
    jobs_shown = len({k[0] for k in keys})
    outlined = sum(k[0] in marked for k in keys)
    note = f"; outlined: {mark_label} ({outlined})" if marked else ""
    heading = f"{count} of {len(frames)} frames from {jobs_shown} job(s): boxes, keypoints, masks{note}"
    return _write_titles(sheet, heading, titles)


def _table(res: Results, level: str) -> pd.DataFrame:
    table = getattr(res, level)
    if isinstance(table, pd.DataFrame):
        return table
    converted: pd.DataFrame = table.to_pandas()  # polars results
    return converted


def _labelled(keypoints: pd.DataFrame) -> pd.DataFrame:
    """The COCO keypoints that are labelled (``v > 0``) and placed: filtered once for every panel."""
    if keypoints.empty or not {"object_id", "keypoint", "x", "y", "v"} <= set(keypoints.columns):
        return keypoints.iloc[0:0]
    points = keypoints
    if "kind" in points.columns:
        points = points[points["kind"].astype(str) == "coco"]
    return points[(points["v"] > 0) & points["x"].notna() & points["y"].notna()]


def _panel(image: NDArray[np.uint8] | None, masks: list[Any], objects: pd.DataFrame | None,
           keypoints: pd.DataFrame | None, row: Any, panel_w: int, panel_h: int, scale: int) -> NDArray[np.uint8]:
    """One frame at ``scale`` with its masks blended in and its boxes and skeletons drawn."""
    import cv2

    width = pixel_size(getattr(row, "width", None), image.shape[1] if image is not None else panel_w)
    height = pixel_size(getattr(row, "height", None), image.shape[0] if image is not None else panel_h)
    canvas: NDArray[np.uint8]
    if image is None:
        canvas = np.full((panel_h, panel_w, 3), _MISSING, dtype=np.uint8)
        cv2.putText(canvas, "image not found", (8, panel_h // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (77, 77, 77), 1,
                    cv2.LINE_AA)
    elif image.shape[:2] != (panel_h, panel_w):
        canvas = np.asarray(cv2.resize(np.ascontiguousarray(image[..., :3]), (panel_w, panel_h),
                                       interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
    else:
        canvas = np.array(image[..., :3], dtype=np.uint8, copy=True)
    sx, sy = panel_w / width, panel_h / height
    covered = np.zeros((panel_h, panel_w), dtype=np.uint8)
    for mask in masks:
        if isinstance(mask, np.ndarray) and mask.dtype == bool and mask.ndim == 2:
            layer = mask.astype(np.uint8)
            if layer.shape != covered.shape:
                layer = np.asarray(cv2.resize(layer, (panel_w, panel_h), interpolation=cv2.INTER_NEAREST),
                                   dtype=np.uint8)
            covered |= layer
        else:
            points = np.round(np.asarray(mask, dtype=float) * (sx, sy)).astype(np.int32)
            cv2.fillPoly(covered, [points], 1)
    if covered.any():
        inside = covered.astype(bool)
        canvas[inside] = (canvas[inside] * (1 - _MASK_OPACITY) + _MASK * _MASK_OPACITY).astype(np.uint8)
    if objects is not None and {"bbox_x", "bbox_y", "bbox_w", "bbox_h"} <= set(objects.columns):
        for x, y, w, h in objects[["bbox_x", "bbox_y", "bbox_w", "bbox_h"]].dropna().to_numpy(dtype=float):
            cv2.rectangle(canvas, (round(x * sx), round(y * sy)), (round((x + w) * sx) - 1, round((y + h) * sy) - 1),
                          _BOX, max(1, scale), cv2.LINE_AA)
    if keypoints is not None and not keypoints.empty:
        _skeletons(canvas, keypoints, sx, sy, scale)
    return canvas


def _skeletons(canvas: NDArray[np.uint8], keypoints: pd.DataFrame, sx: float, sy: float, scale: int) -> None:
    import cv2

    points = keypoints  # already filtered by _labelled
    people: dict[Any, dict[str, tuple[int, int, int]]] = {}
    for person, name, x, y, v in zip(points["object_id"].tolist(), points["keypoint"].astype(str).tolist(),
                                     points["x"].tolist(), points["y"].tolist(), points["v"].tolist(), strict=True):
        people.setdefault(person, {})[name] = (round(float(x) * sx), round(float(y) * sy), int(v))
    # one call per kind of mark, not one per segment or point
    segments = [np.array([where[a][:2], where[b][:2]], dtype=np.int32)
                for where in people.values() for a, b in _EDGES if a in where and b in where]
    if segments:
        cv2.polylines(canvas, segments, False, _SKELETON, max(1, scale), cv2.LINE_AA)
    for where in people.values():
        for x, y, v in where.values():
            cv2.circle(canvas, (x, y), 2 * scale, _SKELETON if v >= 2 else (255, 255, 255), -1, cv2.LINE_AA)
            if v < 2:  # labelled but hidden: a hollow mark, as res.show() draws it
                cv2.circle(canvas, (x, y), 2 * scale, _SKELETON, 1, cv2.LINE_AA)


def _outline(sheet: NDArray[np.uint8], top: int, left: int, width: int, height: int) -> None:
    """A frame around the panel, just outside it (the pixels stay the frame's)."""
    b = _BORDER
    y0, y1 = max(0, top - b), min(sheet.shape[0], top + height + b)
    x0, x1 = max(0, left - b), min(sheet.shape[1], left + width + b)
    sheet[y0:top, x0:x1] = _MARK
    sheet[top + height:y1, x0:x1] = _MARK
    sheet[y0:y1, x0:left] = _MARK
    sheet[y0:y1, left + width:x1] = _MARK


def _write_titles(sheet: NDArray[np.uint8], heading: str, titles: list[tuple[int, int, str, bool]]) -> Image:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(sheet)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=12)
    draw.text((_GAP, 7), heading, fill=_TEXT, font=font)
    for left, top, text, is_marked in titles:
        draw.text((left, top - (_BORDER if is_marked else 0)), text, fill=_MARK if is_marked else _TEXT, font=font)
    return image
