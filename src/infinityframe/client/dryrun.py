"""``df.infinity.dry_run()``: what submitting a frame would do, and cost, without submitting it.

One row per job, the frame's own columns followed by:

``estimated_samples``
    What the service estimates the job costs (``<NA>`` when it is invalid).
``valid``, ``problem``
    Whether the job passes the generator's rules, and if not the first failure message(s), as
    ``df.infinity.errors()`` words them.
``already_submitted``, ``submitted_batch_id``, ``submitted_status``
    Whether a job with the same content (server, generator, preview or not, parameters) was
    submitted from this machine before, to which batch, and how that job stands now.
``duplicate_of``
    The 0-based position (like ``errors()``' ``row``) of an earlier row with the same content.

Nothing is created and nothing is charged: the estimate endpoint, the batch summaries and the
balance are all read-only. The result is a plain frame of the caller's library; the totals are
a separate object (:class:`DryRunSummary`, from ``df.infinity.dry_run_summary()``), which prints
as text and shows itself in a notebook.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import BatchNotFoundError, InfinityError, ValidationError
from ..params.jobs import service_jobs
from .caps import Cap, resolve_cap
from .records import content_key, job_key
from .states import job_state

if TYPE_CHECKING:
    from .session import Session

__all__ = ["DRY_RUN_COLUMNS", "DryRunSummary", "dry_run_frame"]

DRY_RUN_COLUMNS = ("estimated_samples", "valid", "problem", "already_submitted", "submitted_batch_id",
                   "submitted_status", "duplicate_of")
PROBLEMS_SHOWN = 2  # failure messages per row in `problem`


@dataclass(frozen=True)
class DryRunSummary:
    """The totals a dry run ends with; ``str()`` gives the text shown under the frame."""

    generator: str
    preview: bool
    jobs: int
    new: int
    already_submitted: int
    duplicated: int
    invalid: int
    estimated_samples: int
    new_samples: int
    balance: int | None
    max_samples: int | None
    cap_source: str | None
    name: str
    reattach_batch_id: str | None

    @property
    def charged(self) -> int:
        """Samples ``submit()`` would charge now: none when it would reattach to an earlier batch."""
        return 0 if self.reattach_batch_id is not None else self.estimated_samples

    def lines(self) -> list[str]:
        """The summary, line by line; every line describes the same submission.

        A frame that ``submit()`` would reattach to an earlier batch (``mode="cached"``) is
        charged nothing, so no line speaks of a new charge, a spend cap or a shortfall.

        Examples
        --------
        >>> summary = DryRunSummary("stickfit-v0.1.0", False, 2, 0, 2, 0, 0, 90, 0, 1000, None, None,
        ...                         "sweep", "0b6f1c2e")
        >>> print(summary)
        dry run of 2 jobs for stickfit-v0.1.0: 0 new · 2 already submitted · 0 duplicated · 0 invalid
        estimated samples: 90 for the 2 valid rows, already paid in batch 0b6f1c2e · balance 1,000, unchanged
        submit(name='sweep') would reattach to batch 0b6f1c2e and charge nothing (mode='cached')
        """
        kind = "previews" if self.preview else "jobs"
        valid = self.jobs - self.invalid
        lines = [f"dry run of {self.jobs:,} {kind} for {self.generator}: {self.new:,} new · "
                 f"{self.already_submitted:,} already submitted · {self.duplicated:,} duplicated · "
                 f"{self.invalid:,} invalid"]
        rows = f"{valid:,} valid {'row' if valid == 1 else 'rows'}"
        reattach = self.reattach_batch_id is not None
        cost = f"estimated samples: {self.estimated_samples:,} for the {rows}"
        if reattach:
            cost += f", already paid in batch {self.reattach_batch_id}"
        else:
            cost += f" ({self.new_samples:,} for the new ones)"
        if self.balance is None:
            cost += " · balance: not reported by this service"
        elif reattach:
            cost += f" · balance {self.balance:,}, unchanged"
        elif self.charged <= self.balance:
            cost += f" · balance {self.balance:,} → {self.balance - self.charged:,} after submitting"
        else:
            cost += f" · balance {self.balance:,}, short by {self.charged - self.balance:,}"
        lines.append(cost)
        if self.max_samples is not None:
            where = Cap(self.max_samples, str(self.cap_source)).where
            over = not reattach and self.estimated_samples > self.max_samples
            lines.append(f"spend cap: {self.max_samples:,} (set by {where})"
                         + (": submit() would refuse this frame" if over else ""))
        if self.invalid:
            lines.append(f"submit() would refuse this frame: {self.invalid} invalid "
                         f"{'row' if self.invalid == 1 else 'rows'} (see the `problem` column)")
        elif self.balance is not None and self.charged > self.balance:
            lines.append("submit() would be refused (InsufficientSamplesError): submit fewer jobs")
        if reattach:
            lines.append(f"submit(name={self.name!r}) would reattach to batch {self.reattach_batch_id} "
                         "and charge nothing (mode='cached')")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        return ('<p class="infinityframe-dry-run" style="font-family: monospace">'
                + "<br>".join(html.escape(line) for line in self.lines()) + "</p>")


def _problems(df: Any, sesh: Session, preview: bool) -> list[str | None]:
    """Per row, the first failure message(s), or None when the row is valid."""
    from ..params.schema import failure_cases

    if preview and not sesh.supports_preview:
        return [f"{sesh.generator} does not render previews: use preview=False"] * len(df)
    failures = failure_cases(df, sesh.spec)
    problems: list[str | None] = [None] * len(df)
    everywhere = failures.loc[failures["row"] < 0, "message"].head(PROBLEMS_SHOWN).tolist()
    for row, messages in failures[failures["row"] >= 0].groupby("row", sort=True)["message"]:
        problems[int(row)] = "; ".join(messages.head(PROBLEMS_SHOWN).tolist())
    if everywhere:
        problems = ["; ".join([*everywhere, *([p] if p else [])][:PROBLEMS_SHOWN]) for p in problems]
    return problems


def _estimate(sesh: Session, jobs: list[dict[str, Any]], preview: bool,
              positions: list[int], problems: list[str | None]) -> dict[int, int]:
    """Estimates by position; jobs the service refuses get its message as their problem."""
    for _ in range(3):
        if not jobs:
            return {}
        try:
            return dict(zip(positions, sesh.estimate_completed(jobs, preview), strict=True))
        except ValidationError as err:
            refused = {int(e["job"]): str(e["message"]) for e in err.errors if isinstance(e.get("job"), int)}
            if not refused:  # the request as a whole: every job shares the reason
                refused = dict.fromkeys(range(len(jobs)), str(err).splitlines()[0])
            for index, message in refused.items():
                if 0 <= index < len(positions) and problems[positions[index]] is None:
                    problems[positions[index]] = f"the service refused it: {message}"
            keep = [i for i in range(len(jobs)) if i not in refused]
            jobs, positions = [jobs[i] for i in keep], [positions[i] for i in keep]
    raise InfinityError("The service kept refusing jobs while estimating the dry run; check df.infinity.errors().")


def _batch_states(sesh: Session, batch_ids: set[str]) -> dict[str, dict[str, str]]:
    """Each still-existing batch's job statuses."""
    found: dict[str, dict[str, str]] = {}
    for batch_id in sorted(batch_ids):
        try:
            data = sesh.api.batch_summary(batch_id)
        except BatchNotFoundError:  # gone from the service: its jobs no longer count as submitted
            continue
        found[batch_id] = {run["id"]: job_state(run) for run in data["job_runs"]}
    return found


def _balance(sesh: Session) -> int | None:
    try:
        data = sesh.api.account()
    except InfinityError:  # the cloud has no balance endpoint
        return None
    balance = data.get("balance") if isinstance(data, dict) else None
    return int(balance) if isinstance(balance, (int, float)) else None


def dry_run_frame(df: pd.DataFrame, sesh: Session, *, preview: bool = False,
                  name: str | None = None) -> tuple[pd.DataFrame, DryRunSummary]:
    """The dry run of a pandas frame: the frame with the columns above, and its summary."""
    stale = [c for c in DRY_RUN_COLUMNS if c in df.columns and c not in sesh.spec.names]
    params = df.drop(columns=stale)
    n = len(params)
    problems = _problems(params, sesh, preview)
    positions = [i for i in range(n) if problems[i] is None]
    jobs = service_jobs(params.iloc[positions], sesh.spec) if positions else []
    by_position = dict(zip(positions, jobs, strict=True))
    estimates = _estimate(sesh, jobs, preview, positions, problems)
    positions = [i for i in positions if problems[i] is None]

    keys = {i: job_key(sesh.origin, sesh.generator, preview, by_position[i]) for i in positions}
    first: dict[str, int] = {}
    duplicate_of: list[int | None] = [None] * n
    for i in positions:
        duplicate_of[i] = first.setdefault(keys[i], i)
        if duplicate_of[i] == i:
            duplicate_of[i] = None

    records = sesh.records.jobs_by_key(keys.values())
    states = _batch_states(sesh, {r.batch_id for found in records.values() for r in found})
    submitted: dict[int, tuple[str, str]] = {}
    for i in positions:
        live = [r for r in records.get(keys[i], []) if r.batch_id in states]
        if live:
            latest = live[-1]
            submitted[i] = (latest.batch_id, states[latest.batch_id].get(latest.job_id, "unknown"))

    result = df.drop(columns=stale)
    result["estimated_samples"] = pd.array([estimates.get(i) for i in range(n)], dtype="Int64")
    result["valid"] = np.array([problems[i] is None for i in range(n)], dtype=bool)
    result["problem"] = pd.Series(problems, index=result.index, dtype="str")
    result["already_submitted"] = np.array([i in submitted for i in range(n)], dtype=bool)
    result["submitted_batch_id"] = pd.Series([submitted[i][0] if i in submitted else None for i in range(n)],
                                             index=result.index, dtype="str")
    result["submitted_status"] = pd.Series([submitted[i][1] if i in submitted else None for i in range(n)],
                                          index=result.index, dtype="str")
    result["duplicate_of"] = pd.array(duplicate_of, dtype="Int64")

    invalid = n - len(positions)
    duplicated = sum(d is not None for d in duplicate_of)
    already = sum(1 for i in submitted if duplicate_of[i] is None)
    new_positions = [i for i in positions if duplicate_of[i] is None and i not in submitted]
    reattach = None
    if not invalid and n:
        reattach = sesh.records.get(content_key(sesh.origin, sesh.generator, preview, name or "",
                                                [by_position[i] for i in range(n)]))
        if reattach is not None and reattach not in states and not _batch_states(sesh, {reattach}):
            reattach = None
    cap = resolve_cap(None, sesh.max_samples)
    summary = DryRunSummary(
        generator=sesh.generator, preview=preview, jobs=n, new=len(new_positions), already_submitted=already,
        duplicated=duplicated, invalid=invalid, estimated_samples=int(sum(estimates[i] for i in positions)),
        new_samples=int(sum(estimates[i] for i in new_positions)), balance=_balance(sesh),
        max_samples=cap.limit if cap else None, cap_source=cap.source if cap else None, name=name or "",
        reattach_batch_id=reattach)
    return result, summary
