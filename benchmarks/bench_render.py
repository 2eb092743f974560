"""Rendering throughput of the built-in generators: samples (frames) per second per core.

Run: ``python benchmarks/bench_render.py [--seconds 20]``. Each generator renders whole jobs
(every output file: labels, masks, video, previews) in this one process with OpenCV held to
one thread, so the figure is per core; the service runs one such process per core.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import header, publish
from infinityframe.local import generators
from infinityframe.local.generators.base import validate_job

CASES: list[tuple[str, dict[str, Any]]] = [
    ("stickfit-v0.1.0", {"num_reps": 2, "frame_rate": 12}),
    ("shapes-v0.1.0", {"num_images": 10}),
]
SIZES = (256, 512)


def throughput(name: str, params: dict[str, Any], size: int, seconds: float) -> tuple[float, int, int]:
    gen = generators.get(name)
    assert gen is not None, name
    job, errors = validate_job(gen, 0, {**params, "image_width": size, "image_height": size})
    assert job is not None, errors
    samples = jobs = 0
    work = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < seconds or jobs < 2:
            out = work / str(jobs)
            out.mkdir()
            samples += gen.render(job, False, out, np.random.default_rng(jobs))
            jobs += 1
            shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return samples / (time.perf_counter() - t0), samples, jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="rendering time per case")
    args = parser.parse_args()
    import cv2

    cv2.setNumThreads(1)
    lines = [header("Rendering throughput per core"),
             "Whole jobs, every output file written; OpenCV on one thread.\n",
             "| generator | image | samples/s per core | samples | jobs |", "|---|---|---|---|---|"]
    for name, params in CASES:
        for size in SIZES:
            rate, samples, jobs = throughput(name, params, size, args.seconds)
            lines.append(f"| {name} | {size}×{size} | {rate:,.1f} | {samples} | {jobs} |")
            print(lines[-1], flush=True)
    publish(lines, "render.md")


if __name__ == "__main__":
    main()
