"""Batches: submit (``POST /api/batch/``, idempotent with ``Idempotency-Key``), estimate, list,
read, summarise and cancel.

A batch body is parsed once (by msgspec against its schema when it is one generator's flat job
runs, as nearly every body is; by orjson otherwise) and its jobs checked as one table (the rules
a frame is checked by, worded the same), encoded once per parameter column (what is stored and
what the request hash digests; :class:`~infinityframe.local.jobtexts.EncodedJobs`) and
estimated at once, then written in one transaction that reserves its estimate and stores the
jobs as one body (:meth:`~infinityframe.local.store.Store.create_batch`). The reply is
formatted from what is written, on another thread while the transaction runs (each job's
parameters written from the columns by polars' JSON writer, byte for byte what orjson writes),
and sent only once the batch is stored; the body is expanded into job rows after the reply has
gone (:meth:`~infinityframe.local.store.Store.expand`), and only then is each job's JSON text
stored on its own row.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Annotated, Any

import msgspec
import numpy as np
import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from .. import generators as registry
from ..generators.base import Generator, JobError, check_batch, encoded_params, shown, text_problem
from ..jobtexts import EncodedJobs, split_lines
from ..store import Account, Created, NewJobs, StoreUnavailable
from .common import (
    ApiError,
    JSONResponse,
    ServiceState,
    authenticate,
    batch_body,
    batch_fields,
    job_body,
    owned_batch,
    service,
    window,
)
from .models import (
    BATCH_BODY,
    NOT_FOUND,
    TOO_LARGE,
    BatchListOut,
    BatchOut,
    CancelOut,
    ErrorOut,
    ShortfallOut,
    SummaryOut,
    errors,
)

__all__ = ["router"]

log = logging.getLogger(__name__)

MAX_ERRORS = 1000
MAX_JOBS = 100_000
MAX_NAME = 255  # characters in a batch name: the reference sets none; a label, as a Django CharField holds

router = APIRouter(tags=["batches"])


@dataclass(frozen=True)
class Parsed:
    """A batch POST's body once every job has passed: its jobs' completed parameters."""

    name: str
    gen: Generator
    preview: bool
    jobs: int
    columns: dict[str, list[Any]]  # every job's completed and converted parameters, by parameter
    seeds: dict[str, int]  # the render seeds of the jobs that re-runs (``state``) name
    arrays: dict[str, tuple[Any, Any]]  # the same columns as the checks hold them: numpy values, present

    def estimates(self) -> list[int]:
        """Samples each job is expected to cost."""
        return self.gen.estimate_batch(self.columns, self.preview)


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


def _legacy_request_hash(raw: bytes, body: Any = _UNPARSED) -> str:
    """The request hash of batches stored by versions before 0.1 (their JSON body, canonicalised).

    Kept so that a replay of an ``Idempotency-Key`` stored by an older service is still
    recognised; new batches are keyed by :func:`_request_hash`.
    """
    # Not JSON, or nested too deep to walk or re-encode: hashed as it came.
    with contextlib.suppress(orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
        raw = orjson.dumps(_integral(orjson.loads(raw) if body is _UNPARSED else body), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()


REQUEST_HASH_TAG = "columns:"
"""How a batch's request hash (:func:`_request_hash`) starts; one without it is an older service's
(:func:`_lines_request_hash`, :func:`_legacy_request_hash`)."""


def _request_hash(name: str, generator: str, preview: bool, jobs: EncodedJobs) -> str:
    """What makes two batch POSTs the same request: the batch's name, generator and jobs.

    The jobs are their completed, converted parameters by column, as stored
    (:attr:`EncodedJobs.body`: the generator's parameters in its order), so a replay of an
    ``Idempotency-Key`` from another process (a re-run script, another machine) matches whatever
    its key order or spacing, and ``500.0`` where the first run sent ``500`` (a float column
    against an int one): those are the same jobs to the service, as they are to the client's
    content key.
    """
    digest = hashlib.sha256(orjson.dumps([name, generator, preview]))
    for part in jobs.body_parts():  # as digest.update(jobs.body), without joining it
        digest.update(part)
    return REQUEST_HASH_TAG + digest.hexdigest()


def _lines_request_hash(name: str, generator: str, preview: bool, jobs: EncodedJobs) -> str:
    """The request hash of batches stored by the versions that kept each job's text, one a line
    (the same jobs as :func:`_request_hash`, digested job by job)."""
    digest = hashlib.sha256(orjson.dumps([name, generator, preview]))
    digest.update(b"\n".join(jobs.job_texts()))
    return digest.hexdigest()


class _CollectionPause:
    """No cyclic garbage collection while a batch body is parsed, checked and stored.

    A 10,000-job body is some 300,000 Python objects, none of them in a cycle, and every full
    collection walks them all, again and again as the request allocates: about a fifth of the
    time it takes to accept the batch. Reference counting frees them as usual; collection resumes
    when the last such request ends (requests run on several threads at once, so the pauses are
    counted), unless it was off before.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._resume = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._count == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._count += 1
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1
                if self._count == 0 and self._resume:
                    gc.enable()


_collection_paused = _CollectionPause()


# A parameter value as nearly every batch holds it: a number (an int within 64 bits, as orjson reads
# one: it reads a longer one as a float), a bool, a string or null.
_Cell = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)] | float | str | bool | None


class _Run(msgspec.Struct, gc=False):
    name: Any = None
    is_preview: Any = False
    param_values: dict[str, _Cell] = msgspec.field(default_factory=dict)


class _Body(msgspec.Struct, gc=False):
    """A batch POST body as nearly every one is: job runs of one generator and preview flag, each
    naming its flat parameters (:func:`_plain_body`)."""

    job_runs: list[_Run]
    name: Any = ""


_plain_decoder = msgspec.json.Decoder(_Body)


def _plain_body(raw: bytes) -> _Body | None:
    """The body, decoded against :class:`_Body` (no object built per job run but its parameters,
    none tracked by the garbage collector), when it is one; ``None`` otherwise, for orjson to read
    and the checks to word (anything msgspec refuses, nested values, runs that differ)."""
    try:
        body = _plain_decoder.decode(raw)
    except (msgspec.MsgspecError, RecursionError):  # a generator name nested a thousand deep, say
        return None
    runs = body.job_runs
    if not runs or not isinstance(runs[0].name, str) or type(runs[0].is_preview) is not bool:
        return None
    try:
        same = {*map(attrgetter("name"), runs)} == {runs[0].name} and \
            {*map(attrgetter("is_preview"), runs)} == {runs[0].is_preview}
    except TypeError:  # an unhashable name
        return None
    return body if same else None


def _parse(state: ServiceState, raw: bytes, account: Account, body: Any = _UNPARSED) -> Parsed:
    """The batch a POST body holds (read here unless given: :func:`_plain_body`, else orjson's
    reading), every job checked; a 400 listing the invalid jobs otherwise."""
    try:
        body = (_plain_body(raw) or orjson.loads(raw)) if body is _UNPARSED else body
    except orjson.JSONDecodeError as err:
        raise ApiError(400, f"JSON parse error: {err}") from err
    if isinstance(body, _Body):  # one generator and preview flag throughout: only the parameters to check
        runs: Any = body.job_runs
        name = "" if body.name is None else body.name
        first = {"name": runs[0].name, "is_preview": runs[0].is_preview}
    elif not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object with 'name' and 'job_runs'.")
    else:
        name = body.get("name", "")
        runs = body.get("job_runs")
        first = runs[0] if isinstance(runs, list) and runs and isinstance(runs[0], dict) else {}
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise ApiError(400, "'name' must be a string.")
    if not isinstance(runs, list) or not runs:
        raise ApiError(400, "'job_runs' must be a non-empty list of jobs.")
    if len(runs) > MAX_JOBS:
        raise ApiError(400, f"A batch holds at most {MAX_JOBS} jobs; this one has {len(runs)}.")
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
    found: list[JobError] = []
    plain = isinstance(body, _Body)
    uniform = plain or _uniform(runs, gen.name, preview)
    for i, run in enumerate([] if uniform else runs):
        if not isinstance(run, dict):
            found.append(JobError(i, None, f"row {i}: each job run must be an object"))
            continue
        if run.get("name") != gen.name:
            found.append(JobError(i, None, f"row {i}: job generator {shown(run.get('name'))} differs from the "
                                           f"batch's {gen.name!r}; a batch holds one generator"))
        if run.get("is_preview", False) != preview:
            found.append(JobError(i, None, f"row {i}: is_preview differs from the batch's first job"))
    # The whole batch's parameters as one table: the checks of a frame, worded the same.
    checked, per_job = check_batch(gen, list(map(attrgetter("param_values"), runs)) if plain else
                                   _param_values(runs) if uniform else
                                   [run.get("param_values", {}) if isinstance(run, dict) else {} for run in runs])
    if any(per_job):  # nearly every batch passes: 10,000 empty lists are not looked into one by one
        for job in per_job:
            found.extend(job)
    _refuse(found, len(runs))
    states = checked.columns.get("state") or []
    seeds: dict[str, int] = {}
    if any(states):  # re-runs name their seed jobs; most batches name none
        seeds = state.store.seeds(account.id, (s for s in states if s))
        _refuse([JobError(i, "state", f"row {i}, state: {s!r} is not a job of this account")
                 for i, s in enumerate(states) if s and s not in seeds], len(runs))
    arrays = {name: (read.column, read.present) for name, read in checked.read.items()}
    return Parsed(name, gen, preview, len(runs), checked.columns, seeds, arrays)


def _uniform(runs: list[Any], generator: str, preview: bool) -> bool:
    """Whether every job run is an object naming ``generator`` and ``preview``, as nearly every
    batch's are: looked at a field at a time, in C, not a job at a time."""
    try:
        return ({*map(dict.get, runs, repeat("name"))} == {generator}
                and {*map(dict.get, runs, repeat("is_preview"), repeat(False))} == {preview})
    except TypeError:  # a run that is not an object, or an unhashable name: the job-by-job loop words it
        return False


def _param_values(runs: list[dict[str, Any]]) -> list[Any]:
    """Each job run's ``param_values`` (every run an object): a missing one is an empty object."""
    return list(map(dict.get, runs, repeat("param_values"), repeat({})))


def _refuse(found: list[JobError], jobs: int) -> None:
    """Answer 400 for a batch with invalid jobs, listing the first failures by job."""
    if not found:
        return
    found.sort(key=lambda e: e["job"])  # stable: a job's own errors keep their order
    jobs_hit = len({e["job"] for e in found})
    listed = found[:MAX_ERRORS]
    raise ApiError(
        400,
        f"{jobs_hit} of {jobs} job(s) are invalid ({len(found)} error(s)"
        + (f", first {MAX_ERRORS} shown" if len(found) > MAX_ERRORS else "")
        + f"). First: {listed[0]['message']}",
        errors=listed,
    )


def _encoded(parsed: Parsed, encoded: EncodedJobs | None = None) -> EncodedJobs:
    """The jobs' parameters encoded by column (400 for a value JSON cannot hold, naming the job),
    into ``encoded`` if given (the same jobs, not encoded yet)."""
    try:
        if encoded is None:
            return EncodedJobs.of(parsed.columns, parsed.jobs, parsed.arrays)
        encoded.texts  # noqa: B018 - encoded here, where a value JSON cannot hold is refused
        return encoded
    except orjson.JSONEncodeError:  # the job-by-job encoding names each value JSON cannot hold
        names = list(parsed.columns)
        _refuse(encoded_params([dict(zip(names, row, strict=True))
                                for row in zip(*parsed.columns.values(), strict=True)])[1], parsed.jobs)
        raise


def _new_jobs(parsed: Parsed, encoded: EncodedJobs, estimates: list[int] | None = None) -> NewJobs:
    """The jobs to store: each with its estimate (worked out here unless given) and, for a re-run,
    its seed job's seed (the others' seeds are a hash of their parameters, worked out when the
    batch is expanded)."""
    states, seeds = parsed.columns.get("state"), parsed.seeds
    return NewJobs(encoded, [seeds[s] if s else None for s in states] if states else [None] * parsed.jobs,
                   parsed.estimates() if estimates is None else estimates)


def _check_name(name: str) -> None:
    # Only a batch POST stores the name; an estimate ignores it.
    problem = text_problem(name, MAX_NAME)
    if problem is not None:
        raise ApiError(400, f"The batch's 'name' {problem}; give a shorter, single-line name.")


async def _read_body(request: Request, limit: int) -> bytes:
    too_big = ApiError(413, f"Request body is larger than the {limit} bytes this service accepts; split the batch.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


_ID, _PARAMS, _ESTIMATE = "\x01id\x01", b'"\\u0002params\\u0002"', 1_234_567_890_123_456_789


REPLY_CHUNK = 2 * 1024 * 1024
"""Bytes in each piece of a streamed 201 (:func:`_sent`): a reply streamed in pieces reaches a
client sooner than the same bytes sent whole with a ``Content-Length``."""

_formatting = ThreadPoolExecutor(max_workers=2, thread_name_prefix="batch-reply")
"""Where a 201 is formatted while its batch is stored (polars and SQLite leave the GIL to each other)."""


def _job_template(created: Created) -> bytes:
    """One job of the reply as JSON text, with stand-ins for its id, parameters and estimate."""
    batch = created.batch
    return orjson.dumps(job_body(_ID, batch["generator"], batch["id"], bool(batch["is_preview"]), _PARAMS.decode(),
                                 "queued", None, _ESTIMATE, None, batch["created"], None, None))


def _new_batch_reply(created: Created) -> list[bytes | memoryview]:
    """A batch just stored, answered from what was written: every job queued, nothing rendered yet.

    The body :func:`~.common.batch_body` would give for it, byte for byte, in pieces of at most
    :data:`REPLY_CHUNK` bytes, formatted without a dictionary per job: by polars in one query
    when it writes the parameters as orjson does (:func:`_formatted_by_polars`), else from one
    job's text with stand-ins filled in job by job.
    """
    return _pieces(created, _formatted_by_polars(created))


def _pieces(created: Created, jobs: bytes | memoryview | None) -> list[bytes | memoryview]:
    """The 201 body of ``created`` in pieces of at most :data:`REPLY_CHUNK` bytes, its jobs
    comma-separated (``jobs``, or formatted here job by job if ``None``)."""
    head = orjson.dumps({**batch_fields(created.batch), "job_runs": []})[:-len(b"]}")]
    if jobs is None:
        template = (_job_template(created).replace(b"%", b"%%").replace(orjson.dumps(_ID), b'"%s"')
                    .replace(_PARAMS, b"%s").replace(str(_ESTIMATE).encode(), b"%d"))
        ids = created.id_text
        jobs = b",".join([template % (ids[start:start + 36], params, estimate) for start, params, estimate
                          in zip(range(0, len(ids), 36), created.texts, created.estimates, strict=True)])
    whole = memoryview(jobs)  # pieces of it, not copies: 10 MB copied is 10 MB of fresh pages to fault in
    return [head, *(whole[start:start + REPLY_CHUNK] for start in range(0, len(whole), REPLY_CHUNK)), b"]}"]


def _formatted_by_polars(created: Created) -> memoryview | None:
    """The jobs of the 201 body of ``created``, comma-separated, formatted by polars
    (:func:`_jobs_query`); ``None`` when polars cannot write the parameters as orjson does."""
    query = _jobs_query(created)
    return None if query is None else _run(query)[0]


def _jobs_query(created: Created) -> Any:
    """The polars query that formats each job of the 201 body of ``created``, a comma after
    each: one job's text with stand-ins (:func:`_job_template`), its id, parameters and estimate
    put in their places. Built, not run (:func:`_run`); ``None`` when polars cannot write the
    parameters as orjson does (:attr:`EncodedJobs.frame`).

    Building it takes the GIL, running it does not: the service builds it, then runs it on
    another thread while it hashes and stores the batch. Its two outputs are evaluated one after
    the other (``select_seq``), not fanned out over polars' pool: spread over both cores the
    query slowed the storing beside it and itself (from the checks to the reply ready, 29 ms
    against 18 ms, in-process for 10,000 jobs on two cores).
    """
    params = created.params
    if not isinstance(params, EncodedJobs) or params.frame is None:
        return None
    import polars as pl

    first, rest = _job_template(created).decode().split(orjson.dumps(_ID).decode())
    before, rest = rest.split(_PARAMS.decode())
    after, last = rest.split(str(_ESTIMATE))
    ids = np.frombuffer(created.id_text, dtype="S36")  # each id a cell, without a str per id
    jobs = pl.DataFrame([pl.Series("id", ids), params.frame.to_struct("params"),
                         pl.Series("estimate", created.estimates, dtype=pl.Int64)])
    params_text = pl.col("params").struct.json_encode()  # written once, kept for the expansion too
    return jobs.lazy().select_seq(pl.concat_str([
        pl.lit(first + '"'), pl.col("id").cast(pl.String), pl.lit('"' + before), params_text, pl.lit(after),
        pl.col("estimate").cast(pl.String), pl.lit(last + ",")]).alias("job"), params_text.alias("params"))


def _run(query: Any) -> tuple[memoryview, Any]:
    """The jobs :func:`_jobs_query` formats, comma-separated, as one run of bytes, and each job's
    parameters as written (a polars String Series, :attr:`EncodedJobs.lines`: the expansion
    into job rows stores them).

    The jobs are read from the Arrow buffer that holds every job's text end to end, in order (a
    string array's values buffer, between its first and last offsets): no join, no copy.
    """
    import pyarrow as pa

    formatted = query.collect()
    texts = formatted.to_series(0).to_arrow()
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if texts.type != pa.large_string():
        texts = texts.cast(pa.large_string())
    if texts.null_count:
        raise ValueError("a job of the reply was formatted as null")
    _, offsets, values = texts.buffers()
    start, stop = np.frombuffer(offsets, dtype=np.int64)[[texts.offset, texts.offset + len(texts)]].tolist()
    return memoryview(values)[start:stop - len(b",")], formatted.to_series(1)  # the view keeps the buffer alive


async def _sent(pieces: list[bytes | memoryview]) -> AsyncIterator[bytes | memoryview]:
    """Pieces formatted already, streamed from the event loop (no worker thread per piece)."""
    for piece in pieces:
        yield piece


def _expand_after_reply(state: ServiceState, batch_id: str, lines: Any, request_body: Any = None) -> None:
    """Expand the batch just accepted into job rows (its jobs' parameters as the reply wrote them,
    :func:`_run`, if it did), then wake the runner to claim them.

    ``request_body`` is only held: the request's parsed body, 10,000 jobs' objects, is freed with
    the task once the reply has gone, not before it.
    """
    texts = None if lines is None else split_lines(lines)
    try:
        state.store.expand(None if texts is None else {batch_id: texts})
    except StoreUnavailable as err:  # the next read of its jobs, or the runner's next claim, expands it
        log.warning("a batch accepted is not expanded into jobs yet: %s", err.reason)
    if state.runner is not None:
        state.runner.wake()


class _Submission:
    """One batch POST: stored once per ``Idempotency-Key``, replayed (or refused, 409) after."""

    def __init__(self, state: ServiceState, account: Account, raw: bytes, base: str, key: str | None) -> None:
        self.state, self.account, self.raw, self.base, self.key = state, account, raw, base, key
        self.body: Any = _UNPARSED

    def answer(self) -> Response:
        """The reply: run on a worker thread, with cyclic garbage collection paused.

        Once the jobs have passed, the 201 is formatted on another thread while the batch is
        hashed and stored (:meth:`~infinityframe.local.store.Store.draft_batch` draws its ids
        first); it is sent only if the transaction stored the batch, and dropped otherwise.
        """
        self.body = _plain_body(self.raw)  # read once
        if self.body is None:
            self.body = _UNPARSED
            with contextlib.suppress(orjson.JSONDecodeError):  # _parse answers 400 for it
                self.body = orjson.loads(self.raw)
        store = self.state.store
        if self.key is not None:
            seen = store.find_idempotent(self.account.id, self.key)
            if seen is not None:
                return self.replay(seen[0], seen[1])
        parsed = _parse(self.state, self.raw, self.account, self.body)
        _check_name(parsed.name)
        encoded = EncodedJobs(parsed.columns, None, parsed.jobs, parsed.arrays)  # each column encoded below
        draft = store.draft_batch(parsed.name, parsed.gen.name, parsed.preview, encoded, parsed.estimates())
        query = _jobs_query(draft)
        reply = _formatting.submit(_run, query) if query is not None else None
        try:
            _encoded(parsed, encoded)
            jobs = _new_jobs(parsed, encoded, draft.estimates)
            request_hash = (_request_hash(parsed.name, parsed.gen.name, parsed.preview, encoded)
                            if self.key is not None else None)
            created = store.create_batch(self.account.id, parsed.name, parsed.gen.name, parsed.preview, jobs,
                                         idempotency_key=self.key, request_hash=request_hash, draft=draft)
        except BaseException:
            if reply is not None:
                reply.cancel()  # not stored: never sent (one already being formatted is dropped when done)
            raise
        if isinstance(created, Created):  # stored: answered from what was just written, not read back
            jobs_text, lines = (None, None) if reply is None else reply.result()
            return StreamingResponse(_sent(_pieces(created, jobs_text)), 201, media_type="application/json",
                                     background=BackgroundTask(_expand_after_reply, self.state, created.batch["id"],
                                                               lines, self.body))
        if reply is not None:
            reply.cancel()  # another request stored it, or the balance is short: never sent
        batch_id, outcome = created
        if batch_id is None:
            required = sum(jobs.estimates)
            raise ApiError(
                402,
                f"Insufficient samples: this batch needs {required} but the balance is {outcome}, "
                f"short by {required - outcome}.",
                required=required, balance=outcome, shortfall=required - outcome,
            )
        # A concurrent request with the same key won the race: was it this request?
        seen = store.find_idempotent(self.account.id, self.key) if self.key is not None else None
        return self.replay(batch_id, seen[1] if seen is not None else request_hash)

    def same_request(self, first_hash: str | None) -> bool:
        """Whether this request is the one that stored ``first_hash`` (an older service's hash too)."""
        if first_hash is None:
            return False
        try:
            parsed = _parse(self.state, self.raw, self.account, self.body)
            encoded = _encoded(parsed)
        except ApiError:  # the first request was a valid batch: an invalid one differs from it
            parsed = None
        if first_hash.startswith(REQUEST_HASH_TAG):
            return parsed is not None and first_hash == _request_hash(parsed.name, parsed.gen.name, parsed.preview,
                                                                      encoded)
        return ((parsed is not None
                 and first_hash == _lines_request_hash(parsed.name, parsed.gen.name, parsed.preview, encoded))
                or first_hash == _legacy_request_hash(self.raw, self._loaded()))

    def _loaded(self) -> Any:
        """The body as orjson reads it, if it was read so (a :class:`_Body` is not: the legacy hash
        canonicalises orjson's reading)."""
        return _UNPARSED if isinstance(self.body, _Body) else self.body

    def replay(self, batch_id: str, first_hash: str | None) -> Response:
        if not self.same_request(first_hash):
            raise ApiError(409, f"Idempotency-Key {self.key!r} was already used for a different "
                                f"request (batch {batch_id}); use a new key for a new batch.")
        batch = owned_batch(self.state, self.account, batch_id)
        return JSONResponse(batch_body(self.state, batch, self.base), 201, {"Idempotent-Replayed": "true"})


@router.post("/batch/", status_code=201, openapi_extra=BATCH_BODY, response_model=BatchOut,
             summary="Submit a batch of jobs (Idempotency-Key: same key, same batch)",
             responses={**TOO_LARGE, **errors(
                 s402=(ShortfallOut, "The batch's estimate exceeds the balance."),
                 s409=(ErrorOut, "The Idempotency-Key was used for another request."))})
async def create_batch(
    request: Request,
    account: Account = Depends(authenticate),
    state: ServiceState = Depends(service),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255),
) -> Response:
    raw = await _read_body(request, state.max_body_bytes)
    submission = _Submission(state, account, raw, str(request.base_url), idempotency_key)

    def work() -> Response:
        with _collection_paused():
            try:
                return submission.answer()
            finally:  # no longer the submission's (a 201's background task frees it after the reply)
                submission.body = _UNPARSED

    return await run_in_threadpool(work)


@router.post("/batch/estimate/", openapi_extra=BATCH_BODY, response_model=list[int],
             summary="Samples each job would cost", responses=TOO_LARGE)
async def estimate_batch(request: Request, account: Account = Depends(authenticate),
                         state: ServiceState = Depends(service)) -> Response:
    raw = await _read_body(request, state.max_body_bytes)

    def work() -> Response:
        with _collection_paused():
            return JSONResponse(_parse(state, raw, account).estimates())

    return await run_in_threadpool(work)


@router.get("/batch/", response_model=list[BatchListOut],
            summary="The account's batches in a time window, oldest first")
def list_batches(account: Account = Depends(authenticate), state: ServiceState = Depends(service),
                 start_time: str | None = Query(None), end_time: str | None = Query(None)) -> Response:
    start, end = window(start_time, end_time)
    rows = state.store.batches(account.id, start.timestamp() if start else None, end.timestamp() if end else None)
    return JSONResponse([
        {"id": r["id"], "name": r["name"], "created": r["created"], "generator": r["generator"],
         "is_preview": bool(r["is_preview"]), "num_jobs": r["num_jobs"]}
        for r in rows
    ])


@router.get("/batch/{batch_id}/", response_model=BatchOut, responses=NOT_FOUND,
            summary="A batch with every job's parameters and state")
def batch_detail(batch_id: str, request: Request, account: Account = Depends(authenticate),
                 state: ServiceState = Depends(service)) -> Response:
    return JSONResponse(batch_body(state, owned_batch(state, account, batch_id), str(request.base_url)))


@router.get("/batch/{batch_id}/summary/", response_model=SummaryOut, responses=NOT_FOUND,
            summary="Each job's progress and result URL")
def batch_summary(batch_id: str, request: Request, account: Account = Depends(authenticate),
                  state: ServiceState = Depends(service)) -> Response:
    owned_batch(state, account, batch_id)
    base = str(request.base_url)
    rows = state.store.jobs_of_batch(batch_id, "id, generator, state, samples")
    return JSONResponse({"id": batch_id, "job_runs": [
        {"id": r["id"], "name": r["generator"], "state": r["state"],
         "in_progress": r["state"] in ("queued", "running"),
         "result_url": state.signer.url(base, r["id"]) if r["state"] == "succeeded" else None,
         "samples": r["samples"]}
        for r in rows
    ]})


@router.post("/batch/{batch_id}/cancel/", response_model=CancelOut, responses=NOT_FOUND,
             summary="Cancel the batch's queued jobs (extension)")
def cancel_batch(batch_id: str, request: Request, account: Account = Depends(authenticate),
                 state: ServiceState = Depends(service)) -> Response:
    owned_batch(state, account, batch_id)
    cancelled = state.store.cancel_batch(account.id, batch_id)
    body = batch_body(state, owned_batch(state, account, batch_id), str(request.base_url))
    return JSONResponse({**body, "cancelled": cancelled})
