"""The routes of the local service: the Infinity REST contract, served from SQLite.

Every path of ``reference/infinity-api.md`` §1 with its trailing slash, JSON shape, status
codes and ``Authorization: Token <key>`` auth, plus the extensions documented in
``docs/local-service.md``: ``GET /api/account/``, ``POST /api/batch/{id}/cancel/``,
``Idempotency-Key`` on batch POST, 429 + ``Retry-After``, 413 past a body size limit, 503 +
``Retry-After`` while the database is locked or the disk full, and ``/openapi.json``.

Error bodies are DRF-style: ``{"detail": "..."}``, and for invalid jobs also
``"errors": [{"job": i, "param": name, "message": text}]``. No input earns a 500: malformed
input is a 4xx, a database that cannot be used just now a 503; an exception nobody foresaw
is a 500 whose body says only that (the traceback goes to the service's log).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from .._version import __version__
from . import generators as registry
from .generators.base import Generator, JobError, shown, text_problem, validate_batch
from .ratelimit import RateLimiter
from .runner import Runner
from .signing import Signer
from .store import Account, Created, NewJob, Store, StoreUnavailable, isoformat

__all__ = ["ServiceState", "create_app", "job_seed"]

log = logging.getLogger(__name__)

MAX_ERRORS = 1000
MAX_JOBS = 100_000
MAX_NAME = 255  # characters in a batch name: the reference sets none; a label, as a Django CharField holds
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EXPIRES = re.compile(r"[0-9]{1,20}")  # ASCII digits only: str.isdigit() also takes "²", which int() refuses
_SIGNATURE = re.compile(r"[0-9A-Fa-f]{1,128}")
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


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


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def _unavailable(reason: str, retry_after: int) -> Response:
    """503: the service cannot answer just now (locked database, full disk); the client may retry."""
    return _json({"detail": f"Service unavailable: {reason}. It is safe to retry in {retry_after} s."},
                 503, {"Retry-After": str(retry_after)})


def _integral(value: Any) -> Any:
    """``value`` with every integral float as an int (500.0 → 500), in lists and objects too."""
    if type(value) is dict:  # leaves are handled in place: a batch has a hundred thousand of them
        return {k: (int(v) if type(v) is float and v.is_integer() else
                    _integral(v) if type(v) in (dict, list) else v) for k, v in value.items()}
    if type(value) is list:
        return [int(v) if type(v) is float and v.is_integer() else
                _integral(v) if type(v) in (dict, list) else v for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_UNPARSED = object()


def _request_hash(raw: bytes, body: Any = _UNPARSED) -> str:
    """What makes two batch POSTs the same request: their JSON content, whatever its key order or spacing.

    A replay of an ``Idempotency-Key`` from another process (a re-run script, another machine)
    serialises the same jobs, but not necessarily byte for byte alike: keys in another order, or
    ``500.0`` where the first run sent ``500`` (a float column against an int one). Those are
    the same jobs to the service, as they are to the client's content key.
    """
    # Not JSON, or nested too deep to walk or re-encode: hashed as it came, and parse_batch answers 400.
    with contextlib.suppress(orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
        raw = orjson.dumps(_integral(orjson.loads(raw) if body is _UNPARSED else body), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()


def _aware(moment: datetime) -> datetime:
    """A time without an offset is the service's local time; at the ends of the calendar, its current offset."""
    if moment.tzinfo is not None:
        return moment
    try:
        return moment.astimezone()
    except (OverflowError, ValueError, OSError):  # year 1 or 9999: the C library's local time cannot say
        return moment.replace(tzinfo=datetime.now().astimezone().tzinfo)


def _shifted(moment: datetime, days: int) -> datetime:
    """``moment`` moved by ``days``, stopping at the first or last time ``datetime`` holds."""
    try:
        return moment + timedelta(days=days)
    except OverflowError:
        return (datetime.max if days > 0 else datetime.min).replace(tzinfo=moment.tzinfo)


def job_seed(params: dict[str, Any]) -> int:
    """The render seed of a job that is not a re-run: a hash of its parameters.

    The same parameters render the same output on any worker; ``state`` is left out
    because a re-run takes its seed job's seed instead.
    """
    canonical = orjson.dumps({k: v for k, v in params.items() if k != "state"}, option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.sha256(canonical).digest()[:8], "big") >> 1


# -- request bodies, for the OpenAPI document (bodies are parsed by hand, see _parse_batch) ----

class JobRunIn(BaseModel):
    name: str = Field(description="The generator's name; the same for every job of a batch.")
    is_preview: bool = Field(False, description="One frame instead of a full job; the same for the batch.")
    param_values: dict[str, Any] = Field(default_factory=dict, description="Parameters; defaults fill the rest.")


class BatchIn(BaseModel):
    name: str = Field("", description="The batch's name.")
    job_runs: list[JobRunIn] = Field(description="The jobs, in order.")


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` inlined: the OpenAPI document has no such components."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.rsplit("/", 1)[1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_BATCH_EXAMPLE = {"name": "example", "job_runs": [{"name": "shapes-v0.1.0", "is_preview": False,
                                                   "param_values": {"num_images": 1}}]}
_BATCH_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": _inline(BatchIn.model_json_schema()), "example": _BATCH_EXAMPLE}}}}


# -- response bodies, for the OpenAPI document (routes answer with orjson, see _json) ---------

class ErrorOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    detail: str = Field(description="What went wrong and what to do.")


class JobErrorOut(BaseModel):
    job: int
    param: str | None
    message: str


class InvalidOut(ErrorOut):
    errors: list[JobErrorOut] = Field(default_factory=list, description="Per job and parameter, when jobs are invalid.")


class ShortfallOut(ErrorOut):
    required: int
    balance: int
    shortfall: int


class GeneratorOut(BaseModel):
    name: str
    version: str | None
    description: str
    options: dict[str, Any]


class GeneratorDetailOut(GeneratorOut):
    params: list[dict[str, Any]]
    constraints: list[dict[str, Any]] = Field(default_factory=list)
    recommended: dict[str, Any] = Field(
        default_factory=dict,
        description="Extension: the distributions a sweep should start from ({distributions: {param: "
                    "{distribution, ...}}, constraints: [...]}); clients draw from them by default.")
    service_id: str = Field(description="This service's stable id (extension): the same across restarts.")


JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobRunOut(BaseModel):
    id: str
    name: str
    batch_id: str
    is_preview: bool
    param_values: dict[str, Any]
    state: JobState
    in_progress: bool
    result_url: str | None
    estimated_samples: int
    samples: int | None
    created: str
    finished: str | None
    error: str | None


class BatchListOut(BaseModel):
    id: str
    name: str
    created: str
    generator: str
    is_preview: bool
    num_jobs: int


class BatchOut(BatchListOut):
    job_runs: list[JobRunOut]


class CancelOut(BatchOut):
    cancelled: int


class SummaryRunOut(BaseModel):
    id: str
    name: str
    state: JobState
    in_progress: bool
    result_url: str | None
    samples: int | None


class SummaryOut(BaseModel):
    id: str
    job_runs: list[SummaryRunOut]


class UsageRowOut(BaseModel):
    generator: str
    preview_samples_rendered: int
    non_preview_samples_rendered: int


class UsageOut(BaseModel):
    counts_by_generator: list[UsageRowOut]
    start_time: str
    end_time: str


class AccountOut(BaseModel):
    name: str
    service_id: str = Field(description="This service's stable id: the same across restarts and ports.")
    balance: int
    granted: int
    charged: int
    reserved: int


def _errors(**statuses: tuple[type[BaseModel], str]) -> dict[int | str, dict[str, Any]]:
    return {int(code[1:]): {"model": model, "description": text} for code, (model, text) in statuses.items()}


_COMMON_ERRORS = _errors(
    s400=(InvalidOut, "A malformed request: body, query or header."),
    s401=(ErrorOut, "No token, or a wrong one."),
    s429=(ErrorOut, "Throttled; `Retry-After` says when to come back."),
    s503=(ErrorOut, "The database is locked by another process or the disk is full; nothing was changed. "
                    "Safe to retry after `Retry-After` seconds."),
)
for _status in (429, 503):
    _COMMON_ERRORS[_status]["headers"] = {"Retry-After": {
        "required": True, "description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}
_NOT_FOUND = _errors(s404=(ErrorOut, "No such thing for this account (another account's is the same: 404)."))
_TOO_LARGE = _errors(s413=(ErrorOut, "The request body is over the size limit."))


def create_app(state: ServiceState) -> FastAPI:
    """The FastAPI application of the local service."""
    app = FastAPI(
        title="infinityframe local service",
        version=__version__,
        description="The Infinity synthetic-data REST API, served locally by infinityframe.",
        docs_url="/api/schema/swagger-ui/",
        redoc_url=None,
    )
    app.state.service = state
    store, signer = state.store, state.signer
    token_header = APIKeyHeader(name="Authorization", auto_error=False,
                                description="`Token <key>`: the literal word Token, a space, then the key.")

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return _json(exc.body, exc.status, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return _json({"detail": "Invalid request: " + "; ".join(problems)}, 400)

    # Once, here, for every route: a database that cannot be used just now is a 503 to retry.
    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
        log.warning("%s %s answered 503: %s", request.method, request.url.path, exc.reason)
        return _unavailable(f"{exc.reason}; nothing was changed", exc.retry_after)

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError) -> Response:
        if exc.errno not in _DISK_FULL:
            raise exc  # a genuine fault: the 500 handler below answers it and the server logs it
        log.warning("%s %s answered 503: the disk is full", request.method, request.url.path)
        return _unavailable("the disk holding the service's data dir is full", 30)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        # The traceback is logged by the server; the body names no path, value or token.
        return _json({"detail": "Internal error: the service failed while answering this request (it is in the "
                                "service's log). Retrying is unlikely to help; report it if it persists."}, 500)

    def authenticate(request: Request, authorization: str | None = Depends(token_header)) -> Account:
        scheme, _, token = (authorization or "").partition(" ")
        account = store.authenticate(token.strip()) if scheme == "Token" and token.strip() else None
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
            raise ApiError(401, "Invalid token header. Use 'Authorization: Token <key>'.",
                           {"WWW-Authenticate": "Token"})
        raise ApiError(401, "Invalid token.", {"WWW-Authenticate": "Token"})

    api = APIRouter(prefix="/api", dependencies=[Depends(authenticate)], responses=_COMMON_ERRORS)

    def base_url(request: Request) -> str:
        return str(request.base_url)

    def job_run(row: Any, base: str) -> dict[str, Any]:
        job_state = row["state"]
        return {
            "id": row["id"],
            "name": row["generator"],
            "batch_id": row["batch_id"],
            "is_preview": bool(row["is_preview"]),
            "param_values": orjson.Fragment(row["params"]),
            "state": job_state,
            "in_progress": job_state in ("queued", "running"),
            "result_url": signer.url(base, row["id"]) if job_state == "succeeded" else None,
            "estimated_samples": row["estimated_samples"],
            "samples": row["samples"],
            "created": row["created"],
            "finished": row["finished"],
            "error": row["error"],
        }

    def batch_body(batch: Any, base: str, jobs: Any = None) -> dict[str, Any]:
        """A batch and its jobs as the API answers them; ``jobs``: its job rows when already at hand."""
        return {
            "id": batch["id"],
            "name": batch["name"],
            "created": batch["created"],
            "generator": batch["generator"],
            "is_preview": bool(batch["is_preview"]),
            "num_jobs": batch["num_jobs"],
            "job_runs": [job_run(row, base) for row in (store.jobs_of_batch(batch["id"]) if jobs is None else jobs)],
        }

    def owned_batch(account: Account, batch_id: str) -> Any:
        batch = store.batch(account.id, batch_id)
        if batch is None:
            raise ApiError(404, "Not found.")
        return batch

    # -- generators ------------------------------------------------------------------------------

    @api.get("/jobs/", summary="List the generators this token may use",
             responses={200: {"model": list[GeneratorOut]}})
    def list_generators() -> Response:
        return _json([
            {k: meta[k] for k in ("name", "version", "description", "options")}
            for meta in (g.metadata() for g in registry.available().values())
        ])

    @api.get("/jobs/{generator_name}/", summary="A generator's metadata: params and options",
             responses={200: {"model": GeneratorDetailOut}, **_NOT_FOUND})
    def generator_detail(generator_name: str) -> Response:
        gen = registry.get(generator_name)
        if gen is None:
            raise ApiError(404, "Not found.")
        return _json({**gen.metadata(), "service_id": state.service_id})

    # -- batches ---------------------------------------------------------------------------------

    def parse_batch(raw: bytes, account: Account, body: Any = _UNPARSED) -> tuple[str, Generator, bool, list[NewJob]]:
        try:
            body = orjson.loads(raw) if body is _UNPARSED else body
        except orjson.JSONDecodeError as err:
            raise ApiError(400, f"JSON parse error: {err}") from err
        if not isinstance(body, dict):
            raise ApiError(400, "The body must be a JSON object with 'name' and 'job_runs'.")
        name = body.get("name", "")
        if name is None:
            name = ""
        if not isinstance(name, str):
            raise ApiError(400, "'name' must be a string.")
        runs = body.get("job_runs")
        if not isinstance(runs, list) or not runs:
            raise ApiError(400, "'job_runs' must be a non-empty list of jobs.")
        if len(runs) > MAX_JOBS:
            raise ApiError(400, f"A batch holds at most {MAX_JOBS} jobs; this one has {len(runs)}.")
        first = runs[0] if isinstance(runs[0], dict) else {}
        gen_name, preview = first.get("name"), first.get("is_preview", False)
        gen = registry.get(gen_name) if isinstance(gen_name, str) else None
        if gen is None:
            raise ApiError(400, f"Unknown generator {shown(gen_name)}.",
                           errors=[JobError(0, None, f"unknown generator {shown(gen_name)}")])
        if not isinstance(preview, bool):
            raise ApiError(400, "'is_preview' must be true or false.",
                           errors=[JobError(0, None, "is_preview must be a boolean")])
        if preview and not gen.supports_preview:
            raise ApiError(400, f"Previews are not supported for {gen.name}.",
                           errors=[JobError(0, None, f"{gen.name} has no previews")])
        errors: list[JobError] = []
        for i, run in enumerate(runs):
            if not isinstance(run, dict):
                errors.append(JobError(i, None, f"row {i}: each job run must be an object"))
                continue
            if run.get("name") != gen.name:
                errors.append(JobError(i, None, f"row {i}: job generator {shown(run.get('name'))} differs from the "
                                                f"batch's {gen.name!r}; a batch holds one generator"))
            if run.get("is_preview", False) != preview:
                errors.append(JobError(i, None, f"row {i}: is_preview differs from the batch's first job"))
        # The whole batch's parameters as one table: the checks of a frame, worded the same.
        checked = validate_batch(gen, [run.get("param_values", {}) if isinstance(run, dict) else {} for run in runs])
        errors.extend(e for _, found in checked for e in found)
        errors.sort(key=lambda e: e["job"])  # stable: a job's own errors keep their order
        completed = [params for params, _ in checked if params is not None]
        seeds = store.seeds(account.id, (p["state"] for p in completed if p.get("state")))
        if not errors:
            for i, params in enumerate(completed):
                if params.get("state") and params["state"] not in seeds:
                    errors.append(JobError(i, "state",
                                           f"row {i}, state: {params['state']!r} is not a job of this account"))
        if errors:
            jobs_hit = len({e["job"] for e in errors})
            listed = errors[:MAX_ERRORS]
            raise ApiError(
                400,
                f"{jobs_hit} of {len(runs)} job(s) are invalid ({len(errors)} error(s)"
                + (f", first {MAX_ERRORS} shown" if len(errors) > MAX_ERRORS else "")
                + f"). First: {listed[0]['message']}",
                errors=listed,
            )
        jobs = [
            NewJob(params, seeds[params["state"]] if params.get("state") else job_seed(params),
                   1 if preview else int(gen.estimate(params, preview)))
            for params in completed
        ]
        return name, gen, preview, jobs

    def check_name(name: str) -> None:
        # Only a batch POST stores the name; an estimate ignores it.
        problem = text_problem(name, MAX_NAME)
        if problem is not None:
            raise ApiError(400, f"The batch's 'name' {problem}; give a shorter, single-line name.")

    async def read_body(request: Request) -> bytes:
        limit = state.max_body_bytes
        declared = request.headers.get("content-length")
        too_big = ApiError(413, f"Request body is larger than the {limit} bytes this service accepts; "
                                "split the batch.")
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    @api.post("/batch/", status_code=201, openapi_extra=_BATCH_BODY,
              summary="Submit a batch of jobs (Idempotency-Key: same key, same batch)",
              responses={201: {"model": BatchOut}, **_TOO_LARGE, **_errors(
                  s402=(ShortfallOut, "The batch's estimate exceeds the balance."),
                  s409=(ErrorOut, "The Idempotency-Key was used for another request."))})
    async def create_batch(
        request: Request,
        account: Account = Depends(authenticate),
        idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255),
    ) -> Response:
        raw = await read_body(request)
        base = base_url(request)

        def work() -> Response:
            body: Any = _UNPARSED
            with contextlib.suppress(orjson.JSONDecodeError):  # parse_batch answers 400 for it
                body = orjson.loads(raw)  # once, for the hash and the jobs
            # Re-encoding the whole body costs as much as parsing it: only a keyed request needs it.
            request_hash = _request_hash(raw, body) if idempotency_key is not None else None
            if idempotency_key is not None:
                seen = store.find_idempotent(account.id, idempotency_key)
                if seen is not None:
                    return replay(seen[0], seen[1], request_hash)
            name, gen, preview, jobs = parse_batch(raw, account, body)
            check_name(name)
            created = store.create_batch(
                account.id, name, gen.name, preview, jobs,
                idempotency_key=idempotency_key, request_hash=request_hash,
            )
            if isinstance(created, Created):  # answered from the rows just written, not read back
                if state.runner is not None:
                    state.runner.wake()
                return _json(batch_body(created.batch, base, created.jobs), 201)
            batch_id, outcome = created
            if batch_id is None:
                required = sum(j.estimated_samples for j in jobs)
                raise ApiError(
                    402,
                    f"Insufficient samples: this batch needs {required} but the balance is {outcome}, "
                    f"short by {required - outcome}.",
                    required=required, balance=outcome, shortfall=required - outcome,
                )
            # A concurrent request with the same key won the race: was it this request?
            seen = store.find_idempotent(account.id, idempotency_key) if idempotency_key is not None else None
            return replay(batch_id, seen[1] if seen is not None else request_hash, request_hash)

        def replay(batch_id: str, first_hash: str | None, request_hash: str | None) -> Response:
            if first_hash != request_hash:
                raise ApiError(409, f"Idempotency-Key {idempotency_key!r} was already used for a different "
                                    f"request (batch {batch_id}); use a new key for a new batch.")
            return _json(batch_body(owned_batch(account, batch_id), base), 201, {"Idempotent-Replayed": "true"})

        return await run_in_threadpool(work)

    @api.post("/batch/estimate/", openapi_extra=_BATCH_BODY, summary="Samples each job would cost",
              responses={200: {"model": list[int]}, **_TOO_LARGE})
    async def estimate_batch(request: Request, account: Account = Depends(authenticate)) -> Response:
        raw = await read_body(request)
        _, _, _, jobs = await run_in_threadpool(parse_batch, raw, account)
        return _json([j.estimated_samples for j in jobs])

    def parse_time(value: str | None, name: str) -> datetime | None:
        if value is None or value == "":
            return None
        try:
            parsed = datetime.fromisoformat(value.strip().replace(" ", "+"))
        except ValueError as err:
            raise ApiError(400, f"{name} {shown(value)} is not an ISO-8601 time.") from err
        return _aware(parsed)

    def window(start_time: str | None, end_time: str | None) -> tuple[datetime | None, datetime | None]:
        start, end = parse_time(start_time, "start_time"), parse_time(end_time, "end_time")
        if start is not None and end is not None and end < start:
            raise ApiError(400, f"end_time {end_time} is before start_time {start_time}.")
        return start, end

    @api.get("/batch/", summary="The account's batches in a time window, oldest first",
             responses={200: {"model": list[BatchListOut]}})
    def list_batches(account: Account = Depends(authenticate),
                     start_time: str | None = Query(None), end_time: str | None = Query(None)) -> Response:
        start, end = window(start_time, end_time)
        rows = store.batches(account.id, start.timestamp() if start else None, end.timestamp() if end else None)
        return _json([
            {"id": r["id"], "name": r["name"], "created": r["created"], "generator": r["generator"],
             "is_preview": bool(r["is_preview"]), "num_jobs": r["num_jobs"]}
            for r in rows
        ])

    @api.get("/batch/{batch_id}/", summary="A batch with every job's parameters and state",
             responses={200: {"model": BatchOut}, **_NOT_FOUND})
    def batch_detail(batch_id: str, request: Request, account: Account = Depends(authenticate)) -> Response:
        return _json(batch_body(owned_batch(account, batch_id), base_url(request)))

    @api.get("/batch/{batch_id}/summary/", summary="Each job's progress and result URL",
             responses={200: {"model": SummaryOut}, **_NOT_FOUND})
    def batch_summary(batch_id: str, request: Request, account: Account = Depends(authenticate)) -> Response:
        owned_batch(account, batch_id)
        base = base_url(request)
        rows = store.jobs_of_batch(batch_id, "id, generator, state, samples")
        return _json({"id": batch_id, "job_runs": [
            {"id": r["id"], "name": r["generator"], "state": r["state"],
             "in_progress": r["state"] in ("queued", "running"),
             "result_url": signer.url(base, r["id"]) if r["state"] == "succeeded" else None,
             "samples": r["samples"]}
            for r in rows
        ]})

    @api.post("/batch/{batch_id}/cancel/", summary="Cancel the batch's queued jobs (extension)",
              responses={200: {"model": CancelOut}, **_NOT_FOUND})
    def cancel_batch(batch_id: str, request: Request, account: Account = Depends(authenticate)) -> Response:
        owned_batch(account, batch_id)
        cancelled = store.cancel_batch(account.id, batch_id)
        body = batch_body(owned_batch(account, batch_id), base_url(request))
        return _json({**body, "cancelled": cancelled})

    # -- jobs and usage --------------------------------------------------------------------------

    @api.get("/job_runs/counts/", summary="Samples rendered per generator in a time window",
             responses={200: {"model": UsageOut}})
    def usage(account: Account = Depends(authenticate),
              start_time: str | None = Query(None), end_time: str | None = Query(None)) -> Response:
        start, end = window(start_time, end_time)
        if end is None:
            end = _shifted(start, state.default_usage_days) if start else datetime.now().astimezone()
        if start is None:
            start = _shifted(end, -state.default_usage_days)
        by_generator: dict[str, dict[str, Any]] = {}
        for row in store.counts(account.id, start.timestamp(), end.timestamp()):
            entry = by_generator.setdefault(row["generator"], {
                "generator": row["generator"], "preview_samples_rendered": 0, "non_preview_samples_rendered": 0})
            key = "preview_samples_rendered" if row["is_preview"] else "non_preview_samples_rendered"
            entry[key] += int(row["samples"])
        return _json({"counts_by_generator": list(by_generator.values()),
                      "start_time": start.isoformat(), "end_time": end.isoformat()})

    def job_routes(path: str, is_preview: bool, what: str) -> None:
        @api.get(f"/{path}/", summary=f"The account's {what}", name=f"list_{path}",
                 responses={200: {"model": list[JobRunOut]}})
        def list_jobs(request: Request, account: Account = Depends(authenticate),
                      batch_id: str | None = Query(None)) -> Response:
            base = base_url(request)
            return _json([job_run(r, base) for r in store.jobs(account.id, is_preview, batch_id)])

        @api.get(f"/{path}/{{job_id}}/", summary=f"One of the account's {what}", name=f"get_{path}",
                 responses={200: {"model": JobRunOut}, **_NOT_FOUND})
        def job_detail(job_id: str, request: Request, account: Account = Depends(authenticate)) -> Response:
            row = store.job(account.id, job_id, is_preview)
            if row is None:
                raise ApiError(404, "Not found.")
            return _json(job_run(row, base_url(request)))

    job_routes("job_runs", False, "standard jobs")
    job_routes("job_previews", True, "preview jobs")

    @api.get("/account/", summary="The account's sample balance (extension)",
             responses={200: {"model": AccountOut}})
    def account_detail(account: Account = Depends(authenticate)) -> Response:
        totals = store.ledger_totals(account.id)
        return _json({
            "name": account.name,
            "service_id": state.service_id,
            "balance": store.balance(account.id),
            "granted": totals.get("grant", 0),
            "charged": -totals.get("charge", 0),
            "reserved": -(totals.get("reserve", 0) + totals.get("release", 0)),
        })

    app.include_router(api)

    # -- results: signed URLs, no auth header, as an object store's ---------------------------

    @app.get("/results/{job_id}.zip", summary="A job's result archive (signed, expiring URL)",
             response_class=FileResponse, responses={
                 200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                       "description": "The job's zip, holding the folder `<job_id>/`."},
                 **_errors(s403=(ErrorOut, "The URL is expired, altered or unsigned; ask the summary for a new one."),
                           s404=(ErrorOut, "No such result."))})
    def result(job_id: str, request: Request, expires: str | None = Query(None),
               signature: str | None = Query(None)) -> Response:
        if not _UUID.fullmatch(job_id):
            raise ApiError(404, "Not found.")
        repeated = any(len(request.query_params.getlist(k)) > 1 for k in ("expires", "signature"))
        # A missing, garbled or ambiguous signature is a refused URL, as an object store answers it.
        if repeated or not expires or not signature:
            raise ApiError(403, "This result URL is not valid (unsigned); ask the batch summary for a new one.")
        if not _EXPIRES.fullmatch(expires) or not _SIGNATURE.fullmatch(signature):
            raise ApiError(403, "This result URL is not valid (malformed); ask the batch summary for a new one.")
        refused = signer.check(job_id, int(expires), signature)
        if refused is not None:
            raise ApiError(403, f"This result URL is not valid ({refused}); ask the batch summary for a new one.")
        path = state.data_dir / "results" / f"{job_id}.zip"
        if not path.exists():
            raise ApiError(404, "Not found.")
        return FileResponse(path, media_type="application/zip", filename=f"{job_id}.zip")

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return _json({"service": "infinityframe local service", "api": "/api/", "openapi": "/openapi.json",
                      "instance": state.service_id, "time": isoformat(time.time())})

    def openapi() -> dict[str, Any]:
        # Malformed requests are answered 400 (DRF-style), never FastAPI's 422: say so in the document.
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    responses.pop("422", None)
                    if "parameters" in operation or "requestBody" in operation:
                        responses.setdefault("400", {"description": "A malformed request.", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}})
            schemas = document.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
