"""``infinityframe demo``: a stickfit sweep on the embedded service, from sampling to a report.

What a user does, in order: sample a sweep over camera distance, lighting and the room;
validate it and estimate its cost; render one-frame previews first; look at them and keep the
ones where the person is in view, spread over the sweep; promote those to videos (each video
starts from its preview's scene); wait, download and read the labels; then write the tables
(parquet), the figures (PNG) and a self-contained ``report.html`` into the output folder.
The labels follow the physics, so the figures show real effects: boxes shrink as the camera
moves away, frames brighten with more light. Figures are drawn while the service renders (the
sweep's, in a thread, while the previews render and the videos are chosen; the previews' while
the videos render), each once.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .client import Session
from .params.distributions import uniform
from .results import Results, read_results

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .client import Batch
    from .local import Service

__all__ = ["run_demo"]

GENERATOR = "stickfit-v0.1.0"
# What the demo keeps the same in every job: short, small videos, so it runs in well under a minute.
FIXED: dict[str, Any] = {
    "exercise": "SQUAT", "num_reps": 1, "frame_rate": 8, "image_width": 192, "image_height": 192,
    "rel_baseline_speed": 1.5, "max_rel_speed_change": 0.0, "inter_rep_delay_avg": 0.2, "inter_rep_delay_var": 0.1,
}
POLL = 0.2  # seconds between status polls at first; local jobs take about a second


def _sweep(sesh: Session, jobs: int, seed: int) -> pd.DataFrame:
    frame: pd.DataFrame = sesh.sample(
        jobs, seed=seed, method="lhs",
        camera_distance=uniform(1.5, 5.0), lighting_power=uniform(30, 1500), camera_height=uniform(0.6, 1.6),
        relative_camera_pitch_deg=uniform(-10, 10), relative_camera_yaw_deg=uniform(-10, 10),
        relative_avatar_angle_deg=uniform(-90, 90), **FIXED)
    return frame


def _pick(previews: Results, count: int) -> pd.DataFrame:
    """The previews to render as videos: the person in view, spread evenly over camera distance."""
    jobs = previews.jobs
    in_view = jobs[jobs["mean_percent_in_fov"].fillna(0) >= 90].sort_values("camera_distance")
    pool = in_view if len(in_view) >= count else jobs.sort_values("camera_distance")
    picks = np.unique(np.linspace(0, len(pool) - 1, min(count, len(pool))).round().astype(int))
    return pool.iloc[picks]


def _save(fig: Figure, path: Path) -> Path:
    """Draw ``fig`` once, at 100 dpi, into ``path``; the report embeds these files as they are."""
    from .plots import png_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(fig, dpi=100))
    return path


def _step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def _timed(start: float) -> str:
    return f"{time.monotonic() - start:.1f} s"


def _draw_sweep(sweep: pd.DataFrame, path: Path) -> Path:
    return _save(sweep.infinity.plot(), path)


def _videos(sesh: Session, previews: Batch, out: Path, videos: int) -> tuple[Results, list[str], Batch]:
    """Wait for the previews, read them, pick the ones to render as videos and submit those."""
    previews.wait(poll=POLL)
    preview_res = read_results(previews.download(out / "previews", overwrite=True, progress=False))

    chosen = _pick(preview_res, videos)
    chosen_ids = [str(j) for j in chosen["job_id"]]
    plan = sesh.rerun(chosen_ids).infinity.validate().infinity.estimate()
    print(f"{len(chosen_ids)} preview(s) chosen (person in view, spread over camera distance); "
          f"their videos cost about {int(plan['estimated_samples'].sum())} samples")

    _step("the chosen previews as videos")
    batch = previews.promote(chosen_ids, name="demo videos")
    print(f"batch {batch.id} submitted")
    return preview_res, chosen_ids, batch


def run_demo(out: Path, jobs: int = 12, videos: int | None = None, seed: int = 0) -> Results:
    """Run the demo into ``out`` and return the videos' results.

    Parameters
    ----------
    out : Path
        Output folder: ``report.html``, ``figures/``, ``tables/`` (parquet), the downloaded
        ``previews/`` and ``videos/`` batches, and ``service/`` (the embedded service's data).
    jobs : int
        Previews in the sweep.
    videos : int, optional
        Previews promoted to videos (default: half of them, at least 2).
    seed : int
        Seeds the sweep.

    Examples
    --------
    >>> res = run_demo(Path("infinityframe-demo"))  # doctest: +SKIP
    """
    from .local import serve

    start = time.monotonic()
    out = Path(out).resolve()  # the tables keep each job's folder; absolute, they work from anywhere
    out.mkdir(parents=True, exist_ok=True)
    _step("a sweep: camera distance, lighting, room and pose, sampled as a Latin hypercube")
    service = serve(out / "service")
    stopping: list[threading.Thread] = []
    try:
        return _run(service, stopping, out, jobs, max(2, jobs // 2) if videos is None else videos, seed, start)
    finally:
        for thread in stopping:
            thread.join()
        service.stop()  # at once after an error; after the demo, already done


def _run(service: Service, stopping: list[threading.Thread], out: Path, jobs: int, videos: int, seed: int,
         start: float) -> Results:
    from .report import Link, Section, write_report

    figures = out / "figures"
    sesh = Session(service.token, GENERATOR, server=service.url)
    sweep = _sweep(sesh, jobs, seed).infinity.validate(preview=True).infinity.estimate(preview=True)
    video_cost = sum(sesh.estimate(sweep.drop(columns="estimated_samples")))
    print(f"{len(sweep)} jobs on {sesh.server}: previews cost {int(sweep['estimated_samples'].sum())} samples, "
          f"videos of all of them would cost about {video_cost}")

    _step("previews first (one frame per job)")
    previews = sweep.infinity.submit(name="demo previews", preview=True, mode="force")
    print(f"batch {previews.id} submitted")
    # The first figure imports seaborn (with pyplot and scipy), longer than the previews take to
    # render: drawn in a thread, it goes on while this one waits for them, reads them and submits
    # the videos, instead of holding up the videos' submission.
    drawing = ThreadPoolExecutor(1, thread_name_prefix="infinityframe-demo-draw")
    try:
        params_drawn = drawing.submit(_draw_sweep, sweep, figures / "params.png")
        preview_res, chosen_ids, batch = _videos(sesh, previews, out, videos)
    finally:
        drawing.shutdown(wait=True)
    # Joined before this thread draws anything: matplotlib's and seaborn's settings are the process's.
    params_png = params_drawn.result()
    # drawn while the videos render
    previews_png = _save(preview_res.show(n=jobs, mark=chosen_ids, mark_label="video"), figures / "previews.png")
    light_png = _save(preview_res.plot("lighting_power", "mean_image_brightness", level="frames"),
                      figures / "brightness_by_lighting_power.png")
    status = batch.wait(poll=POLL)
    folder = batch.download(out / "videos", overwrite=True, progress=False)
    # Nothing more is asked of the service: it stops (its workers ended, its lock let go) while
    # the last figures are drawn, rather than at exit.
    stopping.append(threading.Thread(target=service.stop, name="infinityframe-demo-stop"))
    stopping[0].start()
    res = read_results(folder)
    failed = list(status.loc[status["status"] != "succeeded", "job_id"])

    _step("figures, tables and the report")
    distance_png = _save(res.plot("camera_distance", "bbox_h"), figures / "bbox_h_by_camera_distance.png")
    frames_png = _save(res.show(n=12), figures / "frames.png")
    tables = res.to_parquet(out / "tables")

    summary_columns = ["job_id", "camera_distance", "lighting_power", "scene", "num_frames", "mean_bbox_h",
                       "mean_percent_in_fov"]
    summary = res.jobs[[c for c in summary_columns if c in res.jobs.columns]].sort_values("camera_distance")
    if "state" in res.jobs.columns:  # each video starts from its preview's scene: link it to that preview's row
        preview_of = dict(zip(res.jobs["job_id"].astype(str), res.jobs["state"].astype(str), strict=True))
        summary.insert(1, "preview", [Link(preview_of[str(j)][:8], preview_of[str(j)]) for j in summary["job_id"]])
    sweep_columns = ["camera_distance", "lighting_power", "camera_height", "relative_avatar_angle_deg", "scene",
                     "gender", "estimated_samples"]
    preview_columns = ["job_id", "camera_distance", "lighting_power", "mean_percent_in_fov", "mean_bbox_h"]
    picked = preview_res.jobs[[c for c in preview_columns if c in preview_res.jobs.columns]].assign(
        video=lambda t: t["job_id"].astype(str).isin(chosen_ids)).sort_values("camera_distance")
    report = write_report(out / "report.html", "infinityframe demo: a stickfit sweep", [
        Section("The sweep", text=f"{len(sweep)} jobs of {GENERATOR}, sampled as a Latin hypercube; "
                                  "fixed parameters are listed in the last panel.",
                figures={"Each parameter's distribution (valid range shaded)": params_png},
                tables={"Jobs": sweep[[c for c in sweep_columns if c in sweep.columns]]}),
        Section("Previews", text=f"One frame per job. {len(chosen_ids)} with the person in view, spread over "
                                 "camera distance, were chosen for videos.",
                figures={"Previews with boxes, keypoints and masks; those chosen for videos outlined": previews_png},
                tables={"Previews (video: chosen)": picked}, anchors={"Previews (video: chosen)": "job_id"}),
        Section("Effects", text="Boxes shrink as the camera moves away; frames brighten with more light. "
                                "Each job counts once (its frames or objects are averaged first); bands are "
                                "bootstrapped 95% confidence intervals across jobs.",
                figures={"Box height by camera distance (objects)": distance_png,
                         "Image brightness by lighting power (previews)": light_png}),
        Section("Frames", text="Each video's preview column links to its row in the previews table.",
                figures={"Frames from the videos with boxes, keypoints and masks": frames_png},
                tables={"Videos": summary}),
    ], subtitle=f"{len(sweep)} previews, {len(res.jobs)} videos, {len(res.frames)} frames; made in {_timed(start)}")

    for thread in stopping:
        thread.join()
    with pd.option_context("display.width", 120, "display.precision", 2):
        shown = summary.assign(preview=[link.text for link in summary["preview"]]) if "preview" in summary else summary
        print(shown.to_string(index=False))
    if failed:
        print(f"{len(failed)} job(s) failed: {', '.join(failed)}")
    _step(f"done in {_timed(start)}; wrote")
    for path in (report, params_png, previews_png, distance_png, light_png, frames_png):
        print(f"  {path}  ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"  {tables}/  (parquet: jobs, frames, objects, keypoints)")
    print(f"  {out / 'previews'}/ and {folder}/  (the downloaded batches {previews.id} and {batch.id})")
    print(f"  {out / 'service'}/  (the embedded service's database and results)")
    return res
