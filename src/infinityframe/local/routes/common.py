"""What every router shares: the service's state, the error answer, JSON replies and auth.

Routes reach the state through ``Depends(service)`` (it lives on ``app.state``), so a router
is a plain module-level object and :func:`infinityframe.local.app.create_app` only assembles
them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from fastapi import Depends, Request, responses
from fastapi.responses import Response
from fastapi.security import APIKeyHeader

from ..generators.base import shown
from ..ratelimit import RateLimiter
from ..runner import Runner
from ..signing import Signer
from ..store import Account, Store

__all__ = ["ApiError", "JSONResponse", "ServiceState", "authenticate", "owned_batch", "service", "window"]


@dataclass
class ServiceState:
    """What the routes share: the database, the runner and the service's settings."""

    store: Store
    signer: Signer
    runner: Runner | None
    data_dir: Path
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(None))
    max_body_bytes: int = 64 * 1024 * 1024
    default_usage_days: int = 30
    service_id: str = ""  # the data dir's stable id (local/identity.py): what clients key submissions on


class ApiError(Exception):
    """An error answer: status code, DRF-style body and headers."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.body = {"detail": detail, **extra}
        self.headers = headers or {}


class JSONResponse(responses.JSONResponse):
    """A JSON reply encoded by orjson: a 10,000-job batch in milliseconds, its stored parameters
    (``orjson.Fragment``) passed through without being parsed again."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def unavailable(reason: str, retry_after: int) -> Response:
    """503: the service cannot answer just now (locked database, full disk); the client may retry."""
    return JSONResponse({"detail": f"Service unavailable: {reason}. It is safe to retry in {retry_after} s."},
                        503, {"Retry-After": str(retry_after)})


async def service(request: Request) -> ServiceState:
    """The state of the service answering ``request`` (a dependency of every route; a coroutine,
    so that looking it up takes no trip through a worker thread)."""
    state: ServiceState = request.app.state.service
    return state


_token_header = APIKeyHeader(name="Authorization", auto_error=False,
                             description="`Token <key>`: the literal word Token, a space, then the key.")


def authenticate(request: Request, authorization: str | None = Depends(_token_header),
                 state: ServiceState = Depends(service)) -> Account:
    """The account whose token the request carries, or a 401; every request is throttled (429)."""
    scheme, _, token = (authorization or "").partition(" ")
    account = state.store.authenticate(token.strip()) if scheme == "Token" and token.strip() else None
    # Throttle by account; failed attempts by client address, so guessing tokens is throttled too.
    client = request.client.host if request.client else ""
    wait = state.limiter.acquire(f"account:{account.id}" if account else f"ip:{client}")
    if wait is not None:
        raise ApiError(429, f"Request was throttled. Expected available in {math.ceil(wait)} seconds.",
                       {"Retry-After": str(max(1, math.ceil(wait)))})
    if account is not None:
        return account
    if not authorization:
        raise ApiError(401, "Authentication credentials were not provided.", {"WWW-Authenticate": "Token"})
    if scheme != "Token" or not token.strip():
        raise ApiError(401, "Invalid token header. Use 'Authorization: Token <key>'.", {"WWW-Authenticate": "Token"})
    raise ApiError(401, "Invalid token.", {"WWW-Authenticate": "Token"})


def owned_batch(state: ServiceState, account: Account, batch_id: str) -> Any:
    """The account's batch, or a 404 (another account's batch is not found either)."""
    batch = state.store.batch(account.id, batch_id)
    if batch is None:
        raise ApiError(404, "Not found.")
    return batch


def job_body(job_id: str, generator: str, batch_id: str, preview: bool, params: str, job_state: str,
             result_url: str | None, estimated: int, samples: int | None, created: str, finished: str | None,
             error: str | None) -> dict[str, Any]:
    """A job run as the API answers it (``params``: its parameters' stored JSON text, sent as is)."""
    return {"id": job_id, "name": generator, "batch_id": batch_id, "is_preview": preview,
            "param_values": orjson.Fragment(params), "state": job_state,
            "in_progress": job_state in ("queued", "running"), "result_url": result_url,
            "estimated_samples": estimated, "samples": samples, "created": created, "finished": finished,
            "error": error}


def job_run(state: ServiceState, row: Any, base: str) -> dict[str, Any]:
    """A stored job as the API answers it; a succeeded job's result URL signed for ``base``."""
    job_state = row["state"]
    return job_body(row["id"], row["generator"], row["batch_id"], bool(row["is_preview"]), row["params"],
                    job_state, state.signer.url(base, row["id"]) if job_state == "succeeded" else None,
                    row["estimated_samples"], row["samples"], row["created"], row["finished"], row["error"])


def batch_fields(batch: Any) -> dict[str, Any]:
    """A stored batch as the API answers it, but for its ``job_runs``."""
    return {
        "id": batch["id"],
        "name": batch["name"],
        "created": batch["created"],
        "generator": batch["generator"],
        "is_preview": bool(batch["is_preview"]),
        "num_jobs": batch["num_jobs"],
    }


def batch_body(state: ServiceState, batch: Any, base: str) -> dict[str, Any]:
    """A stored batch and its jobs as the API answers them."""
    return {**batch_fields(batch),
            "job_runs": [job_run(state, row, base) for row in state.store.jobs_of_batch(batch["id"])]}


# -- query times ----------------------------------------------------

def _aware(moment: datetime) -> datetime:
    """A time without an offset is the service's local time; at the ends of the calendar, its current offset."""
    if moment.tzinfo is not None:
        return moment
    try:
        return moment.astimezone()
    except (OverflowError, ValueError, OSError):  # year 1 or 9999: the C library's local time cannot say
        return moment.replace(tzinfo=datetime.now().astimezone().tzinfo)


def shifted(moment: datetime, days: int) -> datetime:
    """``moment`` moved by ``days``, stopping at the first or last time ``datetime`` holds."""
    try:
        return moment + timedelta(days=days)
    except OverflowError:
        return (datetime.max if days > 0 else datetime.min).replace(tzinfo=moment.tzinfo)


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError as err:
        raise ApiError(400, f"{name} {shown(value)} is not an ISO-8601 time.") from err
    return _aware(parsed)


def window(start_time: str | None, end_time: str | None) -> tuple[datetime | None, datetime | None]:
    """A query's time window (either end open), or a 400 naming the bad end."""
    start, end = _parse_time(start_time, "start_time"), _parse_time(end_time, "end_time")
    if start is not None and end is not None and end < start:
        raise ApiError(400, f"end_time {end_time} is before start_time {start_time}.")
    return start, end
