"""The client against the local service's application in this process, through ASGIAdapter.

No server process and no socket: each request runs ``create_app(...)`` to completion. The
application, its database and its rules are the real ones; only the network is missing (the
end-to-end tests with a real service on loopback are in the other files here).
"""

from __future__ import annotations

import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import infinityframe as inf
from infinityframe.client import ASGIAdapter, Limits, RetryPolicy
from infinityframe.local.server import in_process_app

SHAPES = "shapes-v0.1.0"
SERVER = "http://in-process.test"
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=5)


def session(app: Any, token: str, **kw: Any) -> inf.Session:
    return inf.Session(token, SHAPES, server=SERVER, transport=ASGIAdapter(app), **{"retry": FAST, **kw})


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    with in_process_app(tmp_path / "data") as served:
        yield served


@pytest.fixture
def sesh(service: tuple[Any, str]) -> inf.Session:
    return session(*service)


def jobs(*num_images: int) -> pd.DataFrame:
    return pd.DataFrame({"num_images": list(num_images), "image_width": 64, "image_height": 64})


class TestThroughTheApp:
    def test_metadata_and_errors(self, sesh: inf.Session) -> None:
        assert sesh.metadata["name"] == SHAPES and sesh.token not in repr(sesh)
        bad = jobs(2, 1000, 3)  # num_images is at most 100
        errors = bad.infinity.errors(sesh)
        assert errors["row"].tolist() == [1] and errors["column"].tolist() == ["num_images"]
        assert jobs(2, 3).infinity.errors(sesh).empty

    def test_estimate(self, sesh: inf.Session) -> None:
        assert sesh.estimate(jobs(2, 7, 1)) == [2, 7, 1]
        assert sesh.estimate(jobs(2, 7), preview=True) == [1, 1]

    def test_submit_then_status(self, sesh: inf.Session, service: tuple[Any, str]) -> None:
        batch = sesh.submit(jobs(1, 2), name="in process")
        assert batch.num_jobs == 2 and batch.name == "in process"
        status = batch.status()
        assert sorted(status["job_id"]) == sorted(batch.job_ids)
        assert set(status["status"].astype(str)) == {"queued"}  # no runner: the jobs wait
        # the same frame again is the same batch (idempotent submission, kept by the service)
        assert sesh.submit(jobs(1, 2), name="in process").id == batch.id
        other = session(*service)
        assert other.batches(days=1)["batch_id"].tolist() == [batch.id]

    def test_a_400_body_becomes_a_validation_error(self, sesh: inf.Session) -> None:
        # Past the client's own checks, straight to the service: its 400 body names the job and parameter.
        body = {"name": "", "job_runs": [{"name": SHAPES, "is_preview": False, "param_values": {"num_images": 2}},
                                         {"name": SHAPES, "is_preview": False, "param_values": {"num_images": -4}}]}
        with pytest.raises(inf.ValidationError, match="rejected the jobs") as info:
            sesh.api.estimate(body, idempotency_key=str(uuid.uuid4()))
        assert info.value.errors, "the service's per-job errors are kept"
        assert any("num_images" in str(e) for e in info.value.errors)

    def test_a_404_names_the_batch(self, sesh: inf.Session) -> None:
        missing = str(uuid.uuid4())
        with pytest.raises(inf.BatchNotFoundError, match=missing):
            sesh.batch(missing)

    def test_a_wrong_token_is_an_authentication_error(self, service: tuple[Any, str]) -> None:
        with pytest.raises(inf.AuthenticationError, match="refused the token") as info:
            session(service[0], "0" * 40)
        assert "0" * 40 not in str(info.value)


class TestRateLimit:
    """429 with Retry-After, from the service's own limiter, through the RetryPolicy's urllib3 Retry."""

    @pytest.fixture
    def limited(self, tmp_path: Path) -> Iterator[tuple[Any, str]]:
        with in_process_app(tmp_path / "limited", rate_limit=1.0, burst=2) as served:
            yield served

    def test_429s_are_waited_out_as_retry_after_says(self, limited: tuple[Any, str]) -> None:
        sesh = session(*limited)  # the metadata request spends one token of the burst of 2
        started = time.monotonic()
        answers = [sesh.estimate(jobs(i + 1)) for i in range(3)]
        elapsed = time.monotonic() - started
        assert answers == [[1], [2], [3]]
        assert elapsed >= 1.0, "the 429s were retried without waiting (Retry-After is at least 1 s)"

    def test_without_retries_the_429_is_a_rate_limit_error(self, limited: tuple[Any, str]) -> None:
        sesh = session(*limited, retry=RetryPolicy(attempts=1))
        with pytest.raises(inf.RateLimitError, match="throttled") as info:
            for i in range(4):
                sesh.estimate(jobs(i + 1))
        assert "after 1 attempt:" in str(info.value)
        assert info.value.retry_after is not None and info.value.retry_after >= 1

    def test_a_post_without_idempotency_key_is_not_retried(self, limited: tuple[Any, str]) -> None:
        sesh = session(*limited)
        body = {"name": "", "job_runs": [{"name": SHAPES, "param_values": {"num_images": 1}}]}
        with pytest.raises(inf.RateLimitError, match="after 1 attempt:"):
            for _ in range(4):
                sesh._transport.request("POST", "api/batch/estimate/", json=body)
        time.sleep(1.1)
        for _ in range(4):  # with a key, the same POSTs are retried through their 429s
            assert sesh._transport.request("POST", "api/batch/estimate/", json=body,
                                           idempotency_key=str(uuid.uuid4())) == [1]

    def test_a_wait_past_the_deadline_is_not_started(self, limited: tuple[Any, str]) -> None:
        sesh = session(*limited, limits=Limits(request_seconds=0.5))
        started = time.monotonic()
        with pytest.raises(inf.RateLimitError):
            for i in range(4):
                sesh.estimate(jobs(i + 1))
        assert time.monotonic() - started < 0.5, "slept for a Retry-After the deadline could not afford"


def test_jobs_run_and_download_in_process(tmp_path: Path) -> None:
    with in_process_app(tmp_path / "data", run_jobs=True) as (app, token):
        sesh = session(app, token)
        batch = sesh.submit(jobs(1, 2), name="rendered in process")
        status = batch.wait(poll=0.05, progress=False)
        assert (status["status"].astype(str) == "succeeded").all()
        folder = batch.download(tmp_path / "dl", progress=False)
        for job_id in batch.job_ids:
            with zipfile.ZipFile(tmp_path / "data" / "results" / f"{job_id}.zip") as zf:
                expected = {n.split("/", 1)[1] for n in zf.namelist() if not n.endswith("/")}
            got = {p.relative_to(folder / job_id).as_posix() for p in (folder / job_id).rglob("*") if p.is_file()}
            assert got == expected
