"""Testing aids: make the local service's generators fail a deterministic share of jobs, or keep
the batches it accepts unexpanded.

Set ``INFINITYFRAME_FAIL_RATE`` (a fraction, 0 to 1) in the environment of the service, or
start it with ``infinityframe serve --fail-rate 0.3``. Each job then fails, before it renders,
when a hash of its id falls under the rate, raising :class:`GeneratorFault` in the worker.
The job takes the service's ordinary failure path: its state becomes ``failed`` with the
error text, its reserved estimate is credited back and nothing is charged.

Which jobs fail depends only on their ids (:func:`fails` says it in advance), so a job that
failed fails again if the service re-queues it, while a retry — a new job with a new id —
draws afresh. Never set it on a service whose results matter.

Set ``INFINITYFRAME_HOLD_BATCH_BODIES=1`` in the environment of the service and it never expands
an accepted batch's body into job rows (``docs/local-service.md``): the state a crash right after
the reply leaves, held so that a test can kill the service in it. Its jobs are neither run nor
seen by any read until a service without it starts on the data dir.

>>> fails("00000000-0000-0000-0000-000000000000", 0.0)
False
>>> fails("00000000-0000-0000-0000-000000000000", 1.0)
True
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["ENV_VAR", "HOLD_BODIES_VAR", "GeneratorFault", "fail_rate", "fails", "holding_bodies", "inject"]

ENV_VAR = "INFINITYFRAME_FAIL_RATE"
HOLD_BODIES_VAR = "INFINITYFRAME_HOLD_BATCH_BODIES"


class GeneratorFault(RuntimeError):
    """A failure injected on purpose by ``INFINITYFRAME_FAIL_RATE``."""


def fail_rate() -> float:
    """The share of jobs to fail, from ``$INFINITYFRAME_FAIL_RATE`` (0 when unset)."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return 0.0
    try:
        rate = float(raw)
    except ValueError as err:
        raise ValueError(f"{ENV_VAR} must be a number between 0 and 1, not {raw!r}") from err
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{ENV_VAR} must be between 0 and 1, not {rate}")
    return rate


def fails(job_id: str, rate: float) -> bool:
    """Whether the job with this id fails at this rate (deterministic)."""
    if rate <= 0.0:
        return False
    draw = int.from_bytes(hashlib.sha256(f"fault:{job_id}".encode()).digest()[:8], "big") / 2.0**64
    return draw < rate


def inject(job_id: str) -> None:
    """Raise :class:`GeneratorFault` if this job is one that ``$INFINITYFRAME_FAIL_RATE`` fails."""
    rate = fail_rate()
    if fails(job_id, rate):
        raise GeneratorFault(f"the renderer crashed before the first frame (fault injected by {ENV_VAR}={rate:g}, "
                             "a testing aid)")


def holding_bodies() -> bool:
    """Whether ``$INFINITYFRAME_HOLD_BATCH_BODIES`` asks to keep accepted batches unexpanded."""
    return os.environ.get(HOLD_BODIES_VAR, "").strip() not in ("", "0")
