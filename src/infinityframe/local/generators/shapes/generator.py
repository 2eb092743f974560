"""The ``shapes-v0.1.0`` generator: its parameters, its cost, and the files it writes."""

from __future__ import annotations

import contextlib
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import numpy.typing as npt
import orjson

from ....params.distributions import Distribution, choice, integers, uniform
from ..base import JSON, Generator
from .scene import (
    BACKGROUNDS,
    CATEGORIES,
    CATEGORY_COLORS,
    INSTANCE_COLORS,
    Frame,
    draw_frame,
)

__all__ = ["Shapes"]

INFO_URL = "local://infinityframe/shapes-v0.1.0"
# Labels must not depend on the clock; this mirrors the real service's "YYYYMMDD_HHMMSS" form.
DATE_CREATED = "20240101_000000"
# Fixed member timestamp so that segmentation.zip is byte-for-byte reproducible.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _param(name: str, kind: str, default: Any, options: JSON | None, description: str) -> JSON:
    return {"name": name, "type": kind, "default_value": default, "options": options,
            "description": description}


def _unit(rgb: tuple[int, int, int]) -> list[float]:
    return [round(c / 255, 4) for c in rgb]


_PNG_IMAGE = [cv2.IMWRITE_PNG_COMPRESSION, 1]
# Masks are long runs of a few colours: unfiltered run-length deflate is several times faster and smaller.
_PNG_MASK = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
             cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]


def _png(bgr: npt.NDArray[np.uint8], options: list[int] = _PNG_IMAGE) -> bytes:
    ok, buf = cv2.imencode(".png", bgr, options)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return bytes(buf.tobytes())


def _annotations(frame: Frame, image_id: int, first_id: int) -> list[JSON]:
    """COCO annotations of one frame, in drawing order, with ids from ``first_id``."""
    out: list[JSON] = []
    for index, obj in enumerate(frame.objects):
        ann: JSON = {"id": first_id + index, "image_id": image_id, "category_id": obj.category,
                     "iscrowd": 0}
        out.append(ann)
        visible = frame.label[obj.ys, obj.xs] == index
        area = int(np.count_nonzero(visible))
        if area == 0:
            continue  # fully hidden: like the real spills labels, only the identifying keys
        rows = np.flatnonzero(visible.any(axis=1))
        cols = np.flatnonzero(visible.any(axis=0))
        top, left = obj.ys.start + int(rows[0]), obj.xs.start + int(cols[0])
        contours, _ = cv2.findContours(visible.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        polygons = []
        for contour in contours:
            points = contour.reshape(-1, 2) + np.array([obj.xs.start, obj.ys.start])
            if len(points) < 3:
                # COCO polygons need three points; a one- or two-pixel sliver becomes its cell box.
                (x0, y0), (x1, y1) = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
                points = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
            polygons.append([float(v) for v in points.reshape(-1)])
        fov = obj.fov_area
        ann.update({
            "color": _unit(INSTANCE_COLORS[index]),
            "bbox": [float(left), float(top), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)],
            "area": float(area),
            "segmentation": polygons,
            "percent_occlusion": round(100.0 * (fov - area) / fov, 4) if fov else 0.0,
            "percent_in_fov": round(100.0 * fov / obj.full_area, 4),
        })
    return out


def _masks(frame: Frame) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The semantic (category colour) and instance (instance colour) masks in cv2's BGR order."""
    count = len(frame.objects)
    instance_lut = np.zeros((count + 1, 3), dtype=np.uint8)
    category_lut = np.zeros((count + 1, 3), dtype=np.uint8)
    for index, obj in enumerate(frame.objects):
        instance_lut[index + 1] = INSTANCE_COLORS[index][::-1]
        category_lut[index + 1] = CATEGORY_COLORS[obj.category][::-1]
    lookup = (frame.label + 1).astype(np.uint8)  # at most 21 entries: background plus 20 objects
    return np.take(category_lut, lookup, axis=0), np.take(instance_lut, lookup, axis=0)


class Shapes(Generator):
    """Still images of circles, squares, triangles and stars for object detection.

    Each image has a background (plain, gradient or noise), ``num_objects`` filled shapes of
    random size, rotation, colour and position (centres inside the image, shapes possibly
    cut by its edges), drawn in painter's order so later shapes occlude earlier ones, lit by a
    soft spotlight whose strength follows ``lighting_power``. The output follows the real
    service's layout: ``job.json``, COCO ``labels.json``, ``images/image.NNNNNN.png``,
    ``video_preview.png`` (the first image), ``segmentation.zip`` with ``cseg``/``iseg``
    masks, and ``timing.json``. A preview writes only ``job.json``, ``labels.json`` and
    ``video_preview.png``, and shows the same image as frame 0 of a standard job drawn from
    the same random generator state.

    Each annotation describes the *visible* part of one shape: ``bbox`` and polygons come
    from the visible mask, and ``area`` is its pixel count (unlike stickfit, where area is
    the bbox area). ``percent_occlusion`` is the percent of the shape's in-image pixels
    hidden by shapes drawn over it; ``percent_in_fov`` the percent of the whole shape inside
    the image. A shape hidden completely keeps only ``id``, ``image_id``, ``category_id``
    and ``iscrowd``. With ``allow_overlap`` false, shapes that find no free spot within a
    bounded number of tries are left out, so an image may hold fewer than ``num_objects``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from infinityframe.local.generators.base import validate_job
    >>> gen = Shapes()
    >>> params, errors = validate_job(gen, 0, {"num_images": 2, "image_width": 64, "image_height": 64})
    >>> gen.estimate(params, preview=False)
    2
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     gen.render(params, False, Path(tmp), np.random.default_rng(7))
    2
    """

    name: ClassVar[str] = "shapes-v0.1.0"
    description: ClassVar[str] = (
        "Procedural still images of simple shapes with COCO boxes, polygons, semantic and "
        "instance masks, occlusion and field-of-view percentages."
    )
    supports_preview: ClassVar[bool] = True
    params: ClassVar[list[JSON]] = [
        _param("num_images", "int", 4, {"min": 1, "max": 100},
               "images in a standard job (a preview renders one)"),
        _param("num_objects", "int", 5, {"min": 1, "max": 20}, "shapes drawn per image"),
        _param("min_size", "float", 0.1, {"min": 0.05, "max": 0.5},
               "smallest shape diameter, as a fraction of the shorter image side"),
        _param("max_size", "float", 0.3, {"min": 0.05, "max": 0.9},
               "largest shape diameter, as a fraction of the shorter image side"),
        _param("categories", "str", "ALL",
               {"choices": ["ALL", *(c.upper() for c in CATEGORIES)]},
               "which shape category may appear; ALL mixes every one"),
        _param("allow_overlap", "bool", True, None,
               "let shapes overlap and occlude each other; false places them apart by rejection"),
        _param("background", "str", "PLAIN", {"choices": list(BACKGROUNDS)}, "background style"),
        _param("lighting_power", "float", 400.0, {"min": 0.0, "max": 2000.0},
               "light strength; 400 shows colours unscaled at the light's centre, 0 is black"),
        _param("image_width", "int", 256, {"min": 64, "max": 1024}, "image width in pixels"),
        _param("image_height", "int", 256, {"min": 64, "max": 1024}, "image height in pixels"),
        _param("enable_sensor_noise", "bool", False, None,
               "add Gaussian sensor noise, stronger in dim light"),
        _param("state", "uuid", None, None, "ID of a previous job whose scene state to start from"),
    ]
    constraints: ClassVar[list[JSON]] = [
        # Advisory: a min_size above max_size is read as the same range the other way round.
        {"name": "size_order", "expr": "min_size <= max_size",
         "message": "min_size above max_size is taken as the range from max_size to min_size",
         "advisory": True},
    ]

    # Where a sweep starts (the metadata's "recommended" extension): lit enough to see the
    # colours (at 0 every image is black), a handful of images and shapes, square images.
    recommended: ClassVar[dict[str, Distribution]] = {
        "num_images": integers(1, 10),
        "num_objects": integers(1, 10),
        "lighting_power": uniform(200.0, 1000.0),
        "image_width": choice([128, 256, 512]),
    }
    recommended_constraints: ClassVar[list[JSON]] = [
        {"name": "square_image", "expr": "image_width == image_height",
         "message": "shape sizes follow the shorter side; a square image keeps them comparable"},
    ]

    def estimate(self, params: JSON, preview: bool) -> int:
        """Images the job renders: exactly ``num_images``, or 1 for a preview."""
        return 1 if preview else int(params["num_images"])

    def estimate_batch(self, columns: Mapping[str, Sequence[Any]], preview: bool) -> list[int]:
        """:meth:`estimate` of every job of a batch at once."""
        return [1] * len(columns["num_images"]) if preview else [int(n) for n in columns["num_images"]]

    def render(self, params: JSON, preview: bool, out_dir: Path, rng: np.random.Generator) -> int:
        """Render the job into ``out_dir`` and return the number of images written.

        Every output byte except ``timing.json`` (wall-clock profiling) depends only on
        ``params`` and ``rng``'s state.
        """
        count = self.estimate(params, preview)
        width, height = int(params["image_width"]), int(params["image_height"])
        images: list[JSON] = []
        annotations: list[JSON] = []
        seconds: list[float] = []
        with contextlib.ExitStack() as stack:
            archive: zipfile.ZipFile | None = None
            if not preview:
                (out_dir / "images").mkdir()
                archive = stack.enter_context(zipfile.ZipFile(out_dir / "segmentation.zip", "w"))
            for frame_number in range(count):
                started = time.perf_counter()
                frame = draw_frame(rng, params)
                png = _png(np.ascontiguousarray(frame.rgb[:, :, ::-1]))
                file_name = "video_preview.png" if preview else f"images/image.{frame_number:06d}.png"
                if frame_number == 0:
                    (out_dir / "video_preview.png").write_bytes(png)
                if archive is not None:
                    (out_dir / file_name).write_bytes(png)
                    for kind, mask in zip(("cseg", "iseg"), _masks(frame), strict=True):
                        member = zipfile.ZipInfo(f"image.{frame_number:06d}.{kind}.png", _ZIP_DATE)
                        member.external_attr = 0o644 << 16
                        archive.writestr(member, _png(mask, _PNG_MASK), zipfile.ZIP_STORED)
                image_id = 3 * frame_number
                # Integer Rec. 601 luma: exact, unlike a BLAS dot whose rounding varies by CPU.
                red, green, blue = (int(v) for v in frame.rgb.reshape(-1, 3).sum(axis=0, dtype=np.int64))
                luma = (299 * red + 587 * green + 114 * blue) / (1000 * width * height)
                images.append({
                    "id": image_id, "width": width, "height": height, "frame_number": frame_number,
                    "file_name": file_name,
                    "metrics": {"mean_image_brightness": round(luma, 4)},
                })
                annotations.extend(_annotations(frame, image_id, len(annotations)))
                seconds.append(round(time.perf_counter() - started, 6))
        labels = {
            "info": {"url": INFO_URL, "date_created": DATE_CREATED, "generator": self.name},
            "categories": [{"id": i, "name": n, "color": _unit(c)}
                           for i, (n, c) in enumerate(zip(CATEGORIES, CATEGORY_COLORS, strict=True))],
            "images": images,
            "annotations": annotations,
        }
        (out_dir / "labels.json").write_bytes(orjson.dumps(labels))
        (out_dir / "job.json").write_bytes(
            orjson.dumps({"name": self.name, "params": dict(params)}, option=orjson.OPT_INDENT_2))
        if not preview:
            (out_dir / "timing.json").write_bytes(
                orjson.dumps({"frame_render": seconds, "num_frames": count}, option=orjson.OPT_INDENT_2))
        return count
