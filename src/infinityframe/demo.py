"""``infinityframe demo``: a stickfit sweep on the embedded service, from submission to a summary.

Sweeps camera distance × lighting, submits the batch to a local service started for the demo,
waits with a progress bar, downloads every job and prints what the labels show: boxes shrink
as the camera moves away, frames brighten with more light.
"""

from __future__ import annotations

import io
import itertools
import json
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests
from tqdm.auto import tqdm

from .local.server import serve

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
    batch_dir = out / "batch"
    with serve(out / "service", rate_limit=None) as service:
        http = requests.Session()
        http.headers["Authorization"] = f"Token {service.token}"
        api = f"{service.url}/api"
        body = {"name": "demo sweep",
                "job_runs": [{"name": GENERATOR, "is_preview": False, "param_values": p} for p in _sweep(jobs)]}
        estimate = http.post(f"{api}/batch/estimate/", json=body, timeout=60)
        estimate.raise_for_status()
        print(f"{len(body['job_runs'])} jobs, about {sum(estimate.json())} frames to render")
        created = http.post(f"{api}/batch/", json=body, timeout=60)
        created.raise_for_status()
        batch_id = created.json()["id"]
        print(f"batch {batch_id} submitted to {service.url}")

        with tqdm(total=len(body["job_runs"]), desc="rendering", unit="job") as bar:
            while True:
                summary = http.get(f"{api}/batch/{batch_id}/summary/", timeout=30).json()["job_runs"]
                done = sum(not j["in_progress"] for j in summary)
                bar.update(done - bar.n)
                if done == len(summary):
                    break
                time.sleep(0.25)

        if batch_dir.exists():
            shutil.rmtree(batch_dir)
        batch_dir.mkdir()
        (batch_dir / "batch_id.txt").write_text(batch_id)
        for job in tqdm(summary, desc="downloading", unit="job"):
            if job["result_url"] is None:
                continue
            data = requests.get(job["result_url"], timeout=60)
            data.raise_for_status()
            with zipfile.ZipFile(io.BytesIO(data.content)) as zf:
                zf.extractall(batch_dir)
        failed = [j["id"] for j in summary if j["result_url"] is None]

    table = _summarise(batch_dir)
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
    print(f"\nwrote {batch_dir} ({len(table)} jobs) and the service's data in {out / 'service'}")
    return table
