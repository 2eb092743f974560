"""The figures, drawn from real results: a small stickfit batch on the local service, and the real fixture."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

import infinityframe as inf
from _service import FIXTURES, RunningService
from infinityframe._frame_images import rle_counts, rle_mask
from infinityframe.plots import _N_BOOT, _SEED, COCO_SKELETON

GENERATOR = "stickfit-v0.1.0"
SMALL = {"exercise": "SQUAT", "num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128,
         "rel_baseline_speed": 2.0, "inter_rep_delay_avg": 0.1, "inter_rep_delay_var": 0.0,
         "max_rel_speed_change": 0.0, "scene": "BEDROOM_2", "relative_camera_pitch_deg": 0.0,
         "relative_camera_yaw_deg": 0.0, "relative_avatar_angle_deg": 0.0, "camera_height": 1.0}
FIXTURE = FIXTURES / "infinity-v0.4.0"


@pytest.fixture(scope="module")
def sesh(service: RunningService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[inf.Session]:
    with pytest.MonkeyPatch.context() as mp:  # submission records away from the user's cache
        mp.setenv("INFINITYFRAME_CACHE_DIR", str(tmp_path_factory.mktemp("plots-cache")))
        yield inf.Session(service.token, GENERATOR, server=service.url)


@pytest.fixture(scope="module")
def videos(sesh: inf.Session, tmp_path_factory: pytest.TempPathFactory) -> inf.Results:
    """Three short videos, the camera moving away and the light rising."""
    jobs = pd.DataFrame({"camera_distance": [2.0, 3.5, 5.0], "lighting_power": [100.0, 800.0, 1500.0]})
    batch = sesh.submit(jobs.infinity.fill(sesh, seed=0).assign(**SMALL), name="plots videos", mode="force")
    batch.wait(poll=0.2, progress=False)
    return batch.results(batch.download(tmp_path_factory.mktemp("videos"), progress=False))


@pytest.fixture(scope="module")
def previews(sesh: inf.Session, tmp_path_factory: pytest.TempPathFactory) -> inf.Results:
    """Six one-frame previews over a lighting sweep (one row per job: a regression, not a mean per x)."""
    jobs = sesh.sample(6, seed=3, method="lhs", lighting_power=inf.uniform(50, 1900), camera_distance=3.0, **SMALL)
    batch = jobs.infinity.submit(sesh, name="plots previews", preview=True, mode="force")
    batch.wait(poll=0.2, progress=False)
    return batch.results(batch.download(tmp_path_factory.mktemp("previews"), progress=False))


@pytest.fixture(scope="module")
def grid(sesh: inf.Session, tmp_path_factory: pytest.TempPathFactory) -> inf.Results:
    """Four short videos on a grid: two camera distances, two jobs (and two rooms) at each."""
    jobs = pd.DataFrame({"camera_distance": [2.0, 2.0, 4.0, 4.0],
                         "relative_avatar_angle_deg": [-30.0, 30.0, -30.0, 30.0],
                         "scene": ["BEDROOM_2", "OFFICE_1", "OFFICE_1", "OFFICE_1"]})
    small = {k: v for k, v in SMALL.items() if k not in jobs.columns}
    batch = sesh.submit(jobs.infinity.fill(sesh, seed=1).assign(**small), name="plots grid", mode="force")
    batch.wait(poll=0.2, progress=False)
    return batch.results(batch.download(tmp_path_factory.mktemp("grid"), progress=False))


@pytest.fixture(scope="module")
def real() -> inf.Results:
    if not (FIXTURE / "batch_id.txt").is_file():
        pytest.skip(f"the real Infinity v0.4.0 fixture is not at {FIXTURE}; these tests need ../shared/fixtures")
    return inf.read_results(FIXTURE, cache=False)  # never write a cache into the shared fixture


def drawn(fig: Figure) -> list[Axes]:
    """The panels that show something (a grid's spare axes are switched off and empty)."""
    return [ax for ax in fig.axes if ax.get_title()]


def with_gid(ax: Axes, gid: str) -> list[object]:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def job_interval(means: pd.Series | np.ndarray) -> tuple[float, float]:
    """The 95% interval of the mean of one value per job, bootstrapped as the figures are (seaborn's
    bootstrap with the figures' seed and draws): what every interval must be, the job the unit."""
    from seaborn.algorithms import bootstrap
    from seaborn.utils import ci

    low, high = ci(bootstrap(np.asarray(means, dtype=float), n_boot=_N_BOOT, seed=_SEED), 95)
    return float(low), float(high)


def render(fig: Figure) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]


class TestParams:
    def test_one_panel_per_varying_parameter_and_fixed_ones_listed(self, sesh: inf.Session) -> None:
        jobs = sesh.sample(40, seed=0, method="lhs", exercise="SQUAT", num_reps=2, image_width=192)
        before = jobs.copy()
        fig = jobs.infinity.plot(sesh)
        assert isinstance(fig, Figure)
        pd.testing.assert_frame_equal(jobs, before)  # never mutates the frame

        varying = [p.name for p in sesh.spec if p.name in jobs and p.type != "uuid" and jobs[p.name].nunique() > 1]
        titles = [ax.get_title() for ax in drawn(fig)]
        assert titles == [*varying, "fixed"]
        assert fig.get_suptitle() == f"{GENERATOR}: 40 jobs, {len(varying)} varying parameter(s)"
        fixed = with_gid(drawn(fig)[-1], "fixed-params")[0].get_text()  # type: ignore[attr-defined]
        assert "exercise = SQUAT" in fixed and "num_reps = 2" in fixed and "image_width = 192" in fixed
        assert "state: set in 0 of 40 rows" in fixed
        assert "camera_distance" not in fixed

    def test_numbers_are_histograms_over_their_shaded_range(self, sesh: inf.Session) -> None:
        jobs = sesh.sample(30, seed=1, camera_distance=inf.uniform(2, 3))[["camera_distance", "lighting_power"]]
        panel = {ax.get_title(): ax for ax in drawn(jobs.infinity.plot(sesh))}["camera_distance"]
        spans = with_gid(panel, "valid-range")
        assert len(spans) == 1
        span = spans[0]
        assert isinstance(span, Rectangle)
        assert (span.get_x(), span.get_x() + span.get_width()) == pytest.approx((1.0, 5.25))
        bars = [p for p in panel.patches if isinstance(p, Rectangle) and p.get_gid() is None and p.get_height() > 0]
        assert sum(b.get_height() for b in bars) == 30
        width = bars[0].get_width()  # bins span the whole valid range, so the sweep's narrowness shows
        assert width == pytest.approx(4.25 / 20)
        assert min(b.get_x() for b in bars) > 2 - width and max(b.get_x() + width for b in bars) < 3 + width
        assert panel.get_xlim()[0] < 1.0 and panel.get_xlim()[1] > 5.25  # the whole range is visible
        assert panel.get_xlabel() == "valid 1 to 5.25" and panel.get_ylabel() == "jobs"

    def test_count_axes_have_whole_number_ticks(self, sesh: inf.Session) -> None:
        jobs = sesh.sample(3, seed=5, method="lhs", camera_distance=inf.uniform(2, 3), scene=["GYM_1", "OFFICE_1"])
        for ax in drawn(jobs.infinity.plot(sesh))[:-1]:
            ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
            assert ax.get_ylabel() == "jobs" and len(ticks) >= 2
            assert all(float(t).is_integer() for t in ticks), (ax.get_title(), ticks)

    def test_choices_count_every_allowed_value_and_flag_others(self, sesh: inf.Session) -> None:
        jobs = sesh.sample(12, seed=2, frame_rate=[8, 12])[["frame_rate", "scene"]].assign(
            camera_distance=[9.0, *np.linspace(2, 4, 11)])
        jobs.loc[0, "frame_rate"] = 7
        panels = {ax.get_title(): ax for ax in drawn(jobs.infinity.plot(sesh))}
        rates = panels["frame_rate"]
        assert [t.get_text() for t in rates.get_xticklabels()] == ["30", "24", "12", "8", "6", "7"]
        heights = [p.get_height() for p in rates.patches if p.get_gid() is None]
        assert heights[0] == heights[1] == heights[4] == 0 and heights[5] == 1 and sum(heights) == 12
        assert rates.get_xlabel() == "5 allowed, 1 not allowed"
        distance = panels["camera_distance"]
        assert distance.get_xlim()[1] > 9.0
        assert any(t.get_text() == "1 outside range" for t in distance.texts)

    def test_polars_frames_draw_the_same_panels(self, sesh: inf.Session) -> None:
        jobs = sesh.sample(10, seed=4)[["scene", "camera_distance", "add_wall_art", "num_reps", "state"]]
        pandas_titles = [ax.get_title() for ax in drawn(jobs.infinity.plot(sesh))]
        polars_titles = [ax.get_title() for ax in drawn(pl.from_pandas(jobs).infinity.plot(sesh))]
        assert polars_titles == pandas_titles

    def test_nothing_is_left_in_pyplot(self, sesh: inf.Session) -> None:
        import matplotlib.pyplot as plt

        open_before = plt.get_fignums()
        fig = sesh.sample(5, seed=0)[["camera_distance", "scene"]].infinity.plot(sesh)
        assert plt.get_fignums() == open_before
        assert render(fig).shape[2] == 4  # draws on the Agg canvas without a display

    def test_an_empty_frame_says_so(self, sesh: inf.Session) -> None:
        with pytest.raises(inf.InfinityError, match="no rows"):
            sesh.sample(3, seed=0).iloc[:0].infinity.plot(sesh)


class TestResults:
    def test_a_job_counts_once_however_many_objects_it_has(self, videos: inf.Results) -> None:
        fig = videos.plot("camera_distance", "bbox_h")
        (ax,) = fig.axes
        assert (ax.get_xlabel(), ax.get_title()) == ("camera_distance", "bbox_h by camera_distance")
        assert ax.get_ylabel() == "bbox_h (mean per job)"
        objects = len(videos.objects)
        assert objects > 3 * 5  # many objects per job, but three jobs
        assert fig.get_suptitle() == ("one dot per job, linear fit and 95% CI across jobs: "
                                      f"3 jobs (each the mean of its objects: {objects} in all)")
        (dots,) = [c for c in ax.collections if c.get_offsets().shape[1:] == (2,)  # type: ignore[attr-defined]
                   and not isinstance(c, PolyCollection)]
        offsets = np.asarray(dots.get_offsets())  # type: ignore[attr-defined]
        means = videos.objects.groupby("job_id")["bbox_h"].mean()
        distance = videos.jobs.set_index("job_id")["camera_distance"]
        expected = np.array(sorted(zip(distance[means.index], means, strict=True)))
        np.testing.assert_allclose(np.array(sorted(map(tuple, offsets.tolist()))), expected)
        fit = ax.lines[0]
        heights = fit.get_ydata()
        assert heights[0] > heights[-1]  # farther camera, smaller boxes
        slope, intercept = np.polyfit(expected[:, 0], expected[:, 1], 1)  # least squares over the job means
        np.testing.assert_allclose(heights, intercept + slope * np.asarray(fit.get_xdata()), rtol=1e-6)
        (band,) = with_gid(ax, "interval")
        band_ys = band.get_paths()[0].vertices[:, 1]  # type: ignore[attr-defined]
        assert band_ys.min() <= heights.min() and band_ys.max() >= heights.max()

    def test_a_grid_draws_intervals_across_jobs_with_their_n(self, grid: inf.Results) -> None:
        fig = grid.plot("camera_distance", "bbox_h")
        ax = fig.axes[0]
        per_job = grid.objects.groupby("job_id").agg(x=("camera_distance", "first"), y=("bbox_h", "mean"))
        counts = per_job.groupby("x").size()
        assert list(counts) == [2, 2] and len(grid.objects) > 4 * 5
        assert [t.get_text() for t in ax.get_xticklabels()] == [f"{v:g}\nn={n}" for v, n in counts.items()]
        assert fig.get_suptitle().startswith("mean of the job means, 95% CI across jobs: 4 jobs")
        line = ax.lines[0]
        assert list(line.get_xdata()) == list(counts.index)
        np.testing.assert_allclose(line.get_ydata(), per_job.groupby("x")["y"].mean())
        (band,) = with_gid(ax, "interval")
        vertices = band.get_paths()[0].vertices  # type: ignore[attr-defined]
        for x, at in per_job.groupby("x"):
            ys = vertices[np.isclose(vertices[:, 0], x), 1]
            # the band is the bootstrap over the job means; over the objects it would be another
            assert (ys.min(), ys.max()) == pytest.approx(job_interval(at["y"]))
            objects = grid.objects[grid.objects["camera_distance"] == x]["bbox_h"]
            assert (ys.min(), ys.max()) != pytest.approx(job_interval(objects))
            # a bootstrap over two job means stays between them
            assert ys.min() >= at["y"].min() - 1e-9 and ys.max() <= at["y"].max() + 1e-9
            assert ys.max() - ys.min() > 0

    def test_one_row_per_value_draws_a_regression_with_its_band(self, previews: inf.Results) -> None:
        fig = previews.plot("lighting_power", "mean_image_brightness", level="frames")
        (ax,) = fig.axes
        assert ax.get_title() == "mean_image_brightness by lighting_power"
        assert fig.get_suptitle().endswith("6 jobs (each the mean of its frames: 6 in all)")
        dots = [c for c in ax.collections if c.get_offsets().shape == (6, 2)]  # type: ignore[attr-defined]
        assert len(dots) == 1
        fit = ax.lines[0]
        assert fit.get_ydata()[-1] > fit.get_ydata()[0]  # more light, brighter frames
        assert any(isinstance(c, PolyCollection) for c in ax.collections)

    def test_a_numeric_hue_is_labelled_in_rounded_numbers(self, videos: inf.Results, previews: inf.Results) -> None:
        fig = videos.plot("camera_distance", "bbox_h", hue="lighting_power")
        legend = fig.axes[0].get_legend()
        assert legend is not None and legend.get_title().get_text() == "lighting_power"
        assert [t.get_text() for t in legend.get_texts()] == ["100", "800", "1500"]
        jittered = previews.jobs.assign(lighting_power=previews.jobs["lighting_power"] + 1 / 3)
        fig = inf.Results({**{n: getattr(previews, n) for n in ("frames", "objects", "keypoints")},
                           "jobs": jittered}).plot("job_id", "num_frames", hue="lighting_power", level="jobs")
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]  # type: ignore[union-attr]
        powers = sorted(jittered["lighting_power"])
        assert len(labels) == 6 and all(len(label) <= 5 for label in labels)
        assert [float(label) for label in labels] == pytest.approx(powers, rel=5e-3)

    def test_many_numeric_hue_values_are_cut_into_rounded_quartiles(self, real: inf.Results) -> None:
        fig = real.plot("time_s", "mean_image_brightness", hue="time_s", level="frames")
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]  # type: ignore[union-attr]
        assert len(labels) == 4 and all("–" in label and "e+" not in label for label in labels)
        digits = [part.replace(".", "").lstrip("0") for label in labels for part in label.split("–")]
        assert all(len(d) <= 3 for d in digits), labels  # three significant digits at most

    def test_hue_by_job_draws_no_interval_for_a_single_job(self, real: inf.Results) -> None:
        fig = real.plot("time_s", "mean_image_brightness", hue="job_id", level="frames")
        ax = fig.axes[0]
        assert ax.get_title() == "mean_image_brightness by time_s and job_id"
        assert len(ax.get_legend().get_texts()) == 2  # type: ignore[union-attr]

    def test_a_categorical_x_is_drawn_as_categories_without_a_line(self, grid: inf.Results) -> None:
        ax = grid.plot("scene", "bbox_h").axes[0]
        scenes = grid.jobs["scene"].astype(str).value_counts()
        order = sorted(scenes.index)
        assert [t.get_text() for t in ax.get_xticklabels()] == [f"{s}\nn={scenes[s]}" for s in order]
        assert list(ax.get_xticks()) == list(range(len(scenes)))
        means = grid.objects.groupby("job_id", observed=True).agg(scene=("scene", "first"), y=("bbox_h", "mean"))
        (points,) = [line for line in ax.lines if line.get_marker() == "o"]
        assert points.get_linestyle() == "None"  # categories are never joined by a line
        np.testing.assert_allclose(points.get_ydata(), [means[means["scene"] == s]["y"].mean() for s in order])
        bars = [line for line in ax.lines if line is not points]
        for position, line in enumerate(bars):  # a vertical interval (with its caps) per category with 2+ jobs
            xs, ys = np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)
            assert np.nanmin(xs) > position - 0.5 and np.nanmax(xs) < position + 0.5
            at = means[means["scene"] == order[position]]["y"]
            if len(at) > 1:
                assert (np.nanmin(ys), np.nanmax(ys)) == pytest.approx(job_interval(at))
            else:  # a category held by one job has no interval
                assert np.isnan(ys).all()
        assert len(bars) == len(scenes)

    def test_the_real_fixture(self, real: inf.Results) -> None:
        fig = real.plot("camera_distance", "bbox_h", level="objects")
        assert fig.get_suptitle().endswith(f"{len(real.jobs)} jobs (each the mean of its objects: 136 in all)")

    def test_polars_results(self, videos: inf.Results) -> None:
        fig = videos.to_backend("polars").plot("camera_distance", "bbox_w", level="objects")
        assert fig.axes[0].get_ylabel() == "bbox_w (mean per job)"

    def test_unknown_columns_and_levels_are_named(self, videos: inf.Results) -> None:
        with pytest.raises(inf.InfinityError, match=r"res.frames has no column 'bbox_h'.*camera_distance"):
            videos.plot("camera_distance", "bbox_h", level="frames")
        with pytest.raises(inf.InfinityError, match="level must be"):
            videos.plot("camera_distance", "bbox_h", level="pixels")  # type: ignore[arg-type]
        with pytest.raises(inf.InfinityError, match="not numeric"):
            videos.plot("camera_distance", "scene")


class TestFrames:
    def test_video_frames_with_boxes_skeletons_and_masks(self, videos: inf.Results) -> None:
        fig = videos.show(n=6)
        panels = drawn(fig)
        assert len(panels) == 6
        assert fig.get_suptitle() == f"6 of {len(videos.frames)} frames from 3 job(s): boxes, keypoints, masks"
        prefixes = {ax.get_title().split(" · ")[0] for ax in panels}
        assert prefixes == {j[:8] for j in videos.jobs["job_id"]}  # spread over every job
        for ax in panels:
            image = ax.images[0].get_array()
            assert image.shape == (128, 128, 3) and float(np.std(image)) > 5  # decoded from the video
            assert len(with_gid(ax, "box")) == 1
            (skeleton,) = with_gid(ax, "skeleton")
            assert isinstance(skeleton, LineCollection) and 10 <= len(skeleton.get_segments()) <= len(COCO_SKELETON)
            masks = with_gid(ax, "mask")
            assert masks and all(isinstance(m, Polygon) for m in masks)
        box_h = {ax.get_title()[:8]: with_gid(ax, "box")[0].get_height() for ax in panels}  # type: ignore[attr-defined]
        distance = videos.jobs.set_index(videos.jobs["job_id"].astype(str).str[:8])["camera_distance"]
        assert box_h[distance.idxmin()] > box_h[distance.idxmax()]  # the boxes drawn are the job's own

    def test_a_jobs_frames_show_its_motion_not_its_first_and_last_frame(self, videos: inf.Results) -> None:
        panels = drawn(videos.show(n=6))  # two frames of each of three jobs
        points = videos.keypoints[videos.keypoints["v"] > 0]
        for job_id, part in videos.frames.groupby("job_id"):
            shown = sorted(int(ax.get_title().rsplit(" ", 1)[1]) for ax in panels
                           if ax.get_title().startswith(str(job_id)[:8]))
            last = int(part["frame"].max())
            assert len(shown) == 2 and shown != [0, last]
            pose = points[points["job_id"] == job_id].pivot_table(index="frame", columns="keypoint", values="y")
            def apart(a: int, b: int, pose: pd.DataFrame = pose) -> float:
                return float(np.nansum((pose.loc[a] - pose.loc[b]) ** 2))
            # the pair shown differs more than the first and last frames do, and as much as any pair with frame 0
            assert apart(*shown) > apart(0, last)
            assert apart(*shown) == pytest.approx(max(apart(0, f) for f in pose.index))

    def test_marked_jobs_are_outlined_and_titled(self, previews: inf.Results) -> None:
        chosen = list(previews.jobs["job_id"].astype(str)[:2])
        fig = previews.show(mark=chosen, mark_label="video")
        panels = drawn(fig)
        marked = [ax for ax in panels if with_gid(ax, "marked")]
        assert sorted(ax.get_title()[:8] for ax in marked) == sorted(j[:8] for j in chosen)
        assert all(ax.get_title().endswith("· frame 0 · video") for ax in marked)
        assert not any(ax.get_title().endswith("video") for ax in panels if ax not in marked)
        assert fig.get_suptitle().endswith("; outlined: video (2)")

    def test_previews_are_read_from_their_images(self, previews: inf.Results) -> None:
        fig = previews.show()  # n=16, but only six frames exist
        panels = drawn(fig)
        assert len(panels) == 6 and all(t.endswith("· frame 0") for t in (ax.get_title() for ax in panels))
        assert len(fig.axes) == 6  # three columns, two rows
        assert all(ax.images[0].get_array().shape == (128, 128, 3) for ax in panels)
        assert render(fig)[..., :3].std() > 10

    def test_results_read_through_a_relative_path_find_their_images(self, previews: inf.Results,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
        assert previews.path is not None
        monkeypatch.chdir(previews.path.parent)
        relative = inf.read_results(previews.path.name, cache=False)
        assert not Path(str(relative.frames["image_path"].iloc[0])).is_absolute()
        for ax in drawn(relative.show(n=2)):
            assert ax.images[0].get_array().shape == (128, 128, 3) and not ax.texts

    def test_the_real_fixture_frames_from_its_videos(self, real: inf.Results) -> None:
        fig = real.show(n=16)
        panels = drawn(fig)
        assert len(panels) == 16
        frames = [int(ax.get_title().rsplit(" ", 1)[1]) for ax in panels]
        assert frames[:8] == sorted(frames[:8]) and frames[0] == 0  # evenly through each job
        for ax in panels:
            assert ax.images[0].get_array().shape == (256, 256, 3)
            assert with_gid(ax, "box") and with_gid(ax, "skeleton")
            assert with_gid(ax, "mask")  # polygons parsed from the labels' segmentation strings

    def test_missing_images_still_show_the_labels(self, videos: inf.Results) -> None:
        tables = {name: getattr(videos, name) for name in ("jobs", "frames", "objects", "keypoints")}
        tables["jobs"] = tables["jobs"].assign(path="/nonexistent")
        fig = inf.Results(tables).show(n=2)
        for ax in drawn(fig):
            assert any(t.get_text() == "image not found" for t in ax.texts)
            assert with_gid(ax, "box") and with_gid(ax, "skeleton") and not with_gid(ax, "mask")

    def test_polars_results_and_bad_n(self, videos: inf.Results) -> None:
        assert len(drawn(videos.to_backend("polars").show(n=2))) == 2
        with pytest.raises(inf.InfinityError, match="at least 1"):
            videos.show(n=0)



class TestFramesSheet:
    """``plots.frames_sheet``: the frames of ``res.show()`` drawn onto their own pixels, as one image."""

    @staticmethod
    def panels(res: inf.Results, n: int, columns: int) -> list[tuple[str, int, int, int]]:
        """(job id, frame, top, left) of each panel, in the order the sheet lays them out."""
        from infinityframe._frame_images import spread_frames

        chosen = spread_frames(res.frames, n, res.keypoints)
        width = 128 * 2 + 8  # 128-pixel frames are shown at twice their size, 8 pixels apart
        height = 128 * 2 + 18 + 8  # and an 18-pixel title above each
        return [(str(j), int(f), 28 + (i // columns) * height + 18, 8 + (i % columns) * width)
                for i, (j, f) in enumerate(zip(chosen["job_id"], chosen["frame"], strict=True))]

    def test_the_frames_of_show_with_their_boxes_skeletons_and_masks(self, videos: inf.Results) -> None:
        from infinityframe.plots import frames_sheet

        sheet = np.asarray(frames_sheet(videos, n=6))
        assert sheet.shape == (28 + 2 * (256 + 26), 8 + 3 * (256 + 8), 3)  # three columns, two rows
        assert [ax.get_title().split(" · ")[0] + str(int(ax.get_title().rsplit(" ", 1)[1]))
                for ax in drawn(videos.show(n=6))] == [j[:8] + str(f) for j, f, _, _ in self.panels(videos, 6, 3)]
        import cv2

        from infinityframe._frame_images import load_images, load_masks, spread_frames

        chosen = spread_frames(videos.frames, 6, videos.keypoints)
        folders = {str(j): Path(str(p)) for j, p in zip(videos.jobs["job_id"], videos.jobs["path"], strict=True)}
        images, masks = load_images(chosen, folders), load_masks(chosen, folders)
        objects = videos.objects.assign(job_id=videos.objects["job_id"].astype(str))
        for job_id, frame, top, left in self.panels(videos, 6, 3):
            panel = sheet[top:top + 256, left:left + 256].astype(int)
            box = objects[(objects["job_id"] == job_id) & (objects["frame"] == frame)].iloc[0]
            x, y, w, h = (2 * box[c] for c in ("bbox_x", "bbox_y", "bbox_w", "bbox_h"))
            # the box is drawn in its yellow: most of its top edge (the skeleton may cross it)
            yellow = abs(panel - (255, 210, 63)).max(axis=2) < 60
            yellow = cv2.dilate(yellow.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # and its antialiasing
            top_edge = yellow[max(0, round(y) - 1):round(y) + 2, int(x) + 2:int(x + w) - 2].any(axis=0)
            assert top_edge.mean() > 0.6, top_edge.mean()
            # the skeleton's pink is drawn inside the box, and nowhere far outside it
            pink = (abs(panel - (255, 93, 143)).max(axis=2) < 40)
            rows, cols = np.nonzero(pink)
            pink = cv2.dilate(pink.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            assert len(rows) > 30
            assert rows.min() >= y - 8 and rows.max() <= y + h + 8 and cols.min() >= x - 8 and cols.max() <= x + w + 8
            # the frame's own pixels (doubled), its mask blended in blue at 40% and the rest untouched
            image = np.repeat(np.repeat(images[(job_id, frame)].astype(float), 2, axis=0), 2, axis=1)
            inside = np.zeros((256, 256), np.uint8)
            cv2.fillPoly(inside, [np.round(m * 2).astype(np.int32) for m in masks[(job_id, frame)]], 1)
            unmarked = ~(yellow | pink)
            tinted = image * 0.6 + np.array((38, 140, 255)) * 0.4
            assert np.median(abs(panel - tinted)[(inside == 1) & unmarked]) <= 1
            assert np.median(abs(panel - image)[(inside == 0) & unmarked]) == 0

    def test_marked_jobs_are_outlined(self, previews: inf.Results) -> None:
        from infinityframe.plots import frames_sheet

        chosen = list(previews.jobs["job_id"].astype(str)[:2])
        sheet = np.asarray(frames_sheet(previews, mark=chosen, mark_label="video"))
        for job_id, _, top, left in self.panels(previews, 16, 3):
            border = sheet[top - 2, left + 100]  # just above the panel
            assert (tuple(border) == (232, 89, 12)) == (job_id in chosen)

    def test_a_missing_image_is_a_grey_panel_and_bad_n_is_refused(self, videos: inf.Results) -> None:
        from infinityframe.plots import frames_sheet

        tables = {name: getattr(videos, name) for name in ("jobs", "frames", "objects", "keypoints")}
        tables["jobs"] = tables["jobs"].assign(path="/nonexistent")
        sheet = np.asarray(frames_sheet(inf.Results(tables), n=1))
        corner = sheet[28 + 18:28 + 18 + 20, 8:8 + 20]
        assert (corner == 204).all()  # grey where the image would be
        assert np.asarray(frames_sheet(videos.to_backend("polars"), n=2)).shape[1] == 8 + 2 * 264
        with pytest.raises(inf.InfinityError, match="at least 1"):
            frames_sheet(videos, n=0)

    def test_it_loads_no_matplotlib(self, tmp_path: Path) -> None:
        if not (FIXTURE / "batch_id.txt").is_file():
            pytest.skip(f"the real Infinity v0.4.0 fixture is not at {FIXTURE}")
        code = f"""
import sys, infinityframe as inf
from infinityframe.plots import frames_sheet
sheet = frames_sheet(inf.read_results({str(FIXTURE)!r}, cache=False), n=4)
sheet.save({str(tmp_path / "s.png")!r})
print(sheet.size, sorted(m for m in ("matplotlib", "seaborn") if m in sys.modules))
"""
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "(536, 592) []"  # 256-pixel frames at their size, two by two
        assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_rle_masks_decode_as_pycocotools_encodes() -> None:
    mask_utils = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(0)
    mask = np.zeros((37, 53), dtype=np.uint8, order="F")
    mask[5:30, 10:40] = 1
    mask[rng.random(mask.shape) < 0.05] ^= 1
    rle = mask_utils.encode(mask)
    runs = rle_counts(rle["counts"])
    assert sum(runs) == mask.size and all(r >= 0 for r in runs)
    decoded = rle_mask({"size": rle["size"], "counts": rle["counts"].decode()})
    np.testing.assert_array_equal(decoded, mask.astype(bool))
    runs = rle_mask({"size": [2, 3], "counts": [1, 2, 3]})  # uncompressed: down the columns
    np.testing.assert_array_equal(runs, [[False, True, False], [True, False, False]])


def test_importing_the_package_loads_no_plotting_library() -> None:
    code = "import sys, infinityframe; print(sorted(m for m in ('matplotlib', 'seaborn', 'cv2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_figures_save_as_png(videos: inf.Results, tmp_path: Path) -> None:
    path = tmp_path / "frames.png"
    videos.show(n=1).savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_only_seaborns_own_plots_load_seaborn(tmp_path: Path) -> None:
    """Showing frames and drawing a regression cost only matplotlib; seaborn (with
    pyplot and scipy) is loaded by the first figure seaborn draws, a categorical x's pointplot."""
    code = f"""
import sys, infinityframe as inf
heavy = ("seaborn", "matplotlib.pyplot", "scipy")
res = inf.read_results({str(FIXTURE)!r}, cache=False)
res.show(n=4).savefig({str(tmp_path / "c.png")!r})
print(sorted(m for m in heavy if m in sys.modules))
res.plot("camera_distance", "bbox_h").savefig({str(tmp_path / "a.png")!r})
print(sorted(m for m in heavy if m in sys.modules))
res.plot("scene", "bbox_h", hue="lighting_power").savefig({str(tmp_path / "b.png")!r})
print(sorted(m for m in heavy if m in sys.modules))
"""
    if not (FIXTURE / "batch_id.txt").is_file():
        pytest.skip(f"the real Infinity v0.4.0 fixture is not at {FIXTURE}")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-3:] == ["[]", "[]", "['matplotlib.pyplot', 'scipy', 'seaborn']"]
    assert all((tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG" for name in "abc")


def test_the_figures_style_is_seaborns() -> None:
    """The style written out in plots.py is seaborn's "whitegrid" in its "notebook" context at 0.8
    (but seaborn's own colormap, which needs seaborn imported and which no such figure shows)."""
    import seaborn as sns

    from infinityframe.plots import _FIGURE_STYLE

    theirs = {**sns.axes_style("whitegrid"), **sns.plotting_context("notebook", font_scale=0.8)}
    assert theirs.pop("image.cmap") == "rocket"
    assert _FIGURE_STYLE.keys() == theirs.keys()
    for key, value in theirs.items():
        assert _FIGURE_STYLE[key] == (pytest.approx(value) if isinstance(value, float) else value), key


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=2, max_size=60),
       st.sampled_from([0.0, 1e4]), st.booleans())
@example([(0.0, 1.0), (2e-161, 3.0), (5.0, 2.0)], 0.0, False)  # 0 and 2e-161: one x value to pinv
@example([(2.0, 0.0), (414.5, 0.0), (1.5, 1.0)], 0.0, False)  # 414.5 drawn 3 times: no slope
@example([(0.0, 0.0), (2.0, 0.0), (305.0, 0.0), (0.561, 0.0), (0.561, 1.0)], 0.0, False)
@example([(0.0, 0.0), (3.0, 0.0), (5.960464477539063e-08, 207.0)], 0.0, False)  # a steep slope
@example([(0.0, 0.0), (1.0, 0.0), (1.4388019914697797e-13, 1.0)], 0.0, False)  # ill-conditioned
def test_a_regression_is_drawn_as_seaborns_regplot_draws_it(points: list[tuple[float, float]], offset: float,
                                                           repeat: bool) -> None:
    """Dots, line and band point for point as ``sns.regplot`` draws them with the figures' settings,
    for any jobs: two, repeated x values (resamples with no slope), x far from zero."""
    import seaborn as sns
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from infinityframe.plots import _regression, figure_style

    data = np.array(points * (2 if repeat else 1))
    x, y = data[:, 0] + offset, data[:, 1]
    axes = []
    for draw in ("ours", "seaborn's"):
        fig = Figure()
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        with figure_style():
            if draw == "ours":
                _regression(ax, x, y, "C0", "jobs")
            else:
                sns.regplot(x=x, y=y, ax=ax, ci=95, n_boot=_N_BOOT, seed=_SEED, color="C0", label="jobs",
                            fit_reg=len(np.unique(x)) > 1, truncate=True,
                            scatter_kws={"s": 14, "alpha": 0.6, "zorder": 3}, line_kws={"lw": 2})
        axes.append(ax)
    ours, theirs = axes
    assert len(ours.collections) == len(theirs.collections) and len(ours.lines) == len(theirs.lines)
    for a, b in zip(ours.collections, theirs.collections, strict=True):
        assert type(a) is type(b) and a.get_alpha() == b.get_alpha() and a.get_label() == b.get_label()
        np.testing.assert_array_equal(a.get_facecolor(), b.get_facecolor())
        np.testing.assert_array_equal(a.get_sizes(), b.get_sizes())
        if isinstance(a, PolyCollection):  # the band: the same percentiles of the same resamples
            scale = np.abs(y).max() + 1.0
            np.testing.assert_allclose(a.get_paths()[0].vertices, b.get_paths()[0].vertices, rtol=1e-7,
                                       atol=1e-9 * scale)
        else:
            np.testing.assert_array_equal(a.get_offsets(), b.get_offsets())  # type: ignore[attr-defined]
    for a, b in zip(ours.lines, theirs.lines, strict=True):
        assert (a.get_color(), a.get_linewidth()) == (b.get_color(), b.get_linewidth())
        np.testing.assert_allclose(a.get_xydata(), b.get_xydata(), rtol=1e-9, atol=1e-9 * (np.abs(y).max() + 1))


def test_seaborns_style_stays_inside_the_figures(videos: inf.Results) -> None:
    import matplotlib

    before = dict(matplotlib.rcParams)
    fig = videos.plot("camera_distance", "bbox_h")
    assert dict(matplotlib.rcParams) == before  # the user's settings are as they were
    ax = fig.axes[0]
    assert ax.xaxis.get_gridlines()[0].get_visible() and ax.get_facecolor()[:3] == (1.0, 1.0, 1.0)  # whitegrid


def test_png_bytes_draws_once_the_same_pixels_as_savefig(videos: inf.Results) -> None:
    import io

    import cv2

    from infinityframe.plots import png_bytes

    fig = videos.plot("camera_distance", "bbox_h")
    ours = png_bytes(fig, dpi=80)
    assert ours[:8] == b"\x89PNG\r\n\x1a\n" and ours[25] == 2  # colour type 2: RGB, the alpha dropped
    saved = io.BytesIO()
    fig.savefig(saved, format="png", dpi=80)
    decode = lambda data: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # noqa: E731
    np.testing.assert_array_equal(decode(ours), decode(saved.getvalue()))
    see_through = Figure(figsize=(1, 1))
    see_through.patch.set_alpha(0.0)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(see_through)
    assert png_bytes(see_through)[25] == 6  # RGBA kept where something is transparent
