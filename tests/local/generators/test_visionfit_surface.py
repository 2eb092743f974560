"""Tests of the VisionFit parameter surface that stickfit renders (issue 14, item 2).

``visionfit-v0.4.0`` and ``visionfit-flagship-v0.1.0`` are local stand-ins rendered by the
stickfit code; ``stickfit-v0.1.0`` keeps its own parameters and, for the same parameters and
seed, the same pixels as before the VisionFit surface was added (pinned by golden hashes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from infinityframe.local.generators.base import Generator, validate_job
from infinityframe.local.generators.stickfit import StickFit


def render(gen: Generator, out: Path, seed: int, preview: bool, **given: Any) -> tuple[int, Path]:
    params, errors = validate_job(gen, 0, given)
    assert not errors and params is not None, errors
    out.mkdir(parents=True, exist_ok=True)
    return gen.render(params, preview, out, np.random.default_rng(seed)), out


def pixel_hashes(folder: Path, preview: bool) -> dict[str, Any]:
    """Short sha256 of the decoded preview image and of all decoded video frames in order."""
    image = cv2.imread(str(folder / "video_preview.png"), cv2.IMREAD_UNCHANGED)
    out: dict[str, Any] = {"preview": hashlib.sha256(image.tobytes()).hexdigest()[:16]}
    if not preview:
        cap = cv2.VideoCapture(str(folder / "video.mp4"))
        digest, count = hashlib.sha256(), 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            digest.update(frame.tobytes())
            count += 1
        cap.release()
        out["frames"] = (count, digest.hexdigest()[:16])
    return out


SMALL = {"image_width": 128, "image_height": 128, "frame_rate": 6, "num_reps": 2}
# Recorded from stickfit-v0.1.0 before the VisionFit surface existed: a preview, a 2-rep job at
# defaults, and a job with a foreground occluder, wall art, pauses and sensor noise.
GOLDEN = [
    (7, True, SMALL, {"preview": "e6b92252a126423c"}),
    (7, False, SMALL, {"preview": "e6b92252a126423c", "frames": (30, "4c5b7609d1ff137f")}),
    (3, False, {"scene": "LIVINGROOM_1", "exercise": "UPPERCUT-LEFT", "add_wall_art": True, "gender": "FEMALE",
                "camera_height": 0.6, "image_width": 160, "image_height": 128, "frame_rate": 8, "num_reps": 2,
                "inter_rep_delay_var": 0.4, "inter_rep_delay_avg": 0.5},
     {"preview": "b9b421b6cd25dda7", "frames": (23, "2d9ea7320d71aabb")}),
]


class TestStickfitUnchanged:
    @pytest.mark.parametrize(("seed", "preview", "given", "expected"), GOLDEN, ids=["preview", "standard", "occluded"])
    def test_same_pixels_as_before(self, tmp_path: Path, seed: int, preview: bool, given: dict[str, Any],
                                   expected: dict[str, Any]) -> None:
        _, out = render(StickFit(), tmp_path, seed, preview, **given)
        assert pixel_hashes(out, preview) == expected
