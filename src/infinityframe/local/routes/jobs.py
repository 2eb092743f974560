"""Generators and jobs: the generators a token may use with their metadata, the account's
standard jobs (``/api/job_runs/``) and previews (``/api/job_previews/``), and the samples
rendered per generator (``/api/job_runs/counts/``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from .. import generators as registry
from ..store import Account
from .common import ApiError, JSONResponse, ServiceState, authenticate, job_run, service, shifted, window
from .models import NOT_FOUND, GeneratorDetailOut, GeneratorOut, JobRunOut, UsageOut

__all__ = ["router"]

router = APIRouter(tags=["generators and jobs"])


@router.get("/jobs/", response_model=list[GeneratorOut], summary="List the generators this token may use")
def list_generators() -> Response:
    return JSONResponse([
        {k: meta[k] for k in ("name", "version", "description", "options")}
        for meta in (g.metadata() for g in registry.available().values())
    ])


@router.get("/jobs/{generator_name}/", response_model=GeneratorDetailOut, responses=NOT_FOUND,
            summary="A generator's metadata: params and options")
def generator_detail(generator_name: str, state: ServiceState = Depends(service)) -> Response:
    gen = registry.get(generator_name)
    if gen is None:
        raise ApiError(404, "Not found.")
    return JSONResponse({**gen.metadata(), "service_id": state.service_id})


# Registered before the job routes: "counts" is not a job id.
@router.get("/job_runs/counts/", response_model=UsageOut, summary="Samples rendered per generator in a time window")
def usage(account: Account = Depends(authenticate), state: ServiceState = Depends(service),
          start_time: str | None = Query(None), end_time: str | None = Query(None)) -> Response:
    start, end = window(start_time, end_time)
    if end is None:
        end = shifted(start, state.default_usage_days) if start else datetime.now().astimezone()
    if start is None:
        start = shifted(end, -state.default_usage_days)
    by_generator: dict[str, dict[str, Any]] = {}
    for row in state.store.counts(account.id, start.timestamp(), end.timestamp()):
        entry = by_generator.setdefault(row["generator"], {
            "generator": row["generator"], "preview_samples_rendered": 0, "non_preview_samples_rendered": 0})
        key = "preview_samples_rendered" if row["is_preview"] else "non_preview_samples_rendered"
        entry[key] += int(row["samples"])
    return JSONResponse({"counts_by_generator": list(by_generator.values()),
                         "start_time": start.isoformat(), "end_time": end.isoformat()})


def _job_routes(path: str, is_preview: bool, what: str) -> None:
    """The list and detail routes of one kind of job: standard jobs or previews."""

    @router.get(f"/{path}/", response_model=list[JobRunOut], summary=f"The account's {what}", name=f"list_{path}")
    def list_jobs(request: Request, account: Account = Depends(authenticate), state: ServiceState = Depends(service),
                  batch_id: str | None = Query(None)) -> Response:
        base = str(request.base_url)
        return JSONResponse([job_run(state, r, base) for r in state.store.jobs(account.id, is_preview, batch_id)])

    @router.get(f"/{path}/{{job_id}}/", response_model=JobRunOut, responses=NOT_FOUND,
                summary=f"One of the account's {what}", name=f"get_{path}")
    def job_detail(job_id: str, request: Request, account: Account = Depends(authenticate),
                   state: ServiceState = Depends(service)) -> Response:
        row = state.store.job(account.id, job_id, is_preview)
        if row is None:
            raise ApiError(404, "Not found.")
        return JSONResponse(job_run(state, row, str(request.base_url)))


_job_routes("job_runs", False, "standard jobs")
_job_routes("job_previews", True, "preview jobs")
