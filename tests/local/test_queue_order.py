"""Queued previews render ahead of queued videos, on a real service with one render worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _service import RunningService, start_service, wait_for_batch

SHAPES = "shapes-v0.1.0"
# each job long enough that a batch of them is still queued when the previews arrive
VIDEO = {"num_images": 8, "image_width": 512, "image_height": 512, "num_objects": 8, "background": "NOISE"}
VIDEOS, PREVIEWS = 6, 3


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[RunningService]:
    svc = start_service(tmp_path / "data", "--workers", "1", "--rate-limit", "0")
    yield svc
    svc.stop()


def _submit(svc: RunningService, params: list[dict[str, object]], preview: bool) -> str:
    body = {"name": "", "job_runs": [{"name": SHAPES, "is_preview": preview, "param_values": p} for p in params]}
    reply = svc.post("batch/", body)
    assert reply.status_code == 201, reply.text
    batch_id: str = reply.json()["id"]
    return batch_id


def _finished(svc: RunningService, batch_id: str) -> list[str]:
    wait_for_batch(svc, batch_id)
    runs = svc.get(f"batch/{batch_id}/").json()["job_runs"]
    assert {r["state"] for r in runs} == {"succeeded"}
    return [str(r["finished"]) for r in runs]


def test_previews_submitted_after_videos_render_first(one_worker: RunningService) -> None:
    videos = _submit(one_worker, [dict(VIDEO, lighting_power=100.0 + i) for i in range(VIDEOS)], preview=False)
    previews = _submit(one_worker, [dict(VIDEO, lighting_power=500.0 + i) for i in range(PREVIEWS)], preview=True)
    last_preview = max(_finished(one_worker, previews))
    video_ends = _finished(one_worker, videos)
    # The one worker had taken a video (two at most, had the first ended before the previews
    # came); every other video waited for the previews. First in, first out would render all
    # six videos before any preview.
    before = sum(end < last_preview for end in video_ends)
    assert before <= 2, f"{before} of {VIDEOS} videos finished before the last preview"
