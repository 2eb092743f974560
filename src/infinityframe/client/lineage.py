"""Previews to videos, retries of failed jobs, and the lineage that connects them.

A promoted video carries its preview's id in ``state`` (the service's own link, on the cloud
and the local service alike). A retry has no such link in the service, so each submission
also records, on this machine, which job every new job came from (``records.py``).
:func:`lineage` follows both: ``state`` and the records upwards, the records downwards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import BatchNotFoundError, InfinityError
from .progress import format_counts
from .states import STATES, job_state

if TYPE_CHECKING:
    from .batch import Batch
    from .records import JobRecord
    from .session import Session

__all__ = ["LINEAGE_COLUMNS", "lineage", "promote", "retry_failed"]

LINEAGE_COLUMNS = ["job_id", "batch_id", "kind", "relation", "parent_job_id", "parent_batch_id", "status",
                   "generation"]
MAX_BATCHES = 200  # a lineage never loads more batches than this


def _counts(states: dict[str, str]) -> str:
    counted = Counter(states.values())
    return format_counts({s: counted[s] for s in STATES}) or "no jobs"


def _chosen_ids(batch: Batch, rows: Any) -> list[str] | None:
    """Job ids from ``rows``: None, one id, ids, or a boolean mask over ``batch.jobs``."""
    if rows is None:
        return None
    if isinstance(rows, str):
        rows = [rows]
    values = rows.to_list() if hasattr(rows, "to_list") else list(np.asarray(rows).tolist())
    ids = batch.job_ids
    if values and all(isinstance(v, bool) for v in values):
        if len(values) != len(ids):
            raise InfinityError(f"The boolean mask has {len(values)} value(s) but batch {batch.id} has {len(ids)} "
                                "job(s): build it from batch.jobs, e.g. batch.jobs['camera_distance'] > 3.")
        return [job_id for job_id, keep in zip(ids, values, strict=True) if keep]
    if all(isinstance(v, str) for v in values):
        unknown = [v for v in values if v not in batch.params]
        if unknown:
            raise BatchNotFoundError(f"Job(s) {', '.join(unknown[:5])} are not in batch {batch.id}; "
                                     "pick ids from batch.job_ids.")
        return list(dict.fromkeys(values))
    raise InfinityError("rows must be job ids or a boolean mask over batch.jobs, "
                        f"not {type(rows).__name__} of {sorted({type(v).__name__ for v in values})}.")


def _states(batch: Batch) -> dict[str, str]:
    return {run["id"]: job_state(run) for run in batch.job_runs()}


def promote(batch: Batch, rows: Any = None, *, name: str | None = None, max_samples: int | None = None) -> Batch:
    """See :meth:`Batch.promote`."""
    if not batch.preview:
        raise InfinityError(
            f"Batch {batch.id} ({batch.name!r}) holds full jobs, not previews: promote() renders previews as "
            "videos. To render its jobs again with changes, use sesh.rerun(batch.job_ids, overrides).")
    chosen = _chosen_ids(batch, rows)
    states = _states(batch)
    if chosen is None:
        chosen = [job_id for job_id in batch.job_ids if states.get(job_id) == "succeeded"]
        if not chosen:
            raise InfinityError(f"No preview of batch {batch.id} has succeeded yet ({_counts(states)}): "
                                "call batch.wait() first.")
    if not chosen:
        raise InfinityError(f"No preview chosen from batch {batch.id}: the mask selects no job.")
    unfinished = {j: states.get(j, "unknown") for j in chosen if states.get(j) != "succeeded"}
    if unfinished:
        shown = ", ".join(f"{j} ({s})" for j, s in list(unfinished.items())[:5])
        raise InfinityError(f"Only previews that succeeded can become videos; {len(unfinished)} chosen did not: "
                            f"{shown}. Wait for them (batch.wait()) or retry them (batch.retry_failed()) first.")
    session = batch.session
    jobs = [{**batch.params[job_id], "state": job_id} for job_id in chosen]
    default = f"{batch.name} (videos)" if batch.name else "videos"
    return session.submit_completed(session.complete(jobs, preview=False), preview=False,
                           name=default if name is None else name, mode="cached", max_samples=max_samples,
                           parents=[(job_id, batch.id) for job_id in chosen], relation="promoted")


def retry_failed(batch: Batch, *, name: str | None = None, max_samples: int | None = None) -> Batch:
    """See :meth:`Batch.retry_failed`."""
    states = _states(batch)
    failed = [job_id for job_id in batch.job_ids if states.get(job_id) == "failed"]
    if not failed:
        raise InfinityError(f"Batch {batch.id} has no failed jobs to retry ({_counts(states)}).")
    session = batch.session
    jobs = [dict(batch.params[job_id]) for job_id in failed]
    default = f"{batch.name} (retry)" if batch.name else "retry"
    return session.submit_completed(session.complete(jobs, preview=batch.preview), preview=batch.preview,
                           name=default if name is None else name, mode="cached", max_samples=max_samples,
                           parents=[(job_id, batch.id) for job_id in failed], relation="retried")


# -- lineage -------------------------------------------------------------------------------------

@dataclass
class _Loaded:
    batch: Batch
    states: dict[str, str]
    position: dict[str, int] = field(default_factory=dict)


class _Family:
    """Batches loaded once each, and the jobs found so far."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.batches: dict[str, _Loaded | None] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.records: dict[str, JobRecord | None] = {}  # this machine's records, read a batch at a time

    def load(self, batch_id: str, known: Batch | None = None) -> _Loaded | None:
        if batch_id not in self.batches:
            if len(self.batches) >= MAX_BATCHES:
                return None
            try:
                batch = known if known is not None else self.session.batch(batch_id)
                self.batches[batch_id] = _Loaded(batch, _states(batch),
                                                 {j: i for i, j in enumerate(batch.job_ids)})
            except BatchNotFoundError:
                self.batches[batch_id] = None
            else:
                recorded = {r.job_id: r for r in self.session.records.jobs(batch.job_ids)}
                self.records.update({job_id: recorded.get(job_id) for job_id in batch.job_ids})
        return self.batches[batch_id]

    def record(self, job_id: str) -> JobRecord | None:
        if job_id not in self.records:
            self.records[job_id] = self.session.records.job(job_id)
        return self.records[job_id]

    def parent(self, job_id: str, loaded: _Loaded) -> tuple[str, str | None, str] | None:
        """(parent job, parent batch, relation) of a job, from the records or its ``state``."""
        record = self.record(job_id)
        if record is not None and record.parent_job_id:
            return record.parent_job_id, record.parent_batch_id, record.relation
        seed = loaded.batch.params.get(job_id, {}).get("state")
        if not seed:
            return None
        seed_record = self.record(seed)
        if seed_record is not None:
            seed_batch: str | None = seed_record.batch_id
            seed_preview = seed_record.preview
        elif (seen := next((b.batch for b in self.batches.values() if b is not None and seed in b.position),
                           None)) is not None:  # in a batch loaded already: no request per job
            seed_batch, seed_preview = seen.id, seen.preview
        else:
            seed_batch, seed_preview = self._find_job(seed)
        relation = "promoted" if seed_preview and not loaded.batch.preview else "rerun"
        return seed, seed_batch, relation

    def _find_job(self, job_id: str) -> tuple[str | None, bool]:
        """A job's batch (when the service says it; the local service does) and whether it is a preview."""
        for preview in (True, False):
            try:
                data = self.session.api.job(job_id, preview)
            except BatchNotFoundError:
                continue
            batch_id = data.get("batch_id") if isinstance(data, dict) else None
            return (str(batch_id) if batch_id else None), preview
        return None, False

    def add(self, job_id: str, loaded: _Loaded, parent: tuple[str, str | None, str] | None) -> None:
        self.nodes[job_id] = {
            "job_id": job_id,
            "batch_id": loaded.batch.id,
            "kind": "preview" if loaded.batch.preview else "video",
            "relation": parent[2] if parent else "submitted",
            "parent_job_id": parent[0] if parent else None,
            "parent_batch_id": parent[1] if parent else None,
            "status": loaded.states.get(job_id),
        }


def lineage(batch: Batch) -> pd.DataFrame:
    """See :meth:`Batch.lineage`."""
    family = _Family(batch.session)
    start = family.load(batch.id, known=batch)
    assert start is not None
    # upwards: each job's parent, its parent, ...
    todo = [(job_id, start) for job_id in batch.job_ids]
    while todo:
        job_id, loaded = todo.pop()
        if job_id in family.nodes:
            continue
        parent = family.parent(job_id, loaded)
        family.add(job_id, loaded, parent)
        if parent is not None and parent[1] is not None and parent[0] not in family.nodes:
            above = family.load(parent[1])
            if above is not None and parent[0] in above.position:
                todo.append((parent[0], above))
    # downwards: what this machine submitted from any of them
    frontier = list(family.nodes)
    while frontier:
        children = [c for c in family.session.records.children(frontier) if c.job_id not in family.nodes]
        frontier = []
        for child in children:
            below = family.load(child.batch_id)
            if below is not None and child.job_id in below.position:
                family.add(child.job_id, below, (child.parent_job_id or "", child.parent_batch_id, child.relation))
                frontier.append(child.job_id)

    def generation(job_id: str) -> int:
        depth, seen = 0, {job_id}
        parent = family.nodes[job_id]["parent_job_id"]
        while parent in family.nodes and parent not in seen:
            seen.add(parent)
            depth += 1
            parent = family.nodes[parent]["parent_job_id"]
        return depth

    rows = list(family.nodes.values())
    for row in rows:
        row["generation"] = generation(row["job_id"])

    def order(row: dict[str, Any]) -> tuple[Any, ...]:
        loaded = family.batches[row["batch_id"]]
        created = loaded.batch.created.timestamp() if loaded is not None and loaded.batch.created else 0.0
        return row["generation"], created, row["batch_id"], loaded.position.get(row["job_id"], 0) if loaded else 0

    rows.sort(key=order)
    frame = pd.DataFrame(rows, columns=LINEAGE_COLUMNS)
    for column in ("job_id", "batch_id", "kind", "relation", "parent_job_id", "parent_batch_id", "status"):
        frame[column] = frame[column].astype("str")
    frame["status"] = pd.Categorical(frame["status"], categories=STATES)
    frame["generation"] = frame["generation"].astype(np.int64)
    frame.attrs["infinity"] = {**batch.session.frame_attrs(), "batch_id": batch.id}
    return frame
