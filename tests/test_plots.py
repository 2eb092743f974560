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
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

import infinityframe as inf
from _service import FIXTURES, RunningService
from infinityframe._frame_images import rle_counts, rle_mask
from infinityframe.plots import COCO_SKELETON

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
def real() -> inf.Results:
    if not (FIXTURE / "batch_id.txt").is_file():
        pytest.skip(f"the real Infinity v0.4.0 fixture is not at {FIXTURE}; these tests need ../shared/fixtures")
    return inf.read_results(FIXTURE, cache=False)  # never write a cache into the shared fixture


def drawn(fig: Figure) -> list[Axes]:
    """The panels that show something (a grid's spare axes are switched off and empty)."""
    return [ax for ax in fig.axes if ax.get_title()]


def with_gid(ax: Axes, gid: str) -> list[object]:
    return [a for a in ax.get_children() if a.get_gid() == gid]


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
    def test_few_values_draw_means_with_confidence_bands(self, videos: inf.Results) -> None:
        fig = videos.plot("camera_distance", "bbox_h")
        (ax,) = fig.axes
        assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("camera_distance", "bbox_h",
                                                                      "bbox_h by camera_distance")
        assert fig.get_suptitle() == f"mean and 95% CI over {len(videos.objects)} objects"
        line = ax.lines[0]
        assert list(line.get_xdata()) == [2.0, 3.5, 5.0]
        heights = np.asarray(line.get_ydata())
        assert heights[0] > heights[1] > heights[2]  # farther camera, smaller boxes
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == 1 and bands[0].get_paths()[0].vertices.shape[0] > 6

    def test_one_row_per_value_draws_a_regression_with_its_band(self, previews: inf.Results) -> None:
        fig = previews.plot("lighting_power", "mean_image_brightness", level="frames")
        (ax,) = fig.axes
        assert ax.get_title() == "mean_image_brightness by lighting_power"
        assert fig.get_suptitle() == "linear fit and 95% CI over 6 frames"
        dots = [c for c in ax.collections if c.get_offsets().shape == (6, 2)]  # type: ignore[attr-defined]
        assert len(dots) == 1
        fit = ax.lines[0]
        assert fit.get_ydata()[-1] > fit.get_ydata()[0]  # more light, brighter frames
        assert any(isinstance(c, PolyCollection) for c in ax.collections)

    def test_hue_splits_into_groups_with_a_legend(self, videos: inf.Results, real: inf.Results) -> None:
        fig = videos.plot("camera_distance", "bbox_h", hue="lighting_power")
        legend = fig.axes[0].get_legend()
        assert legend is not None and legend.get_title().get_text() == "lighting_power"
        fig = real.plot("time_s", "mean_image_brightness", hue="job_id", level="frames")
        ax = fig.axes[0]
        assert ax.get_title() == "mean_image_brightness by time_s and job_id"
        assert len(ax.get_legend().get_texts()) == 2  # type: ignore[union-attr]
        assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2

    def test_a_categorical_x_gets_one_point_per_category(self, videos: inf.Results) -> None:
        ax = videos.plot("job_id", "percent_in_fov").axes[0]
        assert len(ax.get_xticklabels()) == 3
        assert len(ax.lines) >= 3  # the means' line and an interval per category

    def test_the_real_fixture(self, real: inf.Results) -> None:
        fig = real.plot("camera_distance", "bbox_h", level="objects")
        ax = fig.axes[0]
        assert sorted(ax.lines[0].get_xdata()) == sorted(real.jobs["camera_distance"])
        assert fig.get_suptitle() == "mean and 95% CI over 136 objects"

    def test_polars_results(self, videos: inf.Results) -> None:
        fig = videos.to_backend("polars").plot("camera_distance", "bbox_w", level="objects")
        assert fig.axes[0].get_ylabel() == "bbox_w"

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
