"""Previews to videos, retrying failed jobs and lineage, on a local service that fails jobs on purpose."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import infinityframe as inf
from _service import RunningService, start_service
from infinityframe.client.batch import Batch
from infinityframe.client.records import SubmissionRecords
from infinityframe.local.faults import GeneratorFault, fails, inject

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}
RATE = 0.5


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A service whose generators fail about half of the jobs (``--fail-rate``)."""
    svc = start_service(tmp_path_factory.mktemp("faulty"), "--workers", "2", "--rate-limit", "0",
                        "--fail-rate", str(RATE))
    yield svc
    svc.stop()


@pytest.fixture
def sesh(faulty: RunningService) -> inf.Session:
    return inf.Session(faulty.token, "stickfit-v0.1.0", server=faulty.url)


def _with_failures(submit: Callable[[int], Batch], *, want_ok: int = 1, tries: int = 8) -> Batch:
    """A batch in which, by the fault mode's hash, at least one job fails and ``want_ok`` succeed.

    Which jobs fail depends on their ids, known only once submitted, so a batch that would not
    show both outcomes is cancelled and another one submitted.
    """
    for attempt in range(tries):
        batch = submit(attempt)
        failing = sum(fails(job_id, RATE) for job_id in batch.job_ids)
        if failing >= 1 and batch.num_jobs - failing >= want_ok:
            return batch
        batch.cancel()
    raise AssertionError(f"no batch with both outcomes in {tries} tries")


def _account(sesh: inf.Session) -> dict[str, int]:
    data: dict[str, int] = sesh._transport.request("GET", "api/account/")
    return data


def test_fault_mode_fails_the_predicted_jobs_through_the_normal_failure_path(sesh: inf.Session) -> None:
    before = _account(sesh)
    batch = sesh.sample(8, seed=1, **SMALL).infinity.submit(sesh, preview=True, name="faults", mode="force")
    status = batch.wait(progress=False)
    failed = set(status.loc[status["status"] == "failed", "job_id"])
    assert failed == {job_id for job_id in batch.job_ids if fails(job_id, RATE)}
    assert status.loc[status["status"] != "failed", "status"].eq("succeeded").all()
    runs = {r["id"]: r for r in sesh._transport.request("GET", f"api/batch/{batch.id}/")["job_runs"]}
    for job_id in failed:
        assert "GeneratorFault" in runs[job_id]["error"] and "INFINITYFRAME_FAIL_RATE" in runs[job_id]["error"]
        assert runs[job_id]["samples"] is None
    after = _account(sesh)
    assert after["reserved"] == 0, "a failed job's estimate is credited back"
    assert after["charged"] - before["charged"] == 8 - len(failed), "only the succeeded previews are charged"


def test_promote_three_chosen_previews(sesh: inf.Session, tmp_path: Path) -> None:
    jobs = sesh.sample(8, seed=2, **SMALL)
    previews = _with_failures(lambda i: jobs.infinity.submit(sesh, preview=True, name=f"to promote {i}"),
                              want_ok=3)
    status = previews.wait(progress=False)
    succeeded = status.loc[status["status"] == "succeeded", "job_id"].tolist()
    chosen = succeeded[:3]
    mask = previews.jobs["job_id"].isin(chosen)

    videos = previews.promote(mask, name="three videos")

    assert not videos.preview and videos.num_jobs == 3
    sent = videos.jobs
    assert sent["state"].tolist() == chosen, "each video is seeded from its preview"
    expected = previews.jobs.set_index("job_id").loc[chosen].drop(columns="state").reset_index(drop=True)
    assert sent.drop(columns=["job_id", "state"]).equals(expected), "same parameters as the previews"
    assert previews.promote(chosen, name="three videos").id == videos.id, "promoting again pays nothing"
    # refusals: not a preview batch; a preview that did not succeed
    with pytest.raises(inf.InfinityError, match="not previews"):
        videos.promote()
    failed = status.loc[status["status"] == "failed", "job_id"].tolist()
    with pytest.raises(inf.InfinityError, match=f"{failed[0]} \\(failed\\)"):
        previews.promote([failed[0]])
    with pytest.raises(inf.InfinityError, match="boolean mask has 2 value"):
        previews.promote([True, False])
    # without this machine's records (another machine, the cloud), `state` still links video to preview
    sesh.records = SubmissionRecords(tmp_path / "elsewhere" / "submissions.db")
    family = videos.lineage().set_index("job_id")
    assert family.loc[videos.job_ids, "relation"].tolist() == ["promoted"] * 3
    assert family.loc[videos.job_ids, "parent_job_id"].tolist() == chosen
    assert set(family.loc[videos.job_ids, "parent_batch_id"]) == {previews.id}
    assert family.loc[chosen, "generation"].tolist() == [0, 0, 0]


def test_retry_only_the_failed_jobs_then_lineage(sesh: inf.Session, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = sesh.sample(8, seed=3, **SMALL)
    previews = _with_failures(lambda i: jobs.infinity.submit(sesh, preview=True, name=f"lineage previews {i}"),
                              want_ok=3)
    previews.wait(progress=False)
    videos = _with_failures(lambda i: previews.promote(name=f"lineage videos {i}"))
    status = videos.wait()  # progress shown: counts by state, as plain lines (not a terminal)
    err = capsys.readouterr().err
    failed = status.loc[status["status"] == "failed", "job_id"].tolist()
    ok = videos.num_jobs - len(failed)
    assert f"{videos.num_jobs}/{videos.num_jobs} finished" in err
    assert f"succeeded {ok}" in err.splitlines()[-1] and f"failed {len(failed)}" in err.splitlines()[-1]

    retry = videos.retry_failed()

    assert retry.num_jobs == len(failed) and not retry.preview
    old = videos.jobs.set_index("job_id").loc[failed].reset_index(drop=True)
    assert retry.jobs.drop(columns="job_id").equals(old), "exactly the failed jobs, same parameters"
    assert videos.retry_failed().id == retry.id, "retrying again reattaches instead of paying twice"
    with pytest.raises(inf.InfinityError, match="no failed jobs"):
        _retry_a_batch_without_failures(sesh)

    family = retry.lineage()
    assert list(family.columns) == ["job_id", "batch_id", "kind", "relation", "parent_job_id", "parent_batch_id",
                                    "status", "generation"]
    by_id = family.set_index("job_id")
    for job_id in retry.job_ids:
        row = by_id.loc[job_id]
        assert (row["batch_id"], row["kind"], row["relation"], row["generation"]) == (retry.id, "video", "retried", 2)
        parent = by_id.loc[row["parent_job_id"]]
        assert parent["batch_id"] == videos.id and parent["status"] == "failed" and row["parent_batch_id"] == videos.id
        assert parent["relation"] == "promoted" and parent["generation"] == 1
        grandparent = by_id.loc[parent["parent_job_id"]]
        assert grandparent["batch_id"] == previews.id and grandparent["kind"] == "preview"
        assert grandparent["relation"] == "submitted" and grandparent["generation"] == 0
    # from the previews, the whole family: previews, their videos and the retries
    assert set(previews.lineage()["batch_id"]) >= {previews.id, videos.id, retry.id}
    assert family["generation"].is_monotonic_increasing


def _retry_a_batch_without_failures(sesh: inf.Session) -> None:
    batch = sesh.submit([{"num_reps": 1}], preview=True, name="maybe fine", mode="force")
    while fails(batch.job_ids[0], RATE):
        batch = sesh.submit([{"num_reps": 1}], preview=True, name="maybe fine", mode="force")
    batch.wait(progress=False)
    batch.retry_failed()


def test_fault_mode_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = "b7c5d0de-0000-4000-8000-000000000000"
    monkeypatch.delenv("INFINITYFRAME_FAIL_RATE", raising=False)
    inject(job_id)  # off by default
    monkeypatch.setenv("INFINITYFRAME_FAIL_RATE", "1")
    with pytest.raises(GeneratorFault, match="INFINITYFRAME_FAIL_RATE=1"):
        inject(job_id)
    monkeypatch.setenv("INFINITYFRAME_FAIL_RATE", "0.3")
    draws = [fails(f"job-{i}", 0.3) for i in range(2000)]
    assert 0.25 < sum(draws) / len(draws) < 0.35 and draws == [fails(f"job-{i}", 0.3) for i in range(2000)]
    monkeypatch.setenv("INFINITYFRAME_FAIL_RATE", "2")
    with pytest.raises(ValueError, match="between 0 and 1"):
        inject(job_id)
