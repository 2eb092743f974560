"""``stickfit-v0.1.0``: a fast procedural stand-in for VisionFit, also served under VisionFit's names.

A capsule-and-ellipse avatar repeats an exercise in a ray-cast room, seen by a pinhole camera;
the result folder has VisionFit v0.4.0's layout (``job.json``, ``labels.json`` in COCO form,
``segmentation.zip``, ``video.mp4``, ``video_preview.png``, ``timing.json``) so the same readers
work on both. Output depends only on the parameters and the random generator passed in.

The same code renders two local stand-ins with VisionFit's parameter surface:
``visionfit-v0.4.0`` and ``visionfit-flagship-v0.1.0`` (:class:`VisionFit`,
:class:`VisionFitFlagship`), which take VisionFit v0.4.0's 28 parameters plus the flagship's
``randomize_skin_tone``, ``add_pauses`` and ``add_socks``. ``stickfit-v0.1.0`` keeps its own
parameters and renders as it always has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ....params.distributions import Distribution
from ..base import Generator
from .job import Job, estimate_frames
from .params import CONSTRAINTS, PARAMS, RECOMMENDED, RECOMMENDED_CONSTRAINTS, VISIONFIT_PARAMS, VISIONFIT_RECOMMENDED

__all__ = ["StickFit", "VisionFit", "VisionFitFlagship"]


class StickFit(Generator):
    """The stickfit generator plugin (entry point ``infinityframe.local.generators.stickfit:StickFit``)."""

    name: ClassVar[str] = "stickfit-v0.1.0"
    params: ClassVar[list[dict[str, Any]]] = PARAMS
    constraints: ClassVar[list[dict[str, Any]]] = CONSTRAINTS
    recommended: ClassVar[dict[str, Distribution]] = RECOMMENDED
    recommended_constraints: ClassVar[list[dict[str, Any]]] = RECOMMENDED_CONSTRAINTS
    supports_preview: ClassVar[bool] = True
    description: ClassVar[str] = (
        "Procedural fitness videos: a stick-figure avatar repeats an exercise in a furnished room, "
        "with COCO person keypoints, masks, boxes and per-frame image metrics (VisionFit-style output)."
    )

    def estimate(self, params: dict[str, Any], preview: bool) -> int:
        """Expected frames: 1 for a preview, else the video length at the mean pause and speed."""
        return self.estimate_batch({name: [value] for name, value in params.items()}, preview)[0]

    def estimate_batch(self, columns: Mapping[str, Sequence[Any]], preview: bool) -> list[int]:
        """:meth:`estimate` of every job of a batch at once, from its parameters by column."""
        if preview:
            return [1] * len(columns["exercise"])
        return estimate_frames(columns)

    def render(self, params: dict[str, Any], preview: bool, out_dir: Path, rng: np.random.Generator) -> int:
        """Render the job into ``out_dir``; returns the frames rendered (1 for a preview).

        A preview writes ``job.json``, ``video_preview.png`` and a one-image ``labels.json``;
        its frame is the first frame of the standard job with the same parameters and seed.
        """
        return Job(params, rng, preview, self.name).run(Path(out_dir))


_STAND_IN = (
    "A local stand-in for Infinity's VisionFit, rendered by stickfit: a stick-figure avatar repeats "
    "a VisionFit exercise in a furnished room, with VisionFit's parameter names, ranges and output "
    "layout (COCO labels, masks, boxes, image metrics). Not VisionFit's renderer: no SMPL-X mesh, "
    "no equipment, and only the exercises a standing stick figure can perform."
)


class VisionFit(StickFit):
    """``visionfit-v0.4.0``: VisionFit v0.4.0's parameters, rendered by stickfit.

    It also takes the flagship's ``randomize_skin_tone``, ``add_pauses`` and ``add_socks``
    (local extras) so that clients which always send all of them are served.
    """

    name: ClassVar[str] = "visionfit-v0.4.0"
    params: ClassVar[list[dict[str, Any]]] = VISIONFIT_PARAMS
    recommended: ClassVar[dict[str, Distribution]] = VISIONFIT_RECOMMENDED
    description: ClassVar[str] = (
        _STAND_IN + " Takes the flagship's randomize_skin_tone, add_pauses and add_socks too, as local extras."
    )


class VisionFitFlagship(StickFit):
    """``visionfit-flagship-v0.1.0``: the same parameter surface as :class:`VisionFit`, under the flagship's name."""

    name: ClassVar[str] = "visionfit-flagship-v0.1.0"
    params: ClassVar[list[dict[str, Any]]] = VISIONFIT_PARAMS
    recommended: ClassVar[dict[str, Distribution]] = VISIONFIT_RECOMMENDED
    description: ClassVar[str] = _STAND_IN
