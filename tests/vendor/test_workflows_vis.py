"""The workflows' ``vis``, ``videos`` and ``images`` helpers, unchanged, on our output and on the real fixture.

Each helper runs on a job folder of ``visionfit-v0.4.0`` (rendered by the local generator, as a
download holds it) and on a writable copy of the real v0.4.0 sample; what they write is read
back (frame counts, sizes), so a helper that ran but produced nothing fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import imageio_ffmpeg
import matplotlib
import numpy as np
import pytest

from infinityframe.local.generators import get
from infinityframe.local.generators.base import validate_job

matplotlib.use("Agg")
# vis.py saves matplotlib animations with ffmpeg; a user has it on PATH, here it is imageio's build.
matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()

FIXTURE = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "infinity-v0.4.0"
PARAMS = {"num_reps": 2, "frame_rate": 6, "image_width": 128, "image_height": 128, "exercise": "UPPERCUT-LEFT"}


def frames_of(video: str | Path) -> tuple[int, int, int]:
    """(frames, height, width) of a video file, read back with OpenCV."""
    cap = cv2.VideoCapture(str(video))
    count = 0
    while cap.read()[0]:
        count += 1
    size = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    cap.release()
    return count, *size


@pytest.fixture(scope="module", params=["ours", "fixture"])
def batch(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"batch-{request.param}")
    if request.param == "fixture":
        if not FIXTURE.is_dir():
            pytest.skip(f"the real v0.4.0 fixture is not at {FIXTURE}")
        for job in sorted(p for p in FIXTURE.iterdir() if p.is_dir())[:1]:
            shutil.copytree(job, folder / job.name)
    else:
        gen = get("visionfit-v0.4.0")
        assert gen is not None
        params, errors = validate_job(gen, 0, PARAMS)
        assert params is not None, errors
        job = folder / "5c1d7a0e-3a52-4d8e-9c7e-1f0b2a6d4e90"
        job.mkdir()
        gen.render(params, False, job, np.random.default_rng(2))
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return folder


def job_of(batch: Path) -> Path:
    return next(p for p in batch.iterdir() if (p / "labels.json").is_file())


def test_visualize_all_labels(batch: Path) -> None:
    from visionfit.utils import vis

    job = job_of(batch)
    frames = frames_of(job / "video.mp4")[0]
    grid = vis.visualize_all_labels(str(job))
    count, height, width = frames_of(grid)
    assert count >= frames - 1 and width > height > 0  # the 2x3 label grid beside the rep-count plot
    for name in ("bounding_box", "skeleton", "cuboids", "3D_keypoints", "segmentation"):
        assert frames_of(job / "output" / f"{name}.mp4")[0] >= frames - 1, name


def test_keypoint_connections_video(batch: Path, tmp_path: Path) -> None:
    from pycocotools.coco import COCO
    from visionfit.utils import vis
    from visionfit.utils.videos import parse_video_frames

    job = job_of(batch)
    imgs = parse_video_frames(str(job / "video.mp4"))
    out = vis.create_keypoint_connections_video(str(tmp_path / "skeleton.mp4"), imgs, 6, COCO(str(job / "labels.json")))
    assert frames_of(out)[0] == len(imgs)
    # The armature is drawn onto the frames: they differ from the plain video.
    drawn = parse_video_frames(out)
    assert np.abs(drawn.astype(int) - imgs.astype(int)).mean() > 1.0


def test_batch_summary_and_previews(batch: Path) -> None:
    from visionfit.utils import images, vis

    summary = vis.summarize_batch_results_as_dataframe(str(batch))
    assert len(summary) == 1 and 0 <= float(summary["avg_percent_in_fov"].iloc[0]) <= 100
    assert summary["num_frames"].iloc[0] == frames_of(job_of(batch) / "video.mp4")[0]
    previews = images.get_all_preview_images(str(job_of(batch)))
    assert [Path(p).name for p in previews] == ["video_preview.png"]
    images.view_previews([str(job_of(batch))])


def test_grid_of_videos(batch: Path) -> None:
    from visionfit.utils import videos

    video = job_of(batch) / "video.mp4"
    frames, height, width = frames_of(video)
    grid = videos.create_grid_of_videos([str(video)] * 4, num_per_row=2)
    assert frames_of(grid) == (frames, 2 * height, 2 * width)
