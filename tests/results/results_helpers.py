"""Helpers of the results tests: where the real fixture is, and small batches of our generators."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from infinityframe.local.generators import get
from infinityframe.params.rules import validate_job

FIXTURE = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "infinity-v0.4.0"
FIXTURE_JOBS = {"1b3f73c9-0e95-46f7-93c3-ce0ae516b413": 81, "cd588005-8b14-4e0e-a501-8f469c7b5255": 55}
STICKFIT = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}
SHAPES = {"num_images": 3, "num_objects": 4, "image_width": 64, "image_height": 64}


def copy_writable(source: Path, target: Path) -> Path:
    """A writable copy of a (possibly read-only) batch folder."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".infinityframe-cache*"))
    for folder, dirs, files in os.walk(target):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    target.chmod(target.stat().st_mode | stat.S_IWUSR)
    return target


def render_job(batch: Path, job_id: str, generator: str, given: Mapping[str, Any], *, seed: int = 0,
               preview: bool = False) -> Path:
    """Render one job of a local generator into ``batch/job_id``, as a downloaded batch holds it."""
    gen = get(generator)
    assert gen is not None
    params, errors = validate_job(gen, 0, dict(given))
    assert not errors and params is not None, errors
    out = batch / job_id
    out.mkdir(parents=True)
    gen.render(params, preview, out, np.random.default_rng(seed))
    return out


def write_batch_id(batch: Path, batch_id: str) -> None:
    (batch / "batch_id.txt").write_text(batch_id)  # bare id, no newline, as the service writes it
