"""The Infinity REST contract as the client speaks it: one method per endpoint.

This is the only module that spells an endpoint's path (the service's side is
``local/routes/``; the paths, bodies and answers are those of ``reference/infinity-api.md``).
Session, Batch, the pre-flight verbs and the CLI all call an :class:`Api`; what a transient
failure, a retry or a cut-off body means is :class:`~infinityframe.client._http.Transport`'s
business.

A ``not_found`` argument builds the error raised for a 404, so that each caller can say what
was missing in its own terms.

>>> api = sesh.api  # a session's, or Api(Transport(server, token))
>>> api.batch_summary(batch.id)["job_runs"][0]["state"]
'succeeded'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import BatchNotFoundError, InfinityError
from ._http import Transport

__all__ = ["Api"]

NotFound = Callable[[str], InfinityError]


def _gone(detail: str) -> InfinityError:
    return BatchNotFoundError(detail)


class Api:
    """The endpoints of one service, for one token (the ``transport``'s)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __repr__(self) -> str:
        return f"Api(server={self.transport.server!r})"

    # -- generators -------------------------------------------------------------------------------

    def generators(self) -> list[dict[str, Any]]:
        """``GET /api/jobs/``: the generators this token may use."""
        listed: list[dict[str, Any]] = self.transport.request("GET", "api/jobs/")
        return listed

    def generator(self, name: str, not_found: NotFound = _gone) -> dict[str, Any]:
        """``GET /api/jobs/{name}/``: a generator's metadata (params, options, constraints)."""
        meta: dict[str, Any] = self.transport.request("GET", f"api/jobs/{name}/", not_found=not_found)
        return meta

    # -- batches ----------------------------------------------------------------------------------

    def estimate(self, body: Mapping[str, Any], idempotency_key: str) -> list[Any]:
        """``POST /api/batch/estimate/``: samples each job of ``body`` would cost (nothing is created)."""
        answer: list[Any] = self.transport.request("POST", "api/batch/estimate/", json=body,
                                                   idempotency_key=idempotency_key)
        return answer

    def submit(self, body: Mapping[str, Any], idempotency_key: str) -> tuple[dict[str, Any], bool]:
        """``POST /api/batch/``: create a batch (the same key answers the same batch).

        Returns the batch and whether the service answered with the batch an earlier request of
        the same key created (its ``Idempotent-Replayed: true`` header; a service without it never does).
        """
        headers: dict[str, str] = {}
        created: dict[str, Any] = self.transport.request("POST", "api/batch/", json=body,
                                                         idempotency_key=idempotency_key, reply_headers=headers)
        return created, headers.get("idempotent-replayed", "").strip().lower() == "true"

    def batch(self, batch_id: str, not_found: NotFound = _gone) -> dict[str, Any]:
        """``GET /api/batch/{id}/``: a batch with every job's parameters."""
        data: dict[str, Any] = self.transport.request("GET", f"api/batch/{batch_id}/", not_found=not_found)
        return data

    def batch_summary(self, batch_id: str, not_found: NotFound = _gone) -> Any:
        """``GET /api/batch/{id}/summary/``: every job's state and result URL."""
        return self.transport.request("GET", f"api/batch/{batch_id}/summary/", not_found=not_found)

    def batches(self, window: Mapping[str, str]) -> list[dict[str, Any]]:
        """``GET /api/batch/?start_time=…&end_time=…``: the account's batches in a time window."""
        listed: list[dict[str, Any]] = self.transport.request("GET", "api/batch/", params=window)
        return listed

    def cancel(self, batch_id: str, not_found: NotFound = _gone) -> dict[str, Any]:
        """``POST /api/batch/{id}/cancel/`` (local service extension): cancel the jobs not started."""
        data: dict[str, Any] = self.transport.request("POST", f"api/batch/{batch_id}/cancel/", json={},
                                                      idempotency_key=f"cancel-{batch_id}", not_found=not_found)
        return data

    # -- jobs and the account ---------------------------------------------------------------------

    def job(self, job_id: str, preview: bool, not_found: NotFound = _gone) -> Any:
        """``GET /api/job_previews/{id}/`` or ``GET /api/job_runs/{id}/``: one job or preview."""
        kind = "job_previews" if preview else "job_runs"
        return self.transport.request("GET", f"api/{kind}/{job_id}/", not_found=not_found)

    def usage(self, window: Mapping[str, str]) -> dict[str, Any]:
        """``GET /api/job_runs/counts/``: samples rendered per generator in a time window."""
        data: dict[str, Any] = self.transport.request("GET", "api/job_runs/counts/", params=window)
        return data

    def account(self) -> Any:
        """``GET /api/account/`` (local service extension): the balance; the cloud answers 404."""
        return self.transport.request("GET", "api/account/", not_found=_gone)
