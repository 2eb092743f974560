"""The whole workflow (submit → wait → download → read_results) through a network that fails.

A :class:`FaultProxy` sits between the client and a real service and hits 10%, 30% or 50% of the
requests with a delay, a dropped request, a reset before or after the service acted, a body cut
short, or an injected 429/500/502/503. Whatever it does, the service must end with one batch per
submission, every job finished once, a balanced ledger, and every downloaded job folder whole.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
from _reliability import PROFILE, SHAPES, check_batch, report

import infinityframe as inf
from _faultproxy import FaultProxy
from _service import RunningService
from infinityframe.client._http import RetryPolicy

FAULTS = ("delay", "drop", "reset_before", "reset_after", "cut", "429", "500", "502", "503")
INJECTED = ("drop", "reset_before", "reset_after", "cut", "429", "500", "502", "503")


def first_injected(seed: int, rate: float) -> int:
    """How many requests the proxy must see before its first injected failure (its draws are seeded)."""
    rng = random.Random(seed)
    for count in range(1, 100_000):
        if rng.random() < rate and rng.choice(FAULTS) in INJECTED:
            return count
    raise AssertionError("no fault in 100,000 draws")


def job_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"num_images": 1 + pd.RangeIndex(n) % 2, "image_width": 64, "image_height": 64,
                         "num_objects": 1 + pd.RangeIndex(n) % 7})


@pytest.mark.parametrize("seed", PROFILE.fault_seeds)
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_workflow_through_faults(service: RunningService, tmp_path: Path, rate: float, seed: int) -> None:
    account = f"faults-{int(rate * 100)}-{seed}"
    token = service.add_account(account, 100_000)
    n = PROFILE.fault_jobs
    with FaultProxy(service.url, rate=rate, seed=seed, faults=FAULTS, delay=0.05) as proxy:
        sesh = inf.Session(token, SHAPES, server=proxy.url, timeout=(5, 30),
                           retry=RetryPolicy(attempts=30, backoff=0.02, max_backoff=0.2))
        jobs = job_frame(n)
        batch = jobs.infinity.submit(sesh, name=f"through {rate:.0%} faults, seed {seed}")
        again = jobs.infinity.submit(sesh, name=f"through {rate:.0%} faults, seed {seed}")  # the same cell, re-run
        status = batch.wait(poll=0.1, progress=False)
        results = batch.results(tmp_path / "dl")
        while proxy.stats["requests"] < first_injected(seed, rate):  # a short run: keep polling until hit
            assert len(batch.status()) == n
        stats = dict(proxy.stats)
    injected = sum(stats.get(f, 0) for f in INJECTED)
    assert injected >= 1, stats

    assert again.id == batch.id
    assert len(status) == n and (status["status"] == "succeeded").all()
    counts = check_batch(service.data_dir, account, batch.id, num_jobs=n, folder=tmp_path / "dl")
    assert counts["reruns"] == 0, "a job ran twice without any crash"
    assert sorted(results.jobs["job_id"]) == sorted(batch.job_ids)
    assert results.jobs["problem"].isna().all()
    assert (results.jobs["num_images"].to_numpy() >= 1).all()
    report("faults", rate=rate, seed=seed, requests=stats.get("requests", 0), injected=injected,
           faults={f: stats.get(f, 0) for f in FAULTS}, held=True, **counts)
