"""A job's state as the service reports it, on the cloud and the local service alike.

>>> job_state({"in_progress": False, "result_url": "https://..."})
'succeeded'
"""

from __future__ import annotations

from typing import Any

__all__ = ["STATES", "job_state"]

STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def job_state(run: dict[str, Any]) -> str:
    """A job's state; the cloud reports only ``in_progress`` and ``result_url``."""
    if run.get("state") in STATES:
        return str(run["state"])
    if run.get("in_progress"):
        return "running"
    return "succeeded" if run.get("result_url") else "failed"
