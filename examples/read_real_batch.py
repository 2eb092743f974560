"""Reading a real Infinity batch download (VisionFit v0.4.0) into tidy tables.

Uses the batch in ``../shared/fixtures/infinity-v0.4.0`` beside the project, or a batch folder
given as the second argument. Run: ``python examples/read_real_batch.py [OUT_DIR] [BATCH_DIR]``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import polars as pl

import infinityframe as inf

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "infinity-v0.4.0"


def main(out: Path, batch: Path) -> None:
    if not batch.exists():
        print(f"no batch at {batch}: pass a downloaded batch folder as the second argument")
        return
    res = inf.read_results(batch, cache=False)
    print(res)
    print(res.jobs[["job_id", "exercise", "num_frames", "camera_distance", "mean_percent_in_fov"]].to_string())

    # per-frame labels with the job's parameters alongside, ready for seaborn or groupby
    frames = res.frames[["job_id", "time_s", "rep_count_from_start", "mean_image_brightness"]]
    print(frames.groupby("job_id", observed=True).agg(duration_s=("time_s", "max"),
                                                      reps=("rep_count_from_start", "max")))

    # which keypoints are hidden most often?
    hidden = res.keypoints.assign(hidden=res.keypoints["v"] == 1).groupby("keypoint", observed=True)["hidden"].mean()
    print(hidden.sort_values(ascending=False).head(5))

    # saved as parquet partitioned by batch and job, then queried lazily with polars
    res.to_parquet(out / "parquet")
    tall = (pl.scan_parquet(str(out / "parquet" / "objects" / "**" / "*.parquet"), hive_partitioning=True)
            .group_by("job_id").agg(pl.col("bbox_h").mean()).collect())
    print(tall)


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-read-"))
    main(out_dir, Path(sys.argv[2]) if len(sys.argv) > 2 else FIXTURE)
