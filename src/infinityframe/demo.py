"""``infinityframe demo``: a stickfit sweep on the embedded service, from submission to a summary.

Sweeps camera distance × lighting, submits the batch to a local service started for the demo,
waits with a progress bar, downloads every job and prints what the labels show: boxes shrink
as the camera moves away, frames brighten with more light.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .client import Session

GENERATOR = "stickfit-v0.1.0"


def _sweep(jobs: int) -> list[dict[str, Any]]:
    lights = [50.0, 400.0, 1500.0]
    distances = np.linspace(1.5, 5.0, max(2, -(-jobs // len(lights))))
    grid = itertools.product(distances, lights)
    return [
        {"exercise": "SQUAT", "num_reps": 2, "frame_rate": 8, "image_width": 192, "image_height": 192,
         "camera_distance": round(float(d), 3), "lighting_power": light}
        for d, light in itertools.islice(grid, jobs)
    ]


def _summarise(batch_dir: Path) -> pd.DataFrame:
    rows = []
    for job_dir in sorted(p for p in batch_dir.iterdir() if p.is_dir()):
        params = json.loads((job_dir / "job.json").read_text())["params"]
        labels = json.loads((job_dir / "labels.json").read_text())
        rows.append({
            "job_id": job_dir.name[:8],
            "camera_distance": params["camera_distance"],
            "lighting_power": params["lighting_power"],
            "frames": len(labels["images"]),
            "mean_bbox_area": np.mean([a["area"] for a in labels["annotations"]]),
            "mean_brightness": np.mean([im["metrics"]["mean_image_brightness"] for im in labels["images"]]),
        })
    return pd.DataFrame(rows).sort_values(["camera_distance", "lighting_power"], ignore_index=True)


def run_demo(out: Path, jobs: int = 12) -> pd.DataFrame:
    """Run the demo into ``out``; returns the per-job summary it prints."""
    out.mkdir(parents=True, exist_ok=True)
    sesh = Session.local(GENERATOR, data_dir=out / "service")
    sweep = pd.DataFrame(_sweep(jobs))
    print(f"{len(sweep)} jobs, about {sum(sesh.estimate(sweep))} frames to render on {sesh.server}")
    batch = sesh.submit(sweep, name="demo sweep", mode="force")
    print(f"batch {batch.id} submitted")
    status = batch.wait()
    folder = batch.download(out / "batch", overwrite=True)
    failed = list(status.loc[status["state"] != "succeeded", "job_id"])

    table = _summarise(folder)
    with pd.option_context("display.width", 120, "display.precision", 1):
        print(table.to_string(index=False))
    by_distance = table.groupby("camera_distance")["mean_bbox_area"].mean()
    by_light = table.groupby("lighting_power")["mean_brightness"].mean()
    print(f"\nbox area {by_distance.iloc[0]:.0f} px² at {by_distance.index[0]:.1f} m → "
          f"{by_distance.iloc[-1]:.0f} px² at {by_distance.index[-1]:.1f} m; brightness "
          f"{by_light.iloc[0]:.0f} at light {by_light.index[0]:.0f} → {by_light.iloc[-1]:.0f} "
          f"at {by_light.index[-1]:.0f}")
    if failed:
        print(f"{len(failed)} job(s) failed: {', '.join(failed)}")
    print(f"\nwrote {folder} ({len(table)} jobs) and the service's data in {out / 'service'}")
    return table
