"""Keypoints beside their job's parameters, which are stored once per job (categories in pandas).

Renders a small stickfit sweep on the embedded service (six jobs at three camera distances),
reads it, and shows what the keypoints table's parameters cost and how to use them: grouped as
they are, as numbers through ``astype``, and plotted by ``res.plot``. Run:
``python examples/keypoint_params.py [OUT_DIR]``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import matplotlib

import infinityframe as inf

matplotlib.use("Agg")


def main(out: Path) -> None:
    sesh = inf.Session.local("stickfit-v0.1.0", data_dir=out / "service")
    jobs = sesh.grid(camera_distance=[2.0, 3.0, 4.5], exercise=["SQUAT", "JUMPING_JACK"]).assign(
        num_reps=1, frame_rate=6, image_width=128, image_height=128)
    batch = jobs.infinity.submit(sesh, name="keypoint-params")
    batch.wait(timeout=600, progress=False)
    res = batch.results(out / "batch")
    print(res)

    kp = res.keypoints
    params = [c for c in kp.columns if c in res.jobs.columns and c not in ("batch_id", "job_id")]
    with_params = kp.memory_usage(deep=True).sum()
    without = kp.drop(columns=params).memory_usage(deep=True).sum()
    print(f"keypoints: {len(kp)} rows, {len(params)} parameters; {with_params / 1e3:.0f} kB with them, "
          f"{without / 1e3:.0f} kB without ({with_params / without:.2f}x)")
    print(kp["camera_distance"].dtype, "in keypoints;", res.objects["camera_distance"].dtype, "in objects")

    # grouped as they are: the share of visible keypoints at each distance
    visible = kp.groupby("camera_distance", observed=True)["v"].apply(lambda v: (v == 2).mean())
    print(visible.rename("share visible").to_string())
    # as numbers, for arithmetic or comparisons: one column at a time
    far = kp[kp["camera_distance"].astype(float) > 2.5]
    print(f"{len(far)} keypoints of jobs farther than 2.5 m")
    # res.plot reads them as numbers itself
    res.plot("camera_distance", "y", level="keypoints").savefig(out / "keypoint_y_by_distance.png")
    # polars: numbers stay plain columns (polars has no categorical of numbers)
    print(res.to_backend("polars").keypoints.schema["camera_distance"])


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
