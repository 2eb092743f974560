"""``infinityframe demo``: a stickfit sweep on the embedded service, from sampling to a report.

What a user does, in order: sample a sweep over camera distance, lighting and the room;
validate it and estimate its cost; render one-frame previews first; look at them and keep the
ones where the person is in view, spread over the sweep, for videos; promote them to videos
(each video starts from its preview's scene); while the videos render, a learning round: a
model of how much of the person is in view, fitted on the previews, suggests previews where
the person is partly out of the frame, and they are rendered and counted; wait, download and
read the labels; then write the tables (parquet), the figures (PNG; the sheets of frames JPEG)
and a self-contained ``report.html`` into the output folder. The labels follow the physics,
so the figures show real effects: boxes shrink as the camera moves away, frames brighten with
more light. Figures are drawn while the service renders (the sweep's while it renders the
previews), each once, with matplotlib and numpy (no figure here needs seaborn, which would
load pyplot and scipy.stats with it); frames are drawn straight onto their pixels
(:func:`~infinityframe.plots.frames_sheet`), not through matplotlib.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .client import Session
from .params.distributions import uniform
from .results import Results, read_results

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from PIL.Image import Image

    from .client import Batch
    from .local import Service

__all__ = ["run_demo"]

GENERATOR = "stickfit-v0.1.0"
# What the demo keeps the same in every job: short, small videos, so it runs in well under a minute.
FIXED: dict[str, Any] = {
    "exercise": "SQUAT", "num_reps": 1, "frame_rate": 8, "image_width": 192, "image_height": 192,
    "rel_baseline_speed": 1.5, "max_rel_speed_change": 0.0, "inter_rep_delay_avg": 0.2, "inter_rep_delay_var": 0.1,
}
# What the sweep varies, and the learning round's suggestions with it.
SPACE: dict[str, Any] = {
    "camera_distance": uniform(1.5, 5.0), "lighting_power": uniform(30, 1500), "camera_height": uniform(0.6, 1.6),
    "relative_camera_pitch_deg": uniform(-10, 10), "relative_camera_yaw_deg": uniform(-10, 10),
    "relative_avatar_angle_deg": uniform(-90, 90),
}
POLL = 0.1  # seconds between status polls at first: a poll of the embedded service costs a few ms
# The learning round: previews with the person partly out of the frame, this share of them in
# view (percent, the lower bound included). 90 and more is "in view", as the videos are chosen.
EDGE = (25.0, 90.0)
_JPEG_QUALITY = 85  # the sheets of frames (see _save_sheet)
# The demo's own process keeps a core busy from start to end (it draws while the service
# renders), and its 30 small jobs take about a second of rendering in all (30-75 ms each): a
# second worker would wait for the same spare core, after paying its own start (0.3-0.4 s of
# CPU: an interpreter, numpy, OpenCV and the generator).
RENDER_WORKERS = 1
# What the learning round's model is fitted on: where the camera is. A dozen previews cannot
# teach a model of all six parameters; the camera's place is what can put the person out of
# the frame (the light cannot), and four inputs keep the fit to a fraction of a second.
CAMERA = ["camera_distance", "camera_height", "relative_camera_pitch_deg", "relative_camera_yaw_deg"]


def _sweep(sesh: Session, jobs: int, seed: int) -> pd.DataFrame:
    frame: pd.DataFrame = sesh.sample(jobs, seed=seed, method="lhs", **SPACE, **FIXED)
    return frame


def in_view(res: Results) -> pd.Series:
    """Each job's mean share of the person in view (percent); 0 where no box was labelled (none in view)."""
    share: pd.Series = res.jobs["mean_percent_in_fov"].astype(float).fillna(0.0)
    return share


def at_edge(share: pd.Series) -> pd.Series:
    """Whether each share is in the learning round's goal, :data:`EDGE` (partly out of the frame)."""
    low, high = EDGE
    landed: pd.Series = (share >= low) & (share < high)
    return landed


def _pick(previews: Results, count: int) -> pd.DataFrame:
    """The previews to render as videos: the person in view, spread evenly over camera distance."""
    jobs = previews.jobs
    in_view = jobs[jobs["mean_percent_in_fov"].fillna(0) >= 90].sort_values("camera_distance")
    pool = in_view if len(in_view) >= count else jobs.sort_values("camera_distance")
    picks = np.unique(np.linspace(0, len(pool) - 1, min(count, len(pool))).round().astype(int))
    return pool.iloc[picks]


def _save(fig: Figure, path: Path, dpi: int = 100) -> Path:
    """Draw ``fig`` once, at ``dpi``, into ``path``; the report embeds these files as they are."""
    from .plots import png_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(fig, dpi=dpi))
    return path


def _save_sheet(sheet: Image, path: Path) -> Path:
    """A sheet of frames written as JPEG: rendered frames are photographs, which PNG keeps losslessly
    at five times the size and twenty times the encoding time (0.05 s and 930 KiB for the previews'
    sheet, against 2.5 ms and 190 KiB). Colour is kept at full resolution (no chroma subsampling), so
    the thin boxes and skeletons keep their colours."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, format="jpeg", quality=_JPEG_QUALITY, subsampling=0)
    return path


def _step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def _timed(start: float) -> str:
    return f"{time.monotonic() - start:.1f} s"


def _read_previews(sesh: Session, previews: Batch, out: Path, videos: int) -> tuple[Results, list[str]]:
    """Wait for the previews, read them, and pick the ones to render as videos."""
    previews.wait(poll=POLL)
    preview_res = read_results(previews.download(out / "previews", overwrite=True, progress=False))

    chosen = _pick(preview_res, videos)
    chosen_ids = [str(j) for j in chosen["job_id"]]
    plan = sesh.rerun(chosen_ids).infinity.validate().infinity.estimate()
    print(f"{len(chosen_ids)} preview(s) chosen (person in view, spread over camera distance); "
          f"their videos cost about {int(plan['estimated_samples'].sum())} samples")
    return preview_res, chosen_ids


def _learning_round(sesh: Session, preview_res: Results, count: int, seed: int) -> tuple[pd.DataFrame, Batch]:
    """Suggest ``count`` previews where the person is partly out of the frame, from the previews so far; submit them.

    A Gaussian process of the share in view over the camera's place (``sesh.suggest``, goal
    ``("between", *EDGE)``) is fitted on the sweep's previews; the other parameters are drawn
    from the sweep's distributions, as before.
    """
    history = preview_res.jobs[CAMERA].assign(in_view=in_view(preview_res).to_numpy())
    # suggest fits its model on one BLAS thread (0.2 s against 1.9 s on two busy cores)
    suggested = sesh.suggest(count, history, "in_view", goal=("between", *EDGE), seed=seed, preview=True,
                             **SPACE, **FIXED)
    predicted = suggested.attrs["suggest"]["predicted"]
    batch = suggested.infinity.submit(name="demo learning round", preview=True, mode="force")
    low, high = EDGE
    print(f"a model of the share in view, fitted on the {len(history)} previews, asked for {count} more with "
          f"{low:.0f}-{high:.0f}% of the person in view (predicted {min(predicted):.0f}-{max(predicted):.0f}%): "
          f"batch {batch.id} submitted")
    return suggested, batch


def _landed(preview_res: Results, learned: Results) -> pd.DataFrame:
    """Each preview of the sweep and of the learning round: its round, camera, share in view and whether it landed."""
    rounds = []
    for name, res in (("sweep", preview_res), ("learning round", learned)):
        share = in_view(res)
        rounds.append(res.jobs[["job_id", *CAMERA]].assign(round=name, in_view=share.to_numpy(),
                                                             landed=at_edge(share).to_numpy()))
    table = pd.concat(rounds, ignore_index=True)
    return table[["round", "job_id", *CAMERA, "in_view", "landed"]]


def _draw_learning(table: pd.DataFrame) -> Figure:
    """Share in view by camera distance, the sweep's previews and the learning round's, the goal shaded."""
    from .plots import figure_style, new_figure

    low, high = EDGE
    with figure_style():
        fig = new_figure(6.0, 3.4)
        ax = fig.subplots()
        ax.axhspan(low, high, color="#f4a261", alpha=0.25, lw=0, label=f"asked for: {low:.0f}-{high:.0f}% in view")
        for (name, marker), color in zip((("sweep", "o"), ("learning round", "X")), ("C0", "C1"), strict=True):
            part = table[table["round"] == name]
            ax.scatter(part["camera_distance"], part["in_view"], s=46, marker=marker, color=color,
                       edgecolor="white", linewidth=0.75, label=name)
        ax.set_xlabel("camera_distance (m)")
        ax.set_ylabel("share of the person in view (%)")
        ax.set_ylim(-3, 103)
        counts = table.groupby("round", sort=False)["landed"].agg(["sum", "size"])
        ax.set_title("; ".join(f"{name}: {int(row['sum'])} of {int(row['size'])} in the band"
                               for name, row in counts.iterrows()), fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
    return fig


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
    service = serve(out / "service", workers=RENDER_WORKERS)
    stopping: list[threading.Thread] = []
    try:
        return _run(service, stopping, out, jobs, max(2, jobs // 2) if videos is None else videos, seed, start)
    finally:
        for thread in stopping:
            thread.join()
        service.stop()  # at once after an error; after the demo, already done


def _run(service: Service, stopping: list[threading.Thread], out: Path, jobs: int, videos: int, seed: int,
         start: float) -> Results:
    from .plots import frames_sheet
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
    # While the service renders the previews, this process draws the sweep's figure, which needs
    # nothing but the sweep. It is large and only read at a glance: 80 dpi.
    params_png = _save(sweep.infinity.plot(), figures / "params.png", 80)
    preview_res, chosen_ids = _read_previews(sesh, previews, out, videos)

    # The videos go first: the service renders them while this process fits the learning round's
    # model and draws; the learning round's previews, submitted after, go ahead of the videos
    # still queued (the service renders queued previews first).
    _step("the chosen previews as videos")
    batch = previews.promote(chosen_ids, name="demo videos")
    print(f"batch {batch.id} submitted")

    _step("a learning round: where does the person leave the frame?")
    learning = max(2, jobs // 2)
    suggested, learning_batch = _learning_round(sesh, preview_res, learning, seed)

    # Drawn while the videos and the learning round's previews render; the sheet with OpenCV and
    # Pillow, not matplotlib.
    previews_jpg = _save_sheet(frames_sheet(preview_res, n=jobs, mark=chosen_ids, mark_label="video"),
                               figures / "previews.jpg")
    light_png = _save(preview_res.plot("lighting_power", "mean_image_brightness", level="frames"),
                      figures / "brightness_by_lighting_power.png")
    learning_batch.wait(poll=POLL)
    learned = read_results(learning_batch.download(out / "learning", overwrite=True, progress=False))
    landed = _landed(preview_res, learned)
    first, second = (landed.loc[landed["round"] == name, "landed"] for name in ("sweep", "learning round"))
    low, high = EDGE
    print(f"{int(second.sum())} of {len(second)} of the learning round's previews have {low:.0f}-{high:.0f}% of the "
          f"person in view, against {int(first.sum())} of {len(first)} of the sweep's")
    learning_png = _save(_draw_learning(landed), figures / "learning_round.png")
    learned_jpg = _save_sheet(frames_sheet(learned, n=learning), figures / "learning_previews.jpg")

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
    frames_jpg = _save_sheet(frames_sheet(res, n=12), figures / "frames.jpg")
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
                figures={"Previews with boxes, keypoints and masks; those chosen for videos outlined": previews_jpg},
                tables={"Previews (video: chosen)": picked}, anchors={"Previews (video: chosen)": "job_id"}),
        Section("A learning round", text=[
            f"Where does the person leave the frame? A Gaussian process of the share of the person in view, "
            f"fitted on the {len(first)} previews over the camera's distance, height, pitch and yaw "
            f"(sesh.suggest, goal ('between', {low:.0f}, {high:.0f})), suggested {len(suggested)} more previews "
            f"with {low:.0f}-{high:.0f}% in view; the other parameters were drawn as in the sweep.",
            f"{int(second.sum())} of {len(second)} landed there, against {int(first.sum())} of {len(first)} of the "
            "sweep's Latin hypercube. With a dozen previews this is where to look next, not a ranking of what "
            "matters: that needs many more jobs (res.effects, docs/learn.md)."],
                figures={"Share in view by camera distance: the sweep's previews and the learning round's "
                         "(band: what was asked for)": learning_png,
                         "The learning round's previews": learned_jpg},
                tables={"Previews of both rounds (landed: in the band)": landed}),
        Section("Effects", text="Boxes shrink as the camera moves away; frames brighten with more light. "
                                "Each job counts once (its frames or objects are averaged first); bands are "
                                "bootstrapped 95% confidence intervals across jobs.",
                figures={"Box height by camera distance (objects)": distance_png,
                         "Image brightness by lighting power (previews)": light_png}),
        Section("Frames", text="Each video's preview column links to its row in the previews table.",
                figures={"Frames from the videos with boxes, keypoints and masks": frames_jpg},
                tables={"Videos": summary}),
    ], subtitle=f"{len(sweep)} previews, {len(second)} in a learning round, {len(res.jobs)} videos, "
                f"{len(res.frames)} frames; made in {_timed(start)}")

    for thread in stopping:
        thread.join()
    with pd.option_context("display.width", 120, "display.precision", 2):
        shown = summary.assign(preview=[link.text for link in summary["preview"]]) if "preview" in summary else summary
        print(shown.to_string(index=False))
    if failed:
        print(f"{len(failed)} job(s) failed: {', '.join(failed)}")
    _step(f"done in {_timed(start)}; wrote")
    for path in (report, params_png, previews_jpg, learning_png, learned_jpg, distance_png, light_png, frames_jpg):
        print(f"  {path}  ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"  {tables}/  (parquet: jobs, frames, objects, keypoints)")
    print(f"  {out / 'previews'}/, {out / 'learning'}/ and {folder}/  (the downloaded batches {previews.id}, "
          f"{learning_batch.id} and {batch.id})")
    print(f"  {out / 'service'}/  (the embedded service's database and results)")
    return res
