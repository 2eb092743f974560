"""The local service on a real dask.distributed cluster (worker processes on loopback).

One LocalCluster serves the whole module: two worker processes of one thread each, behind
nannies that restart a worker killed with SIGKILL.
"""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import infinityframe as inf

distributed = pytest.importorskip("distributed", reason="the dask:// executor tests need dask.distributed "
                                                        "(pip install -e '.[dev]')")

import dask  # noqa: E402  (after the skip: dask comes with distributed)

PREFIX = "infinityframe-"
SLOW_SHAPES = {"num_images": 10, "num_objects": 6, "image_width": 384, "image_height": 384}  # ~0.5 s a job


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client


@pytest.fixture
def dask_url(cluster: Any, client: Any) -> Iterator[str]:
    client.wait_for_workers(2, timeout=60)  # a worker killed by an earlier test is back
    yield cluster.scheduler_address.replace("tcp://", "dask://")
    cluster.scheduler.allowed_failures = dask.config.get("distributed.scheduler.allowed-failures")


class Api:
    def __init__(self, service: inf.Service) -> None:
        self.service = service
        self.headers = {"Authorization": f"Token {service.token}"}

    def get(self, path: str) -> Any:
        answer = requests.get(f"{self.service.url}/api/{path}", headers=self.headers, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def submit(self, jobs: list[dict[str, Any]], generator: str = "shapes-v0.1.0") -> str:
        body = {"name": "dask", "job_runs": [{"name": generator, "param_values": p} for p in jobs]}
        answer = requests.post(f"{self.service.url}/api/batch/", json=body, headers=self.headers, timeout=60)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def wait(self, batch_id: str, timeout: float = 120) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            runs: list[dict[str, Any]] = self.get(f"batch/{batch_id}/")["job_runs"]
            if all(r["state"] in ("succeeded", "failed", "cancelled") for r in runs):
                return runs
            assert time.monotonic() < deadline, f"batch {batch_id} still running after {timeout} s"
            time.sleep(0.1)

    def labels(self, run: dict[str, Any]) -> bytes:
        data = requests.get(run["result_url"], timeout=30).content
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert zf.testzip() is None
            return zf.read(f"{run['id']}/labels.json")


def kill_a_busy_worker(client: Any, timeout: float = 60) -> None:
    """SIGKILL a worker process that holds one of the service's jobs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [addr for addr, keys in client.processing().items() if any(str(k).startswith(PREFIX) for k in keys)]
        if busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.02)
    raise AssertionError("no worker ever held a job")


def assert_charged_once(data_dir: Path, runs: list[dict[str, Any]], balance_before: int, api: Api) -> None:
    db = sqlite3.connect(data_dir / "service.db")
    try:
        charges = dict(db.execute("SELECT job_id, COUNT(*) FROM ledger WHERE kind = 'charge' GROUP BY job_id"))
        releases = dict(db.execute("SELECT job_id, COUNT(*) FROM ledger WHERE kind = 'release' GROUP BY job_id"))
        attempts = dict(db.execute("SELECT id, attempts FROM jobs"))
    finally:
        db.close()
    ids = {r["id"] for r in runs}
    assert charges == dict.fromkeys(ids, 1), "every job is charged exactly once"
    assert releases == dict.fromkeys(ids, 1), "every job's reservation is released exactly once"
    rendered = sum(int(r["samples"]) for r in runs)
    assert api.get("account/")["balance"] == balance_before - rendered, "the ledger balances"
    assert api.get("account/")["reserved"] == 0
    assert set(attempts) == ids


def test_lost_worker_is_retried_and_charged_once(tmp_path: Path, dask_url: str, client: Any,
                                                  cluster: Any) -> None:
    jobs = 20
    with inf.serve(tmp_path, executor=dask_url, rate_limit=None) as service:
        api = Api(service)
        before = api.get("account/")["balance"]
        batch_id = api.submit([{**SLOW_SHAPES, "lighting_power": 5.0 * i} for i in range(jobs)])
        deadline = time.monotonic() + 60
        while sum(r["state"] == "succeeded" for r in api.get(f"batch/{batch_id}/summary/")["job_runs"]) < 2:
            assert time.monotonic() < deadline, "the batch never got going"
            time.sleep(0.05)
        kill_a_busy_worker(client)
        runs = api.wait(batch_id)

        assert [r["state"] for r in runs] == ["succeeded"] * jobs
        assert [r["samples"] for r in runs] == [SLOW_SHAPES["num_images"]] * jobs
        # the kill landed mid-batch: Dask ran some job's task a second time on the surviving worker
        keys = [f"{PREFIX}{r['id']}-1" for r in runs]
        started = Counter(t[0] for t in cluster.scheduler.story(*keys) if t[2] == "processing")
        assert set(started) == set(keys) and max(started.values()) >= 2, started
        results = tmp_path / "results"
        assert sorted(p.stem for p in results.glob("*.zip")) == sorted(r["id"] for r in runs)
        assert list(results.glob(".*")) == [], "no temporary file is left behind"
        for run in runs[:3]:
            assert api.labels(run).startswith(b"{")
        assert_charged_once(tmp_path, runs, before, api)


def test_service_requeues_when_dask_gives_up(tmp_path: Path, dask_url: str, client: Any, cluster: Any) -> None:
    # With no retries allowed, Dask answers a lost worker with KilledWorker: the service queues the job again.
    cluster.scheduler.allowed_failures = 0
    jobs = 6
    with inf.serve(tmp_path, executor=dask_url, rate_limit=None) as service:
        api = Api(service)
        before = api.get("account/")["balance"]
        batch_id = api.submit([{**SLOW_SHAPES, "lighting_power": 7.0 * i} for i in range(jobs)])
        kill_a_busy_worker(client)
        runs = api.wait(batch_id)

        assert [r["state"] for r in runs] == ["succeeded"] * jobs
        db = sqlite3.connect(tmp_path / "service.db")
        attempts = [a for (a,) in db.execute("SELECT attempts FROM jobs")]
        db.close()
        assert max(attempts) == 2, "the job on the killed worker ran a second time, as a new attempt"
        assert_charged_once(tmp_path, runs, before, api)


def render_everywhere(tmp_path: Path, executor: str) -> dict[str, bytes]:
    """labels.json of the same jobs (and a re-run through ``state``) on a fresh service."""
    with inf.serve(tmp_path / executor.split(":")[0], executor=executor, workers=2, rate_limit=None) as service:
        api = Api(service)
        shapes = api.wait(api.submit([{"num_images": 3, "num_objects": 5, "image_width": 96,
                                       "image_height": 96, "lighting_power": 40.0}]))
        stickfit = api.wait(api.submit([{"num_reps": 1, "frame_rate": 6, "image_width": 128,
                                         "image_height": 128, "camera_distance": 3.0}], "stickfit-v0.1.0"))
        rerun = api.wait(api.submit([{"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128,
                                      "camera_distance": 3.5, "state": stickfit[0]["id"]}], "stickfit-v0.1.0"))
        runs = {"shapes": shapes[0], "stickfit": stickfit[0], "rerun": rerun[0]}
        assert {name: r["state"] for name, r in runs.items()} == dict.fromkeys(runs, "succeeded")
        return {name: api.labels(run) for name, run in runs.items()}


def test_labels_are_byte_identical_across_executors(tmp_path: Path, dask_url: str) -> None:
    by_process = render_everywhere(tmp_path, "process")
    by_thread = render_everywhere(tmp_path, "thread")
    by_dask = render_everywhere(tmp_path, dask_url)
    for name in by_process:
        assert by_thread[name] == by_process[name], f"{name}: thread and process executors differ"
        assert by_dask[name] == by_process[name], f"{name}: Dask and process executors differ"
    assert by_process["rerun"] != by_process["stickfit"], "the re-run moved the camera"
    assert len(by_process["stickfit"]) > 1000
