"""Waiting: polling backs off while nothing changes; timeouts leave the batch running."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import infinityframe as inf
from _faultproxy import FaultProxy
from _service import start_service


def test_stuck_batch_backs_off_then_times_out(tmp_path: Path) -> None:
    svc = start_service(tmp_path, "--workers", "1", "--rate-limit", "0")
    try:
        with FaultProxy(svc.url, rate=0.0) as proxy:
            sesh = inf.Session(svc.token, "stickfit-v0.1.0", server=proxy.url)
            # one long job occupies the only worker, so the next batch cannot move
            sesh.submit([{"num_reps": 20, "frame_rate": 30, "image_width": 512, "image_height": 512}],
                        name="blocker")
            stuck = sesh.submit([{"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}],
                                name="stuck")
            before = proxy.stats["requests"]
            started = time.monotonic()
            with pytest.raises(inf.WaitTimeoutError, match="1 of 1 job") as info:
                stuck.wait(timeout=3, poll=0.1, progress=False)
            elapsed = time.monotonic() - started
            polls = proxy.stats["requests"] - before
            assert stuck.remaining() == 1, "the batch keeps running after the timeout"
        assert 2.5 <= elapsed <= 4.5
        assert info.value.remaining == 1 and info.value.batch_id == stuck.id
        assert isinstance(info.value, TimeoutError)
        # a fixed 0.1 s poll would make ~30 requests in 3 s; backing off ×1.5 makes about 10
        assert 5 <= polls <= 14, polls
    finally:
        svc.kill()


def test_rides_out_the_services_rate_limit(tmp_path: Path) -> None:
    svc = start_service(tmp_path, "--workers", "1", "--rate-limit", "3", "--burst", "2")
    try:
        sesh = inf.Session(svc.token, "shapes-v0.1.0", server=svc.url)
        batch = sesh.submit([{"num_images": 1, "image_width": 64}], name="limited")
        statuses = [batch.status() for _ in range(8)]  # far past 3 requests/s: 429s, retried after Retry-After
        assert all(len(s) == 1 for s in statuses)
    finally:
        svc.stop()
