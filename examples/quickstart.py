"""Quickstart: a small stickfit sweep on the embedded service, from frame to downloaded labels.

Run: ``python examples/quickstart.py [OUT_DIR]``
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

import infinityframe as inf


def main(out: Path) -> None:
    sesh = inf.Session.local("stickfit-v0.1.0", data_dir=out / "service")
    print(sesh)
    print(sesh.parameters[["name", "type", "default", "min", "max"]].head(8).to_string(index=False))

    jobs = pd.DataFrame({
        "exercise": ["SQUAT", "JUMPING_JACK", "UPPERCUT-LEFT"],
        "camera_distance": [2.0, 3.0, 4.0],
        "frame_rate": 8,
        "num_reps": 1,
        "image_width": 160,
        "image_height": 160,
    })
    print("estimated frames per job:", sesh.estimate(jobs))

    previews = sesh.submit(jobs, preview=True, name="quickstart previews")
    previews.wait(progress=False)
    videos = sesh.submit(jobs, name="quickstart videos")
    status = videos.wait()
    print(status[["job_id", "status", "samples"]].to_string(index=False))

    folder = videos.download(out / "videos")
    for job_id in videos.job_ids:
        labels = json.loads((folder / job_id / "labels.json").read_text())
        print(job_id[:8], f"{len(labels['images'])} frames,",
              f"first box {labels['annotations'][0]['bbox']}")
    print("batches:", sesh.batches(days=1)[["name", "num_jobs"]].to_dict(orient="records"))
    print("usage:", sesh.usage(days=1).to_dict(orient="records"))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-quickstart-")))
