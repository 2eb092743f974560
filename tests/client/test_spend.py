"""Paying only for what you mean: dry runs and spend caps, against the real local service."""

from __future__ import annotations

import uuid

import pandas as pd
import polars as pl
import pytest

import infinityframe as inf
from _service import RunningService
from infinityframe.local.store import Store

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}


def _account(service: RunningService, **kwargs: object) -> inf.Session:
    """A session on an account of its own, so its balance moves only with this test's jobs."""
    store = Store(service.data_dir / "service.db")  # what `infinityframe accounts add` does, without a process
    try:
        token = store.create_account(f"spend-{uuid.uuid4().hex[:8]}", 100_000)
    finally:
        store.close()
    return inf.Session(token, "stickfit-v0.1.0", server=service.url, **kwargs)  # type: ignore[arg-type]


def _balance(sesh: inf.Session) -> int:
    return int(sesh._transport.request("GET", "api/account/")["balance"])


class TestDryRun:
    def test_reports_new_submitted_duplicated_and_invalid_and_charges_nothing(self, service: RunningService) -> None:
        sesh = _account(service)
        earlier = sesh.sample(3, seed=10, **SMALL)
        submitted = earlier.infinity.submit(preview=True, name="earlier")
        submitted.wait(progress=False)
        fresh = sesh.sample(2, seed=11, **SMALL)
        bad = fresh.iloc[[0]].assign(camera_distance=99.0)
        # rows: 0-1 already submitted, 2-3 new, 4 repeats row 2, 5 invalid, 6 repeats row 0
        frame = pd.concat([earlier.iloc[:2], fresh, fresh.iloc[[0]], bad, earlier.iloc[[0]]], ignore_index=True)
        before_balance, before_batches = _balance(sesh), len(sesh.batches())

        dry = frame.infinity.dry_run(sesh, preview=True)

        assert _balance(sesh) == before_balance, "a dry run charges nothing"
        assert len(sesh.batches()) == before_batches, "a dry run creates no batch"
        assert isinstance(dry, pd.DataFrame) and len(dry) == 7
        pd.testing.assert_frame_equal(dry[frame.columns], frame, check_dtype=False)
        assert dry["valid"].tolist() == [True, True, True, True, True, False, True]
        assert "camera_distance" in dry.loc[5, "problem"] and "99" in dry.loc[5, "problem"]
        assert dry["problem"].isna().sum() == 6
        assert dry["already_submitted"].tolist() == [True, True, False, False, False, False, True]
        assert dry.loc[0, "submitted_batch_id"] == submitted.id and dry.loc[0, "submitted_status"] == "succeeded"
        assert dry["submitted_batch_id"].isna().tolist() == [False, False, True, True, True, True, False]
        assert dry["duplicate_of"].tolist() == [pd.NA, pd.NA, pd.NA, pd.NA, 2, pd.NA, 0]
        assert dry["estimated_samples"].tolist() == [1, 1, 1, 1, 1, pd.NA, 1]  # a preview is one sample

        summary = frame.infinity.dry_run_summary(sesh, preview=True)
        assert (summary.new, summary.already_submitted, summary.duplicated, summary.invalid) == (2, 2, 2, 1)
        assert summary.estimated_samples == 6 and summary.new_samples == 2
        assert summary.balance == before_balance
        text = str(summary)
        assert "2 new · 2 already submitted · 2 duplicated · 1 invalid" in text
        assert f"balance {before_balance:,} → {before_balance - 6:,}" in text
        assert "2 new · 2 already submitted" in summary._repr_html_()
        # a plain frame: nothing in it claims to describe frames derived from it
        assert type(dry) is pd.DataFrame and not hasattr(dry, "summary")

    def test_whole_frame_submitted_before_would_reattach(self, service: RunningService) -> None:
        sesh = _account(service)
        jobs = sesh.sample(2, seed=12, **SMALL)
        batch = jobs.infinity.submit(preview=True, name="same again")
        dry = jobs.infinity.dry_run(sesh, preview=True, name="same again")
        assert dry["already_submitted"].all() and (dry["submitted_batch_id"] == batch.id).all()
        summary = jobs.infinity.dry_run_summary(sesh, preview=True, name="same again")
        assert summary.reattach_batch_id == batch.id
        assert f"would reattach to batch {batch.id}" in str(summary)
        # a video is another job than its preview
        assert not jobs.infinity.dry_run(sesh)["already_submitted"].any()

    def test_a_summary_that_would_reattach_charges_nothing_in_every_line(self, service: RunningService) -> None:
        sesh = _account(service)
        jobs = sesh.sample(3, seed=13, **SMALL)
        batch = jobs.infinity.submit(preview=True, name="paid")
        balance = _balance(sesh)
        sesh.max_samples = 1  # below the frame's estimate: a new batch would be refused, a reattached one is not
        summary = jobs.infinity.dry_run_summary(sesh, preview=True, name="paid")
        assert summary.reattach_batch_id == batch.id and summary.charged == 0
        assert summary.balance == balance and summary.estimated_samples == 3
        text = str(summary)
        assert f"balance {balance:,}, unchanged" in text and f"already paid in batch {batch.id}" in text
        assert "after submitting" not in text and "short by" not in text and "would refuse" not in text
        assert "would be refused" not in text and "cap: 1 (set by" in text
        # What the summary says is what happens: the same batch, nothing charged.
        assert jobs.infinity.submit(preview=True, name="paid").id == batch.id and _balance(sesh) == balance
        # Under another name the frame is a new batch: the summary charges it, and the cap refuses it.
        fresh = str(jobs.infinity.dry_run_summary(sesh, preview=True, name="another"))
        assert f"balance {balance:,} → {balance - 3:,} after submitting" in fresh
        assert "submit() would refuse this frame" in fresh and "reattach" not in fresh

    def test_polars(self, service: RunningService) -> None:
        sesh = _account(service)
        jobs = pl.from_pandas(sesh.sample(3, seed=13, **SMALL))
        dry = jobs.infinity.dry_run(sesh)
        assert isinstance(dry, pl.DataFrame)
        assert dry["estimated_samples"].dtype == pl.Int64 and dry["estimated_samples"].min() > 1  # type: ignore[operator]
        assert dry["valid"].to_list() == [True] * 3
        assert type(dry) is pl.DataFrame
        summary = jobs.infinity.dry_run_summary(sesh)
        assert "3 new · 0 already submitted · 0 duplicated · 0 invalid" in str(summary)
        assert "estimated samples" in summary._repr_html_()

    def test_rows_the_service_refuses_are_invalid(self, service: RunningService) -> None:
        sesh = _account(service)
        jobs = sesh.sample(2, seed=14, **SMALL).assign(state=[None, str(uuid.uuid4())])
        dry = jobs.infinity.dry_run(sesh)
        assert dry["valid"].tolist() == [True, False]
        assert "not a job of this account" in dry.loc[1, "problem"]
        assert jobs.infinity.dry_run_summary(sesh).invalid == 1
        assert dry["estimated_samples"].isna().tolist() == [False, True]


class TestSpendCaps:
    def test_per_call_cap_refuses_before_any_charge(self, service: RunningService) -> None:
        sesh = _account(service)
        jobs = sesh.sample(4, seed=20, **SMALL)
        estimate = sum(sesh.estimate(jobs))
        before_balance, before_batches = _balance(sesh), len(sesh.batches())
        with pytest.raises(inf.SpendCapError) as info:
            jobs.infinity.submit(sesh, name="too dear", max_samples=estimate - 1)
        err = info.value
        assert (err.estimate, err.cap, err.source) == (estimate, estimate - 1, "max_samples")
        assert f"{estimate:,} samples" in str(err) and f"cap of {estimate - 1:,}" in str(err)
        assert f"max_samples={estimate}" in str(err) and "Nothing was submitted" in str(err)
        assert isinstance(err, inf.InfinityError)
        assert _balance(sesh) == before_balance and len(sesh.batches()) == before_batches
        batch = sesh.submit(jobs, preview=True, name="previews fit", max_samples=4)  # 4 previews = 4 samples
        assert batch.num_jobs == 4

    def test_session_cap_and_environment_cap(self, service: RunningService, monkeypatch: pytest.MonkeyPatch) -> None:
        capped = _account(service, max_samples=3)
        jobs = capped.sample(4, seed=21, **SMALL)
        before_balance, before_batches = _balance(capped), len(capped.batches())
        with pytest.raises(inf.SpendCapError, match=r"sesh\.max_samples = 4") as info:
            capped.submit(jobs, preview=True, name="session capped")
        assert info.value.source == "session"
        monkeypatch.setenv("INFINITYFRAME_MAX_SAMPLES", "2")
        plain = inf.Session(capped.token, "stickfit-v0.1.0", server=service.url)
        with pytest.raises(inf.SpendCapError, match="INFINITYFRAME_MAX_SAMPLES") as info:
            jobs.infinity.submit(plain, preview=True, name="env capped")
        assert (info.value.cap, info.value.source) == (2, "INFINITYFRAME_MAX_SAMPLES")
        assert "cap: 2 (set by $INFINITYFRAME_MAX_SAMPLES)" in str(jobs.infinity.dry_run_summary(plain, preview=True))
        assert _balance(capped) == before_balance and len(capped.batches()) == before_batches
        # the strictest cap binds: a call cannot loosen the environment's or the session's cap
        with pytest.raises(inf.SpendCapError) as info:
            capped.submit(jobs, preview=True, name="session and env", max_samples=100)
        assert (info.value.cap, info.value.source) == (2, "INFINITYFRAME_MAX_SAMPLES")
        monkeypatch.delenv("INFINITYFRAME_MAX_SAMPLES")
        with pytest.raises(inf.SpendCapError, match=r"sesh\.max_samples = 4") as info:
            capped.submit(jobs, preview=True, name="explicit", max_samples=4)
        assert info.value.source == "session"
        capped.max_samples = 4
        assert capped.submit(jobs, preview=True, name="raised", max_samples=10).num_jobs == 4
        monkeypatch.setenv("INFINITYFRAME_MAX_SAMPLES", "lots")
        with pytest.raises(inf.InfinityError, match="INFINITYFRAME_MAX_SAMPLES"):
            plain.submit(jobs, preview=True, name="bad env")

    def test_reattaching_costs_nothing_and_is_not_capped(self, service: RunningService) -> None:
        sesh = _account(service)
        jobs = sesh.sample(2, seed=22, **SMALL)
        first = sesh.submit(jobs, preview=True, name="paid once")
        sesh.max_samples = 0
        assert sesh.submit(jobs, preview=True, name="paid once").id == first.id
        with pytest.raises(inf.SpendCapError):
            sesh.submit(jobs, preview=True, name="paid once", mode="force")
