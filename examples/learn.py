"""Sweeps that learn, on stickfit: where does the person leave the frame, and what drives box size?

Run: ``python examples/learn.py [OUT_DIR]``. Everything runs on the embedded service; previews
render one small frame each, so the whole script takes well under a minute. Run it twice: the
second run reattaches to every batch and pays nothing.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

import infinityframe as inf
from infinityframe.learn import effects

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}


def percent_in_view(res: inf.Results) -> pd.Series:
    """Per job, the mean share of the person inside the image (0 when nobody is in view: no boxes)."""
    jobs = res.jobs
    values = jobs["mean_percent_in_fov"] if "mean_percent_in_fov" in jobs.columns else jobs["num_frames"] * 0.0
    return pd.Series(values.fillna(0.0).to_numpy(), index=jobs["job_id"].astype(str))


def leaves_the_frame(sesh: inf.Session, out: Path) -> None:
    # Explore on one-frame previews for jobs where a quarter to a half of the person is in view
    # (a first round of 10 spread over the space, then 5 a round where the model says), and
    # render the three best as videos. The recommended distributions keep the camera on the
    # person, so the sweep looks over every parameter's whole range (prior="uniform").
    found = inf.sweep(sesh, percent_in_view, goal=("between", 25, 50), rounds=7, per_round=5, first_round=10, videos=3,
                      max_samples=400, seed=0, name="leaves the frame", path=out / "leaves-the-frame",
                      prior="uniform", progress=False, **SMALL)
    previews = found[found.fidelity == "preview"]
    hits = previews.objective.between(25, 50)
    print(f"{hits.sum()} of {len(previews)} previews have the person partly out of view "
          f"(by round: {previews.assign(hit=hits).groupby('round').hit.sum().tolist()})")
    print(f"spent {found.attrs['sweep']['samples']} samples; report: {found.attrs['sweep']['report']}")
    print(found[found.fidelity == "video"][["job_id", "source_job_id", "relative_camera_yaw_deg",
                                            "relative_camera_pitch_deg", "objective"]].round(1).to_string())
    drivers = effects(previews, "objective", ["camera_distance", "camera_height", "relative_camera_yaw_deg",
                                                        "relative_camera_pitch_deg", "lighting_power"], n_boot=20)
    print(drivers[["parameter", "effect", "low", "high", "method"]].round(3).to_string())


def box_size(sesh: inf.Session, out: Path) -> None:
    # 24 previews over the camera's placement and the light; which of them drives the box height?
    jobs = sesh.sample(24, seed=1, method="lhs", exercise="SQUAT", scene="GYM_1", **SMALL)
    batch = jobs.infinity.submit(sesh, preview=True, name="what drives box size")
    batch.wait(progress=False)
    res = batch.results(out / "box-size")
    table = res.effects("bbox_h", level="objects", n_boot=20, method="permutation")
    print(table[["parameter", "effect", "low", "high", "n"]].head(6).round(3).to_string())
    res.plot_effects("bbox_h", level="objects", n_boot=20, method="permutation").savefig(out / "box-size.png")


def main(out: Path) -> None:
    sesh = inf.Session.local("stickfit-v0.1.0", data_dir=out / "service")
    leaves_the_frame(sesh, out)
    box_size(sesh, out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-learn-")))
