"""The HTTP transport: one pooled ``requests.Session``, timeouts, retries, error mapping.

Retried (capped exponential backoff with full jitter, honouring ``Retry-After``): connection
errors, timeouts, responses cut mid-body, and the statuses 429, 500, 502, 503 and 504 (a 500 is often a
proxy's or a passing overload; only requests safe to repeat are retried, so a lasting 500 costs a
few attempts, never a duplicate). A POST is
retried only when it carries an ``Idempotency-Key``, so a retry can never create a second
batch. Errors become the package's exception family, with the server's ``detail``.

The token lives only in the session's ``Authorization`` header. It is never logged, never in
a repr, never in an exception; result URLs (whose signatures are credentials too) appear in
messages without their query string.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from .._version import __version__
from ..errors import (
    AuthenticationError,
    InfinityError,
    InsufficientSamplesError,
    RateLimitError,
    ServiceError,
    ValidationError,
)

__all__ = ["RetryPolicy", "Transport", "redact_url"]

log = logging.getLogger("infinityframe.client")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
              requests.exceptions.ContentDecodingError)
_jitter = random.Random()


def redact_url(url: str) -> str:
    """The URL without its query string (signed URLs carry credentials there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class RetryPolicy:
    """How often and how long to retry.

    Parameters
    ----------
    attempts : int
        Tries in all, the first included.
    backoff : float
        Seconds before the first retry; doubled each time, with full jitter.
    max_backoff : float
        Cap on one wait, ``Retry-After`` included.
    """

    def __init__(self, attempts: int = 6, backoff: float = 0.5, max_backoff: float = 30.0) -> None:
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff

    def __repr__(self) -> str:
        return f"RetryPolicy(attempts={self.attempts}, backoff={self.backoff}, max_backoff={self.max_backoff})"

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(self.max_backoff, max(0.0, retry_after))
        return _jitter.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _detail(response: requests.Response) -> tuple[str, Any]:
    """The server's explanation (DRF ``detail``) and the decoded body, if any."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return (text[:300] or response.reason or f"HTTP {response.status_code}"), None
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"]), body
    return str(body)[:300], body


class Transport:
    """Speaks HTTP to one Infinity server with one token.

    Parameters
    ----------
    server : str
        Base URL, e.g. ``https://api.toinfinity.ai`` or a local service's URL.
    token : str
        The API key; sent as ``Authorization: Token <key>`` and nowhere else.
    timeout : float or (float, float)
        Connect and read timeouts, in seconds, for every request.
    retry : RetryPolicy
        What to retry and how long to wait.
    """

    def __init__(self, server: str, token: str, *, timeout: float | tuple[float, float] = (10.0, 120.0),
                 retry: RetryPolicy | None = None) -> None:
        if not isinstance(token, str) or not token.strip():
            raise AuthenticationError("No token given: pass the API key of your Infinity account as `token`.")
        if not isinstance(server, str) or not server.strip():
            raise InfinityError("No server given: pass the service's base URL as `server`.")
        self.server = server.rstrip("/") + "/"
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._http = requests.Session()
        self._http.headers.update({
            "Authorization": f"Token {token.strip()}",
            "Accept": "application/json",
            "User-Agent": f"infinityframe/{__version__}",
        })
        # Result URLs are pre-signed and may point at another host (an object store): they are
        # fetched through a second pool that never carries the token.
        self._bare = requests.Session()
        self._bare.headers["User-Agent"] = f"infinityframe/{__version__}"
        for session in (self._http, self._bare):
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
            session.mount("http://", adapter)
            session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"Transport(server={self.server!r})"

    def close(self) -> None:
        self._http.close()
        self._bare.close()

    def url(self, path: str) -> str:
        """``server`` joined with an endpoint path, with the trailing slash the API requires."""
        url = urljoin(self.server, path.lstrip("/"))
        return url if url.endswith("/") else url + "/"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        not_found: Callable[[str], InfinityError] | None = None,
    ) -> Any:
        """Send a request to an API path and return its decoded JSON body.

        ``not_found`` builds the error raised for a 404 (a missing generator is not a missing
        batch). Everything else maps by status: 401/403 → AuthenticationError, 400 →
        ValidationError, 402 → InsufficientSamplesError, 429 → RateLimitError, other →
        ServiceError.
        """
        url = self.url(path)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        retriable = method.upper() in ("GET", "HEAD", "OPTIONS") or idempotency_key is not None
        response = self._send(method, url, retriable, params=params, json=json, headers=headers)
        if response.ok:
            try:
                return response.json()
            except ValueError as err:
                raise ServiceError(f"{method} {redact_url(url)} answered {response.status_code} with a body "
                                   f"that is not JSON.", status=response.status_code) from err
        raise self._error(method, url, response, not_found)

    def get_bytes(self, url: str, dest: Any, chunk: int = 1 << 20) -> int:
        """Stream an absolute URL (a signed result URL: no auth header) into the file ``dest``.

        Returns the bytes written. Transient failures are retried from the start.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._bare.get(url, stream=True, timeout=self.timeout) as response:
                    if response.status_code in RETRY_STATUSES and attempt < self.retry.attempts:
                        self._sleep(attempt, _retry_after(response), f"GET {redact_url(url)}",
                                    f"HTTP {response.status_code}")
                        continue
                    if not response.ok:
                        detail, _ = _detail(response)
                        raise ServiceError(f"GET {redact_url(url)} failed with HTTP {response.status_code}: "
                                           f"{detail}", status=response.status_code)
                    dest.seek(0)
                    dest.truncate()
                    written = 0
                    for block in response.iter_content(chunk):
                        dest.write(block)
                        written += len(block)
                    expected = response.headers.get("Content-Length")
                    if expected is not None and int(expected) != written:
                        raise requests.exceptions.ChunkedEncodingError(
                            f"got {written} of {expected} bytes")
                    return written
            except _TRANSIENT as err:
                if attempt >= self.retry.attempts:
                    raise ServiceError(f"GET {redact_url(url)} failed after {attempt} attempts: "
                                       f"{type(err).__name__}") from None
                self._sleep(attempt, None, f"GET {redact_url(url)}", type(err).__name__)

    # -- internals ------------------------------------------------------------------------------

    def _sleep(self, attempt: int, retry_after: float | None, what: str, why: str) -> None:
        wait = self.retry.wait(attempt, retry_after)
        log.info("%s: %s; retry %d/%d in %.2fs", what, why, attempt, self.retry.attempts - 1, wait)
        time.sleep(wait)

    def _send(self, method: str, url: str, retriable: bool, **kw: Any) -> requests.Response:
        shown = f"{method} {redact_url(url)}"
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = self._http.request(method, url, timeout=self.timeout, **kw)
                response.content  # read the body now, so a cut body is a transient error here  # noqa: B018
            except _TRANSIENT as err:
                if not retriable or attempt >= self.retry.attempts:
                    hint = "" if retriable else " (not retried: the request may have reached the service)"
                    raise ServiceError(f"{shown} failed after {attempt} attempt(s): "
                                       f"{type(err).__name__}{hint}") from None
                self._sleep(attempt, None, shown, type(err).__name__)
                continue
            log.debug("%s → %d in %.3fs", shown, response.status_code, time.perf_counter() - started)
            if response.status_code in RETRY_STATUSES and retriable and attempt < self.retry.attempts:
                self._sleep(attempt, _retry_after(response), shown, f"HTTP {response.status_code}")
                continue
            return response

    def _error(self, method: str, url: str, response: requests.Response,
               not_found: Callable[[str], InfinityError] | None) -> InfinityError:
        status = response.status_code
        detail, body = _detail(response)
        where = f"{method} {redact_url(url)}"
        if status in (401, 403):
            return AuthenticationError(f"The service refused the token ({status}: {detail}). Check the token "
                                       "you passed, or the INFINITY_TOKEN environment variable.")
        if status == 404 and not_found is not None:
            return not_found(detail)
        if status == 400 and isinstance(body, dict) and body.get("errors"):
            errors = list(body["errors"])
            return ValidationError(f"The service rejected the jobs: {detail}", errors=errors)
        if status == 402 or (isinstance(body, dict) and "shortfall" in body):
            return InsufficientSamplesError(
                f"{detail} Lower the batch's estimate or add samples to the account.",
                required=body.get("required") if isinstance(body, dict) else None,
                balance=body.get("balance") if isinstance(body, dict) else None,
            )
        if status == 429:
            return RateLimitError(f"{where} was still rate limited after {self.retry.attempts} attempts: "
                                  f"{detail}", retry_after=_retry_after(response))
        return ServiceError(f"{where} failed with HTTP {status}: {detail}", status=status)
