"""The local service's application: the Infinity REST contract, served from SQLite.

Every path of ``reference/infinity-api.md`` §1 with its trailing slash, JSON shape, status
codes and ``Authorization: Token <key>`` auth, plus the extensions documented in
``docs/local-service.md``: ``GET /api/account/``, ``POST /api/batch/{id}/cancel/``,
``Idempotency-Key`` on batch POST, 429 + ``Retry-After``, 413 past a body size limit, 503 +
``Retry-After`` while the database is locked or the disk full, and ``/openapi.json``.

Error bodies are DRF-style: ``{"detail": "..."}``, and for invalid jobs also
``"errors": [{"job": i, "param": name, "message": text}]``. No input earns a 500: malformed
input is a 4xx, a database that cannot be used just now a 503; an exception nobody foresaw
is a 500 whose body says only that (the traceback goes to the service's log).

The routes are module-level routers under :mod:`.routes` (batches, generators and jobs,
account, results), each reaching the service's state and the caller's account through
``Depends``; this module assembles them, answers every error in one place and writes the
OpenAPI document (the version is the package's).
"""

from __future__ import annotations

import errno
import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from .._version import __version__
from .routes import account, batches, jobs, results
from .routes.common import ApiError, JSONResponse, ServiceState, authenticate, unavailable
from .routes.models import COMMON_ERRORS
from .store import StoreUnavailable

__all__ = ["ServiceState", "create_app"]

log = logging.getLogger(__name__)

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def create_app(state: ServiceState) -> FastAPI:
    """The FastAPI application of the local service, answering from ``state``."""
    app = FastAPI(
        title="infinityframe local service",
        version=__version__,
        description="The Infinity synthetic-data REST API, served locally by infinityframe.",
        docs_url="/api/schema/swagger-ui/",
        redoc_url=None,
        default_response_class=JSONResponse,
    )
    app.state.service = state

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return JSONResponse(exc.body, exc.status, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"detail": "Invalid request: " + "; ".join(problems)}, 400)

    # Once, here, for every route: a database that cannot be used just now is a 503 to retry.
    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
        log.warning("%s %s answered 503: %s", request.method, request.url.path, exc.reason)
        return unavailable(f"{exc.reason}; nothing was changed", exc.retry_after)

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError) -> Response:
        if exc.errno not in _DISK_FULL:
            raise exc  # a genuine fault: the 500 handler below answers it and the server logs it
        log.warning("%s %s answered 503: the disk is full", request.method, request.url.path)
        return unavailable("the disk holding the service's data dir is full", 30)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        # The traceback is logged by the server; the body names no path, value or token.
        return JSONResponse({"detail": "Internal error: the service failed while answering this request (it is in the "
                                "service's log). Retrying is unlikely to help; report it if it persists."}, 500)

    for router in (jobs.router, batches.router, account.router):
        app.include_router(router, prefix="/api", dependencies=[Depends(authenticate)], responses=COMMON_ERRORS)
    app.include_router(results.router)

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
