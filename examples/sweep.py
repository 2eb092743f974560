"""A parameter sweep: sample with constraints, check coverage, preview, re-run the chosen scenes as videos.

Run: ``python examples/sweep.py [OUT_DIR]``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import infinityframe as inf
from infinityframe.plots import frames_sheet
from infinityframe.report import Section, write_report


def main(out: Path) -> None:
    sesh = inf.Session.local("stickfit-v0.1.0", data_dir=out / "service")

    # 24 jobs spread evenly over the recommended camera ranges, square images, pauses that make sense
    jobs = sesh.sample(
        24, seed=7, method="lhs",
        exercise=["SQUAT", "LUNGE", "JUMPING_JACK"],
        lighting_power=inf.normal(500, 150),
        image_width=[128, 160], num_reps=1, frame_rate=6,
        constraints=["image_width == image_height", "camera_height <= 2.0"],
    )
    print(jobs.infinity.coverage()[["parameter", "kind", "range_covered", "discrepancy"]].head(8).to_string())

    # look before paying: one-frame previews of every job
    priced = jobs.infinity.validate().infinity.estimate(preview=True)
    print(f"previews cost {priced['estimated_samples'].sum()} samples")
    previews = priced.infinity.submit(preview=True, name="sweep previews")
    status = previews.wait(progress=False)
    print(status["status"].value_counts().to_dict())

    # keep the far-away scenes and render each from three avatar angles, seeded from its preview
    chosen = previews.jobs.query("camera_distance > 3.5")["job_id"].head(3).tolist()
    seen = previews.results(previews.download(out / "previews", progress=False))
    seen.show(n=24, mark=chosen, mark_label="video").savefig(out / "previews.png", dpi=100)  # the chosen outlined
    reruns = sesh.rerun(chosen, [{"relative_avatar_angle_deg": a} for a in (-60.0, 0.0, 60.0)])
    videos = reruns.infinity.estimate()
    print(f"{len(videos)} videos, about {videos['estimated_samples'].sum()} frames")
    batch = videos.infinity.submit(name="sweep videos")
    batch.wait(progress=False)
    folder = batch.download(out / "videos", progress=False)
    print("downloaded", len([p for p in folder.iterdir() if p.is_dir()]), "videos to", folder)

    # each angle is held by three jobs: the figure averages each job's boxes first, then draws the
    # mean of the three with a 95% interval across them (n=3 under each tick), not across frames
    res = batch.results(folder)
    res.plot("relative_avatar_angle_deg", "bbox_w").savefig(out / "bbox_w_by_angle.png", dpi=100)
    res.show(n=6).savefig(out / "frames.png", dpi=100)  # two frames a job: its most different poses
    sheet = frames_sheet(res, n=6)  # the same frames on their own pixels, no matplotlib
    sheet.save(out / "frames-sheet.png")
    sheet.save(out / "frames-sheet.jpg", quality=85, subsampling=0)  # rendered frames are photographs: a fifth the size
    write_report(out / "report.html", "Avatar-angle sweep", [  # plots as PNG, frames as JPEG, all embedded
        Section("Frames", text="Box width by avatar angle, and the frames it was measured on.",
                figures={"Box width by avatar angle": out / "bbox_w_by_angle.png",
                         "Frames with boxes, keypoints and masks": out / "frames-sheet.jpg"})])

    # the same with seaborn directly: one row per job first, so its bootstrap resamples jobs
    import seaborn as sns
    from matplotlib.figure import Figure

    per_job = res.objects.groupby("job_id", observed=True).agg(
        angle=("relative_avatar_angle_deg", "first"), bbox_w=("bbox_w", "mean"))
    fig = Figure(figsize=(5, 3.5))
    sns.pointplot(data=per_job, x="angle", y="bbox_w", errorbar=("ci", 95), n_boot=1000, seed=0, linestyle="none",
                  ax=fig.add_subplot())
    fig.savefig(out / "bbox_w_by_angle_seaborn.png", dpi=100)
    print("figures in", out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="infinity-sweep-")))
