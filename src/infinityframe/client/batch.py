"""``Batch``: a submitted batch — its jobs, their progress, waiting and downloading."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from ..errors import BatchNotFoundError, ServiceError, WaitInterrupted, WaitTimeoutError
from .progress import Progress
from .states import STATES, job_state

if TYPE_CHECKING:
    from ..results import Results
    from .session import Session

__all__ = ["Batch"]

def _checked_runs(runs: Any, batch_id: str) -> list[dict[str, Any]]:
    """``runs`` if it is what the contract promises (a list of job objects with string ids); else ServiceError."""
    if not isinstance(runs, list):
        raise ServiceError(f"Batch {batch_id}: the service's answer has no list of job runs; it may be broken or "
                           "not an Infinity service.")
    for i, run in enumerate(runs):
        if not isinstance(run, dict) or not isinstance(run.get("id"), str) or not run["id"]:
            raise ServiceError(f"Batch {batch_id}: job run {i} of the service's answer has no id; it may be broken "
                               "or not an Infinity service.")
    return runs


def _checked_batch(data: Any, server: str) -> str:
    """The id of a batch the service described, once its shape is checked; else ServiceError."""
    batch_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(batch_id, str) or not batch_id or len(batch_id) > 100:
        raise ServiceError(f"{server} answered with a batch that has no usable id: it may be broken or not an "
                           "Infinity service.")
    _checked_runs(data.get("job_runs", []), batch_id)
    return batch_id


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


class Batch:
    """A batch of jobs on the service.

    Get one from ``Session.submit`` / ``df.infinity.submit`` or reattach with
    ``session.batch(batch_id)``.

    Attributes
    ----------
    id, name, generator : str
    preview : bool
        Whether the jobs are one-frame previews.
    created : datetime or None
        When the service accepted the batch (timezone-aware).
    job_ids : list of str
        In submission order.
    reattached : bool
        True when ``submit`` answered with the batch an identical earlier submission created
        (nothing new was charged); False for a new batch and for one reattached by id.

    Examples
    --------
    >>> previews = sesh.submit(jobs, preview=True, name="class example")
    >>> previews.wait(progress=False)["status"].tolist()
    ['succeeded', 'succeeded']
    >>> folder = previews.download("out/", quiet=True)
    >>> sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(previews.job_ids)
    True
    """

    def __init__(self, session: Session, data: dict[str, Any]) -> None:
        self.session = session
        self.id: str = _checked_batch(data, session.server)
        name = data.get("name")
        self.name: str = name if isinstance(name, str) else ""
        self.created: datetime | None = _timestamp(data.get("created"))
        self.reattached = False
        runs = data.get("job_runs") or []
        self.preview = bool(runs[0].get("is_preview")) if runs else False
        generator = runs[0].get("name") if runs else None
        self.generator: str = generator if isinstance(generator, str) else session.generator
        self._params: dict[str, dict[str, Any]] = {
            r["id"]: dict(r["param_values"]) if isinstance(r.get("param_values"), dict) else {} for r in runs}

    def __repr__(self) -> str:
        kind = "previews" if self.preview else "jobs"
        return f"Batch(id={self.id!r}, name={self.name!r}, generator={self.generator!r}, {self.num_jobs} {kind})"

    @property
    def batch_id(self) -> str:
        """infinity-core's name for :attr:`id`."""
        return self.id

    @property
    def job_ids(self) -> list[str]:
        return list(self._params)

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        """Each job's parameters as the service stored them (completed with the defaults), by job id."""
        return self._params

    @property
    def num_jobs(self) -> int:
        return len(self._params)

    @property
    def jobs(self) -> pd.DataFrame:
        """One row per job: ``job_id`` and its parameters, in submission order."""
        frame = pd.DataFrame([{"job_id": job_id, **params} for job_id, params in self._params.items()])
        frame.attrs["infinity"] = {**self.session.frame_attrs(), "batch_id": self.id, "preview": self.preview}
        return frame

    def job_runs(self) -> list[dict[str, Any]]:
        data = self.session.api.batch_summary(self.id, not_found=lambda detail: BatchNotFoundError(
            f"Batch {self.id} is gone from {self.session.server} ({detail})."))
        if not isinstance(data, dict):
            raise ServiceError(f"Batch {self.id}: the service's summary is a {type(data).__name__}, not an object.")
        return _checked_runs(data.get("job_runs"), self.id)

    def status(self) -> pd.DataFrame:
        """One row per job: ``job_id``, ``status``, ``in_progress``, ``result_url`` (and ``samples``).

        ``status`` is the job's progress (queued, running, succeeded, failed, cancelled: the
        API's own ``state`` field); a job frame's ``state`` column is the parameter, the job a
        re-run starts from.
        """
        runs = self.job_runs()
        frame = pd.DataFrame({
            "job_id": [r["id"] for r in runs],
            "status": pd.Categorical([job_state(r) for r in runs], categories=STATES),
            "in_progress": [bool(r.get("in_progress")) for r in runs],
            "result_url": [r.get("result_url") for r in runs],
            "samples": pd.array([r.get("samples") for r in runs], dtype="Int64"),
        })
        frame.attrs["infinity"] = {**self.session.frame_attrs(), "batch_id": self.id}
        return frame

    def remaining(self) -> int:
        """Jobs not finished yet (queued or running)."""
        return sum(bool(r.get("in_progress")) for r in self.job_runs())

    def wait(self, timeout: float | None = None, poll: float | None = None, progress: bool = True) -> pd.DataFrame:
        """Wait until every job has finished; returns :meth:`status`.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most; then :class:`~infinityframe.WaitTimeoutError` (the batch
            keeps running and can be waited for again).
        poll : float, optional
            Seconds between the first polls (1 s by default). While nothing changes the
            interval grows, up to 15 s (or ``10 × poll``); any progress resets it.
        progress : bool
            Show finished jobs with counts by status (queued, running, succeeded, failed): a
            bar in a terminal or a notebook with ipywidgets, a plain line now and then
            elsewhere.

        Raises
        ------
        WaitTimeoutError
            After ``timeout``; the batch keeps running.
        WaitInterrupted
            On Ctrl-C (a ``KeyboardInterrupt``): its one line names the batch and how to wait
            for it again; nothing is cancelled.
        """
        start = time.monotonic()
        base = 1.0 if poll is None else max(0.05, poll)
        interval, ceiling = base, 15.0 if poll is None else 10 * base
        bar = Progress(self.num_jobs, f"batch {self.id[:8]}", enabled=progress)
        last: Counter[str] | None = None
        done = 0
        try:
            while True:
                runs = self.job_runs()
                counts = Counter(job_state(r) for r in runs)
                done = sum(not r.get("in_progress") for r in runs)
                bar.update(done, {s: counts[s] for s in STATES})
                if done == len(runs):
                    return self.status()
                interval = base if counts != last else min(ceiling, interval * 1.5)
                last = counts
                elapsed = time.monotonic() - start
                if timeout is not None and elapsed + min(interval, 0.05) >= timeout:
                    remaining = len(runs) - done
                    raise WaitTimeoutError(
                        f"Batch {self.id} still has {remaining} of {len(runs)} job(s) running after "
                        f"{elapsed:.0f} s; it keeps running: call wait() again, or cancel() it.",
                        batch_id=self.id, remaining=remaining)
                time.sleep(interval if timeout is None else min(interval, max(0.0, timeout - elapsed)))
        except KeyboardInterrupt:
            raise WaitInterrupted(
                f"Stopped waiting for batch {self.id}: {done} of {self.num_jobs} job(s) finished; the others are "
                f"not cancelled. Wait again with sesh.batch({self.id!r}).wait(); re-running the cell or script "
                "that submitted it reattaches to it and pays nothing.",
                batch_id=self.id, remaining=self.num_jobs - done) from None
        finally:
            bar.close()

    def download(self, path: str | Path | None = None, overwrite: bool = False, quiet: bool = False, *,
                 progress: bool = True) -> Path:
        """Download every finished job into ``path/<job_id>/``; returns the folder.

        ``quiet=True`` (infinity-core's spelling) is ``progress=False``.

        Resumable and safe: each job is fetched to a temporary file, its zip checked (CRC,
        no member escaping the job's folder), extracted beside and renamed into place, so a
        job folder is always whole. Jobs already there are skipped (unless ``overwrite``);
        call it again to pick up jobs that finished since. A folder holding another batch
        (``batch_id.txt``) is refused. A failure never deletes finished jobs.
        """
        from .download import download_batch

        folder = Path(path) if path is not None else Path("infinity-batches") / self.id
        return download_batch(self, folder, overwrite=overwrite, progress=progress and not quiet)

    def results(self, path: str | Path | None = None, *, backend: Literal["pandas", "polars"] = "pandas") -> Results:
        """Download what has finished (resumably) and read it into tidy tables.

        Examples
        --------
        >>> res = batch.results("results-example")
        >>> sorted(res.jobs["job_id"]) == sorted(batch.job_ids), len(res.frames)   # previews: a frame each
        (True, 2)
        >>> means = res.objects.groupby("camera_distance")["bbox_h"].mean()   # labels joined to parameters
        """
        from ..results import read_results

        return read_results(self.download(path, progress=False), backend=backend)

    # -- what comes next: videos from previews, retries, where jobs came from ---------------------

    def promote(self, rows: Sequence[str] | Sequence[bool] | Any = None, *, name: str | None = None,
                max_samples: int | None = None) -> Batch:
        """Render chosen previews of this (preview) batch as videos; returns the new batch.

        Each video has its preview's parameters with ``state`` set to the preview's job id, so
        it starts from the scene the preview showed.

        Parameters
        ----------
        rows : sequence of job ids, or a boolean mask over :attr:`jobs`, optional
            The previews to promote; all the succeeded ones by default.
        name : str, optional
            The new batch's name; this batch's name + ``" (videos)"`` by default.
        max_samples : int, optional
            A spend cap for this submission (see :meth:`Session.submit`).

        Examples
        --------
        >>> chosen = batch.jobs["camera_distance"] == batch.jobs["camera_distance"].max()
        >>> videos = batch.promote(chosen)      # the farthest camera's preview, as a video
        >>> videos.num_jobs, videos.preview, videos.jobs["state"].tolist() == batch.jobs.loc[chosen, "job_id"].tolist()
        (1, False, True)
        """
        from .lineage import promote

        return promote(self, rows, name=name, max_samples=max_samples)

    def retry_failed(self, *, name: str | None = None, max_samples: int | None = None) -> Batch:
        """Submit exactly the jobs of this batch that failed again, with the same parameters.

        Re-running the call reattaches to the retry batch it created instead of paying twice.

        Examples
        --------
        >>> status = batch.wait(progress=False)
        >>> int((status["status"] == "failed").sum())  # nothing failed here, so nothing to retry
        0
        >>> batch.retry_failed()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        infinityframe.errors.InfinityError: Batch ... has no failed jobs to retry (...).
        """
        from .lineage import retry_failed

        return retry_failed(self, name=name, max_samples=max_samples)

    def lineage(self) -> pd.DataFrame:
        """Where this batch's jobs came from and what came of them, one row per job.

        Columns: ``job_id``, ``batch_id``, ``kind`` (preview or video), ``relation`` (how the
        job came from its parent: ``submitted``, ``promoted``, ``retried`` or ``rerun``),
        ``parent_job_id``, ``parent_batch_id``, ``state`` and ``generation`` (0 for the jobs
        with no parent). Ancestors are followed through ``state`` and this machine's
        submission records; descendants (videos, retries) through the records.

        Examples
        --------
        >>> videos = batch.promote(name="doctest previews (videos)")
        >>> videos.lineage()[["kind", "relation", "generation"]].drop_duplicates().values.tolist()
        [['preview', 'submitted', 0], ['video', 'promoted', 1]]
        """
        from .lineage import lineage

        return lineage(self)

    def cancel(self) -> int:
        """Cancel the jobs not started yet (local service extension); returns how many."""
        data = self.session.api.cancel(
            self.id, not_found=lambda detail: BatchNotFoundError(f"Batch {self.id} not found ({detail})."))
        return int(data.get("cancelled", 0))

    # -- infinity-core's names ------------------------------------------------------------------

    def get_num_jobs_remaining(self) -> int:
        return self.remaining()

    def get_batch_data(self) -> dict[str, Any]:
        return self.session.batch_detail(self.id)

    def get_batch_summary_data(self) -> dict[str, Any]:
        return {"job_runs": self.job_runs()}

    def get_job_summary_data(self, job_id: str) -> dict[str, Any]:
        for run in self.job_runs():
            if run["id"] == job_id:
                return run
        raise BatchNotFoundError(f"Job {job_id} is not in batch {self.id}.")

    def get_completed_jobs(self) -> list[CompletedJob]:
        """Every finished job, failed ones included (``result_url`` None), in submission order."""
        return [CompletedJob(r["id"], r.get("name") or self.generator, self._params.get(r["id"], {}),
                             r.get("result_url")) for r in self.job_runs() if not r.get("in_progress")]

    def get_valid_completed_jobs(self) -> list[CompletedJob]:
        """The finished jobs that have results (a ``result_url``)."""
        return [job for job in self.get_completed_jobs() if job.result_url]

    def get_job_params_seeded_for_rerun(self) -> list[dict[str, Any]]:
        """Each job's parameters with ``state`` set to its own id, to re-run it from its scene."""
        return [{**params, "state": job_id} if "state" in params else dict(params)
                for job_id, params in self._params.items()]

    def await_completion(self, polling_interval: float = 10, timeout: float | None = None) -> list[CompletedJob]:
        self.wait(timeout=timeout, poll=polling_interval)
        return self.get_valid_completed_jobs()


@dataclass(frozen=True)
class CompletedJob:
    """A finished job as infinity-core's ``CompletedJob`` / ``ValidCompletedJob`` give it (attributes)."""

    job_id: str
    generator: str
    params: dict[str, Any]
    result_url: str | None = None
