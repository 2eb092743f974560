"""The whole client flow through a network that fails 30% of the time."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import infinityframe as inf
from _faultproxy import FaultProxy
from _service import RunningService
from infinityframe.client._http import RetryPolicy

SHAPES = "shapes-v0.1.0"


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("seed", [1, 2])
def test_submit_wait_download_through_faults(service: RunningService, tmp_path: Path, seed: int) -> None:
    owner = service.add_account(f"faulty-{seed}", 10_000)
    with FaultProxy(service.url, rate=0.3, seed=seed) as proxy:
        sesh = inf.Session(owner, SHAPES, server=proxy.url, timeout=(5, 30),
                           retry=RetryPolicy(attempts=12, backoff=0.02, max_backoff=0.2))
        jobs = [{"num_images": 1, "image_width": 64, "image_height": 64, "num_objects": 1 + i % 20}
                for i in range(50)]
        batch = sesh.submit(jobs, name=f"through faults {seed}")
        status = batch.wait(poll=0.1, progress=False)
        folder = batch.download(tmp_path / "dl", progress=False)
        injected = sum(proxy.stats[f] for f in ("429", "503", "502", "cut", "reset_before", "reset_after"))
    assert injected >= 5, proxy.stats

    # exactly one batch on the server, with every job finished once
    direct = inf.Session(owner, SHAPES, server=service.url)
    listed = direct.batches(days=1)
    assert list(listed["batch_id"]) == [batch.id]
    assert (status["status"] == "succeeded").all() and len(status) == 50
    account = service.get("account/", token=owner).json()
    assert account["charged"] == 50 and account["reserved"] == 0

    # every job folder is whole
    for job_id in batch.job_ids:
        with zipfile.ZipFile(service.data_dir / "results" / f"{job_id}.zip") as zf:
            expected = {n.split("/", 1)[1] for n in zf.namelist() if not n.endswith("/")}
        assert files_of(folder / job_id) == expected


def test_lost_batch_post_response_is_retried_into_the_same_batch(service: RunningService) -> None:
    owner = service.add_account("lost-post", 1000)
    with FaultProxy(service.url, rate=0.6, seed=3, faults=("reset_after", "cut"), only_paths=r"^/api/batch/$") as proxy:
        sesh = inf.Session(owner, SHAPES, server=proxy.url, retry=RetryPolicy(attempts=12, backoff=0.01))
        batch = sesh.submit([{"num_images": 1, "image_width": 64}] * 3, name="lost post")
    # responses lost after the service had created the batch: the client never heard, and retried
    assert proxy.stats["reset_after"] + proxy.stats["cut"] >= 2, proxy.stats
    listed = inf.Session(owner, SHAPES, server=service.url).batches(days=1)
    assert list(listed["batch_id"]) == [batch.id]
    account = service.get("account/", token=owner).json()
    assert account["reserved"] + account["charged"] == 3, "one batch's worth, not two"


def test_post_without_idempotency_key_is_not_retried(service: RunningService) -> None:
    with FaultProxy(service.url, rate=1.0, faults=("reset_after",), only_paths=r"^/api/batch/$") as proxy:
        sesh = inf.Session(service.token, SHAPES, server=proxy.url,
                           retry=RetryPolicy(attempts=5, backoff=0.01))
        with pytest.raises(inf.ServiceError, match="not retried"):
            sesh._transport.request("POST", "api/batch/", json={"name": "x", "job_runs": [
                {"name": SHAPES, "param_values": {}}]})
    assert proxy.stats["reset_after"] == 1


def test_rate_limit_exhausted(service: RunningService) -> None:
    with FaultProxy(service.url, rate=1.0, faults=("429",), retry_after="0", only_paths=r"/summary/") as proxy:
        sesh = inf.Session(service.token, SHAPES, server=proxy.url,
                           retry=RetryPolicy(attempts=3, backoff=0.01))
        batch = sesh.submit([{"num_images": 1, "image_width": 64}], name="limited", mode="force")
        with pytest.raises(inf.RateLimitError, match="rate limited after 3 attempts") as info:
            batch.status()
    assert info.value.retry_after == 0
    assert proxy.stats["429"] == 3
