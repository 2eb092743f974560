"""Results: each succeeded job's zip behind a signed, expiring URL that needs no auth header,
as an object store's; and the service's root, which says what it is."""

from __future__ import annotations

import re
import time

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from ..store import isoformat
from .common import ApiError, JSONResponse, ServiceState, service
from .models import ErrorOut, errors

__all__ = ["router"]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EXPIRES = re.compile(r"[0-9]{1,20}")  # ASCII digits only: str.isdigit() also takes "²", which int() refuses
_SIGNATURE = re.compile(r"[0-9A-Fa-f]{1,128}")

router = APIRouter(tags=["results"])

SENT_FROM_MEMORY = 1024 * 1024
"""Result zips up to this many bytes are read whole and sent from memory; larger ones are streamed."""


@router.get("/results/{job_id}.zip", summary="A job's result archive (signed, expiring URL)",
            response_class=FileResponse, responses={
                200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                      "description": "The job's zip, holding the folder `<job_id>/`."},
                **errors(s403=(ErrorOut, "The URL is expired, altered or unsigned; ask the summary for a new one."),
                         s404=(ErrorOut, "No such result."))})
async def result(job_id: str, request: Request, expires: str | None = Query(None),
                 signature: str | None = Query(None), state: ServiceState = Depends(service)) -> Response:
    """The zip, sent from memory when it is small (a preview's, a short video's), as a file otherwise.

    The checks take microseconds, so they run in the event loop, as does reading a small zip:
    a :class:`FileResponse` hops to a worker thread to look at the file, again to open it and
    again for each piece it reads, which for the demo's 100 KB results cost more than the
    sending (a third of each download's time on the service's side).
    """
    if not _UUID.fullmatch(job_id):
        raise ApiError(404, "Not found.")
    repeated = any(len(request.query_params.getlist(k)) > 1 for k in ("expires", "signature"))
    # A missing, garbled or ambiguous signature is a refused URL, as an object store answers it.
    if repeated or not expires or not signature:
        raise ApiError(403, "This result URL is not valid (unsigned); ask the batch summary for a new one.")
    if not _EXPIRES.fullmatch(expires) or not _SIGNATURE.fullmatch(signature):
        raise ApiError(403, "This result URL is not valid (malformed); ask the batch summary for a new one.")
    refused = state.signer.check(job_id, int(expires), signature)
    if refused is not None:
        raise ApiError(403, f"This result URL is not valid ({refused}); ask the batch summary for a new one.")
    path = state.data_dir / "results" / f"{job_id}.zip"
    try:
        small = path.stat().st_size <= SENT_FROM_MEMORY
        data = path.read_bytes() if small else None
    except FileNotFoundError:
        raise ApiError(404, "Not found.") from None
    if data is None:
        return FileResponse(path, media_type="application/zip", filename=f"{job_id}.zip")
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{job_id}.zip"'})


@router.get("/", include_in_schema=False)
def root(state: ServiceState = Depends(service)) -> Response:
    return JSONResponse({"service": "infinityframe local service", "api": "/api/", "openapi": "/openapi.json",
                         "instance": state.service_id, "time": isoformat(time.time())})
