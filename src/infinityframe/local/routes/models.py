"""The request and response bodies of the REST contract as pydantic models, for the OpenAPI
document and the routes' ``response_model``.

A reply is built as plain data and encoded by orjson (:class:`~.common.JSONResponse`); the
models say what it holds, and ``tests/reliability/test_schemathesis.py`` checks real replies against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BATCH_BODY",
    "COMMON_ERRORS",
    "NOT_FOUND",
    "TOO_LARGE",
    "AccountOut",
    "BatchListOut",
    "BatchOut",
    "CancelOut",
    "ErrorOut",
    "GeneratorDetailOut",
    "GeneratorOut",
    "InvalidOut",
    "JobRunOut",
    "ShortfallOut",
    "SummaryOut",
    "UsageOut",
    "errors",
]


# -- request bodies, for the OpenAPI document (bodies are parsed by hand: routes/batches.py) ----

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
BATCH_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": _inline(BatchIn.model_json_schema()), "example": _BATCH_EXAMPLE}}}}


# -- response bodies, for the OpenAPI document (routes answer with orjson: common.JSONResponse) ---------

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


def errors(**statuses: tuple[type[BaseModel], str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses by status, from ``s404=(Model, description)`` keywords."""
    return {int(code[1:]): {"model": model, "description": text} for code, (model, text) in statuses.items()}


COMMON_ERRORS = errors(
    s400=(InvalidOut, "A malformed request: body, query or header."),
    s401=(ErrorOut, "No token, or a wrong one."),
    s429=(ErrorOut, "Throttled; `Retry-After` says when to come back."),
    s503=(ErrorOut, "The database is locked by another process or the disk is full; nothing was changed. "
                    "Safe to retry after `Retry-After` seconds."),
)
for _status in (429, 503):
    COMMON_ERRORS[_status]["headers"] = {"Retry-After": {
        "required": True, "description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}
NOT_FOUND = errors(s404=(ErrorOut, "No such thing for this account (another account's is the same: 404)."))
TOO_LARGE = errors(s413=(ErrorOut, "The request body is over the size limit."))
