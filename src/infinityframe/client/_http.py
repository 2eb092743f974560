"""The HTTP transport: one pooled ``requests.Session``, timeouts, limits, retries, error mapping.

Retried: connection errors, timeouts and the statuses 429, 500, 502, 503 and 504 by urllib3's
``Retry`` (:mod:`._retry`, mounted with the adapter of :mod:`._adapter`: exponential backoff,
``Retry-After`` honoured, never past the request's deadline); responses cut mid-body here, as
urllib3 has handed the response over by then. A POST is retried only when it carries an
``Idempotency-Key``, so a retry can never create a second batch. Errors become the package's
exception family, with the server's ``detail``; no exception of ``requests`` or ``urllib3``
reaches the caller.

Nothing the server sends is trusted (:mod:`._limits`, :mod:`._deadline`): every reply is read
in bounded pieces and decoded here, within a size cap on its decoded bytes and an overall
deadline; redirects are followed by hand, at most ``Limits.max_redirects``, only to ``http(s)``
URLs, and an API request only to its own server (the token goes nowhere else).

The token lives only in the session's ``Authorization`` header. It is never logged, never in
a repr, never in an exception; result URLs (whose signatures are credentials too) appear in
messages without their query string. Errors of ``requests`` are not chained (``from None``):
they keep the request, and with it the headers and the signed URL, within reach.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import orjson
import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter

from .._version import __version__
from ..errors import (
    AuthenticationError,
    DownloadError,
    InfinityError,
    InsufficientSamplesError,
    RateLimitError,
    ServiceError,
    ValidationError,
)
from ._adapter import WatchedAdapter
from ._deadline import Deadline, DeadlineExceeded
from ._limits import ERROR_BODY_BYTES, Limits, TooLarge, Truncated, UnsupportedEncoding, read_body, size
from ._retry import SAFE_METHODS, RetryPolicy, retry_after

__all__ = ["Limits", "RetryPolicy", "Transport", "redact_url"]

log = logging.getLogger("infinityframe.client")

# A body that broke off after urllib3 handed the response over: worth another attempt, made here.
# urllib3's own errors appear because bodies are read from ``response.raw`` (so that they are
# decoded here, within the cap); a Content-Length not met is a ChunkedEncodingError.
_CUT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
        urllib3.exceptions.HTTPError, Truncated)
# What is left once urllib3 gave up on a request (its retries spent, or none allowed).
_FAILED = (requests.ConnectionError, requests.Timeout)
_T = TypeVar("_T")


def redact_url(url: str) -> str:
    """The URL without its query string or user info (signed URLs carry credentials there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def shown_url(url: object) -> str:
    """A URL a server sent, fit for a message: redacted, quoted and at most 120 characters."""
    try:
        text = redact_url(url) if isinstance(url, str) else repr(url)
    except ValueError:  # not even parseable as a URL
        text = str(url).split("?", 1)[0]
    return repr(text) if len(text) <= 120 else repr(text[:117]) + "…"


@dataclass(frozen=True)
class Reply:
    """A response read whole (within its cap): status, headers and decoded body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status < 400


def _json(body: bytes) -> Any:
    """The decoded JSON body; ValueError if it is not JSON (nested past the stack counts too)."""
    return orjson.loads(body)  # nesting past its limit is a JSONDecodeError, a ValueError


def _detail(reply: Reply, token: str) -> tuple[str, Any]:
    """The server's explanation (DRF ``detail``) and the decoded body, if any.

    The token is blanked from the explanation: a proxy's or a debug page's error may repeat the
    request's headers.
    """
    try:
        body = _json(reply.body)
    except ValueError:
        body = None
        text, cut = reply.body.decode("utf-8", "replace").strip() or reply.reason or f"HTTP {reply.status}", 300
    else:
        text, cut = (str(body["detail"]), 1000) if isinstance(body, dict) and "detail" in body else (str(body), 300)
    return text.replace(token, "<token>")[:cut], body


def _same_origin(first: str, then: str) -> bool:
    """Whether a redirect stays on the server (an upgrade from http to https included)."""
    a, b = urlsplit(first), urlsplit(then)
    if a.hostname != b.hostname:
        return False
    if (a.scheme, a.port) == (b.scheme, b.port):
        return True
    return a.scheme == "http" and b.scheme == "https" and a.port in (None, 80) and b.port in (None, 443)


def _http_url(url: object) -> bool:
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


class _Session(requests.Session):
    """A ``requests.Session`` that never follows redirects itself.

    Even with ``allow_redirects=False``, requests reads a redirect's whole body (decoded, without
    any cap) to prepare the next hop; :meth:`Transport._open` follows redirects by hand instead.
    """

    def resolve_redirects(self, *args: Any, **kwargs: Any) -> Iterator[requests.Response]:
        yield from ()


class _Refused(Exception):
    """Not worth another attempt; carries the finished message (internal)."""


class Transport:
    """Speaks HTTP to one Infinity server with one token.

    Parameters
    ----------
    server : str
        Base URL, e.g. ``https://api.toinfinity.ai`` or a local service's URL.
    token : str
        The API key; sent as ``Authorization: Token <key>`` and nowhere else.
    timeout : float or (float, float)
        Connect and read timeouts, in seconds, for each wait on the network.
    retry : RetryPolicy
        What to retry and how long to wait.
    limits : Limits
        The most a server may make the client read or wait for (:class:`Limits`); kept as
        :attr:`limits`, which may be replaced at any time.
    adapter : requests.adapters.BaseAdapter, optional
        What carries the requests instead of the network (e.g. :class:`~infinityframe.client.asgi.ASGIAdapter`,
        an application in this process); mounted for every URL. An ``HTTPAdapter`` gets the
        retry policy as its ``max_retries``.
    """

    def __init__(self, server: str, token: str, *, timeout: float | tuple[float, float] = (10.0, 120.0),
                 retry: RetryPolicy | None = None, limits: Limits | None = None,
                 adapter: BaseAdapter | None = None) -> None:
        if not isinstance(token, str) or not token.strip():
            raise AuthenticationError("No token given: pass the API key of your Infinity account as `token`.")
        if not isinstance(server, str) or not server.strip():
            raise InfinityError("No server given: pass the service's base URL as `server`.")
        self.server = server.rstrip("/") + "/"
        self.timeout = timeout
        self.limits = limits or Limits()
        self.closed = False
        self._http = _Session()
        self._http.headers.update({
            "Authorization": f"Token {token.strip()}",
            "Accept": "application/json",
            "User-Agent": f"infinityframe/{__version__}",
        })
        # Result URLs are pre-signed and may point at another host (an object store): they are
        # fetched through a second pool that never carries the token.
        self._bare = _Session()
        self._bare.headers["User-Agent"] = f"infinityframe/{__version__}"
        # An adapter per session (a given one serves both); :attr:`retry` gives each its Retry.
        self._adapters: list[BaseAdapter] = [adapter, adapter] if adapter is not None else [
            WatchedAdapter(pool_connections=4, pool_maxsize=32) for _ in range(2)]
        for session, mounted in zip((self._http, self._bare), self._adapters, strict=True):
            # Only what read_body decodes (never brotli or zstd, even when installed).
            session.headers["Accept-Encoding"] = "gzip, deflate"
            session.mount("http://", mounted)
            session.mount("https://", mounted)
        self.retry = retry or RetryPolicy()

    def __repr__(self) -> str:
        return f"Transport(server={self.server!r})"

    @property
    def retry(self) -> RetryPolicy:
        """How requests are retried; may be replaced at any time (the adapters get its ``Retry``)."""
        return self._retry

    @retry.setter
    def retry(self, policy: RetryPolicy) -> None:
        self._retry = policy
        for adapter in self._adapters:
            if isinstance(adapter, HTTPAdapter):
                adapter.max_retries = policy.retry()

    def close(self) -> None:
        """Close both connection pools; any later request raises :class:`InfinityError`."""
        self.closed = True
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
        reply_headers: dict[str, str] | None = None,
    ) -> Any:
        """Send a request to an API path and return its decoded JSON body.

        ``reply_headers``, when given, receives the successful reply's headers (names in lower case).

        ``not_found`` builds the error raised for a 404 (a missing generator is not a missing
        batch). Everything else maps by status: 401/403 → AuthenticationError, 400 →
        ValidationError, 402 → InsufficientSamplesError, 429 → RateLimitError, other →
        ServiceError; a reply past :class:`Limits` or a failed transport → ServiceError.
        """
        if self.closed:
            raise InfinityError(f"This session to {self.server} is closed: make a new one to talk to the service.")
        url = self.url(path)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        retriable = method.upper() in SAFE_METHODS or idempotency_key is not None
        data = None
        if json is not None:
            try:
                data = orjson.dumps(json, option=orjson.OPT_SERIALIZE_NUMPY)
            except TypeError as err:  # orjson.JSONEncodeError: a value JSON has no form for
                raise InfinityError(f"{method} {redact_url(url)}: the request's body cannot be sent as "
                                    f"JSON ({err}).") from None
            headers["Content-Type"] = "application/json"
        reply = self._send(method, url, retriable, params=params, data=data, headers=headers or None)
        if reply.ok:
            if reply_headers is not None:
                reply_headers.update((name.lower(), value) for name, value in reply.headers.items())
            try:
                return _json(reply.body)
            except ValueError as err:
                raise ServiceError(f"{method} {redact_url(url)} answered {reply.status} with a body "
                                   f"that is not JSON.", status=reply.status) from err
        raise self._error(method, url, reply, not_found)

    def get_bytes(self, url: str, dest: Any, chunk: int = 1 << 20) -> int:
        """Stream an absolute URL (a signed result URL: no auth header) into the file ``dest``.

        Returns the bytes written. Transient failures are retried from the start, within
        ``limits.download_seconds`` in all; more than ``limits.max_download_bytes`` (decoded)
        is a DownloadError and so is a failed write; an error status or a URL that is not
        ``http(s)`` is a ServiceError.
        """
        shown = f"GET {shown_url(url)}"
        if not _http_url(url):
            raise ServiceError(f"{shown}: the service gave a result URL that is not an http(s) URL; refused.")

        def stream(response: requests.Response, deadline: Deadline) -> int:
            if not response.ok:
                reply = self._read(response, ERROR_BODY_BYTES, deadline, truncate=True)
                detail, _ = _detail(reply, self.token)
                raise ServiceError(f"GET {redact_url(url)} failed with HTTP {reply.status}: {detail}",
                                   status=reply.status)
            return self._stream_into(response, dest, chunk, deadline, url)

        try:
            return self._attempts(self._bare, "GET", url, shown, stream, api=False, retriable=True,
                                  kind=DownloadError, limit="download_seconds")
        except TooLarge as err:
            raise DownloadError(f"{shown} sent more than {size(err.cap)} (Limits.max_download_bytes); "
                                "refused, nothing kept. Raise the limit if the result really is that "
                                "large.") from None

    # -- internals ------------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The API key this transport sends (never in its repr)."""
        return str(self._http.headers["Authorization"]).removeprefix("Token ")

    def _stream_into(self, response: requests.Response, dest: Any, chunk: int, deadline: Deadline,
                     url: str) -> int:
        declared = response.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and "Content-Encoding" not in response.headers \
                and int(declared) > self.limits.max_download_bytes:
            raise TooLarge(self.limits.max_download_bytes)

        def write(block: bytes) -> None:
            try:
                dest.write(block)
            except OSError as err:  # a full disk, a lost mount
                raise DownloadError(f"Could not write the download of {shown_url(url)} "
                                    f"({err.strerror or err}).") from err

        try:
            dest.seek(0)
            dest.truncate()
        except OSError as err:
            raise DownloadError(f"Could not write the download of {shown_url(url)} ({err.strerror or err}).") from err
        written, wire = read_body(response.raw.stream(chunk, decode_content=False),
                                  response.headers.get("Content-Encoding"), self.limits.max_download_bytes,
                                  write, check=deadline.check)
        if declared.isascii() and declared.isdigit() and int(declared) != wire:
            raise requests.exceptions.ChunkedEncodingError(f"got {wire} of {declared} bytes")
        return written

    def _slow(self, shown: str, deadline: Deadline, kind: type[InfinityError], name: str) -> InfinityError:
        return kind(f"{shown} did not finish within {deadline.seconds:g} s (Limits.{name}), retries included: "
                    "the server is stalling or far too slow. Try again later, or raise the limit if the "
                    "network really is that slow.")

    def _open(self, session: requests.Session, method: str, url: str, deadline: Deadline, *, api: bool,
              **kw: Any) -> requests.Response:
        """Send, following redirects by hand; the response's body is not read yet."""
        first = url
        for _ in range(self.limits.max_redirects + 1):
            if not _http_url(url):
                raise _Refused(f"redirected to {shown_url(url)}, which is not an http(s) URL")
            response = session.request(method, url, stream=True, allow_redirects=False, timeout=self.timeout, **kw)
            if not response.is_redirect:
                return response
            status = response.status_code
            response.close()
            try:
                target = urljoin(url, response.headers["Location"])
                inside = _same_origin(first, target)
            except ValueError:
                raise _Refused(f"answered {status}, a redirect to an invalid URL") from None
            if method.upper() not in ("GET", "HEAD"):
                raise _Refused(f"answered {status}, a redirect to {shown_url(target)}; a {method} is not resent "
                               "elsewhere: pass the URL it points to as `server`")
            if api and not inside:
                raise _Refused(f"redirected to {shown_url(target)}, off the server; the token is sent only to "
                               f"{redact_url(self.server)!r}: pass that URL as `server` if you trust it")
            url = target
            kw.pop("params", None)  # the Location is the whole next URL
            deadline.check()
        raise _Refused(f"was redirected more than {self.limits.max_redirects} times (last to {shown_url(url)}; "
                       "Limits.max_redirects): the server is misconfigured")

    def _read(self, response: requests.Response, cap: int, deadline: Deadline, *, truncate: bool = False) -> Reply:
        body = bytearray()
        read_body(response.raw.stream(1 << 16, decode_content=False), response.headers.get("Content-Encoding"),
                  cap, body.extend, check=deadline.check, truncate=truncate)
        # urllib3 hands over, with the response, the Retry that got it: its history is the earlier attempts.
        retried = getattr(response.raw, "retries", None)
        attempts = 1 + len(getattr(retried, "history", ()))
        return Reply(response.status_code, response.reason or "", response.headers, bytes(body), attempts)

    def _send(self, method: str, url: str, retriable: bool, **kw: Any) -> Reply:
        shown = f"{method} {redact_url(url)}"

        def read(response: requests.Response, deadline: Deadline) -> Reply:
            if response.ok:
                return self._read(response, self.limits.max_json_bytes, deadline)
            return self._read(response, ERROR_BODY_BYTES, deadline, truncate=True)

        try:
            return self._attempts(self._http, method, url, shown, read, api=True, retriable=retriable,
                                  kind=ServiceError, limit="request_seconds", **kw)
        except TooLarge as err:
            raise ServiceError(f"{shown} answered with more than {size(err.cap)} (Limits.max_json_bytes, "
                               "counted after decoding); refused. The server is broken or hostile, or the "
                               "reply really is that large: then raise the limit.") from None

    def _attempts(self, session: requests.Session, method: str, url: str, shown: str,
                  read: Callable[[requests.Response, Deadline], _T], *, api: bool, retriable: bool,
                  kind: type[InfinityError], limit: Literal["request_seconds", "download_seconds"],
                  **kw: Any) -> _T:
        """One request, until ``read`` takes an answer whole, within ``Limits.<limit>`` in all.

        urllib3 retries failures and statuses before it hands a response over; a body cut after
        that is retried here, at most ``retry.attempts`` times, when the request is ``retriable``.
        Running out of time is a ``kind`` naming the limit; :class:`TooLarge` is left to the
        caller to word.
        """
        deadline = Deadline(getattr(self.limits, limit))
        # Counts and spaces the attempts made for cut bodies (only when ``retriable``: any method then).
        again = self.retry.retry().new(allowed_methods=None)
        with deadline.active():
            while True:
                started = time.perf_counter()
                try:
                    with deadline.watch():
                        response = self._open(session, method, url, deadline, api=api, **kw)
                        with response:
                            answer = read(response, deadline)  # the whole body now, so a cut one is seen
                    if deadline.expired:  # the watchdog cut the socket: whatever was read is not to be trusted
                        raise DeadlineExceeded
                    log.debug("%s → %d in %.3fs", shown, response.status_code, time.perf_counter() - started)
                    return answer
                except _CUT as err:
                    if deadline.expired:
                        raise self._slow(shown, deadline, kind, limit) from None
                    if not retriable:
                        raise ServiceError(f"{shown} failed: {type(err).__name__} (not retried: the request "
                                           "may have reached the service)") from None
                    try:
                        again = again.increment(method, url, error=urllib3.exceptions.ProtocolError("body cut"))
                    except urllib3.exceptions.MaxRetryError:
                        if deadline.expired:
                            raise self._slow(shown, deadline, kind, limit) from None
                        raise ServiceError(f"{shown} failed after {self.retry.attempts} attempts: "
                                           f"{type(err).__name__}") from None
                    log.info("%s: %s; retry %d/%d", shown, type(err).__name__, len(again.history),
                             self.retry.attempts - 1)
                    again.sleep()
                except _FAILED as err:
                    if deadline.expired:
                        raise self._slow(shown, deadline, kind, limit) from None
                    hint = "" if retriable else " (not retried: the request may have reached the service)"
                    tries = self.retry.attempts if retriable else 1
                    raise ServiceError(f"{shown} failed after up to {tries} attempt(s): "
                                       f"{type(err).__name__}{hint}") from None
                except DeadlineExceeded:
                    raise self._slow(shown, deadline, kind, limit) from None
                except (_Refused, UnsupportedEncoding) as err:
                    raise ServiceError(f"{shown}: {err}; refused.") from None
                except requests.RequestException as err:  # a bad URL or header: no attempt would fare better
                    raise ServiceError(f"{shown} failed: {type(err).__name__}; refused.") from None

    def _error(self, method: str, url: str, reply: Reply,
               not_found: Callable[[str], InfinityError] | None) -> InfinityError:
        status = reply.status
        detail, body = _detail(reply, self.token)
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
            return RateLimitError(f"{where} was still rate limited after {reply.attempts} attempt"
                                  f"{'s' if reply.attempts != 1 else ''}: {detail}",
                                  retry_after=retry_after(reply.headers))
        return ServiceError(f"{where} failed with HTTP {status}: {detail}", status=status)
