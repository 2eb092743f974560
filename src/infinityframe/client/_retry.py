"""Retries: urllib3's ``Retry``, configured from a :class:`RetryPolicy`, held to the request's deadline.

urllib3 retries what happens before a response is handed over: connection errors, timeouts and
resets while waiting for the answer, and the statuses in :data:`RETRY_STATUSES`, waiting as
``Retry-After`` says or backing off exponentially. Only requests safe to repeat are retried
after they may have reached the server: GET, HEAD, OPTIONS, and a POST that carries an
``Idempotency-Key`` (:func:`for_request`), so a retry can never create a second batch.

What urllib3 cannot see is kept here (:class:`DeadlineRetry`): no wait starts that the request's
:class:`~._deadline.Deadline` cannot afford (a ``Retry-After: 3600`` ends the request with that
answer instead of sleeping past the budget), a ``Retry-After`` is capped by ``max_backoff`` and
read leniently (a hostile or broken value means "back off", never an exception), and a retried
answer's body is discarded without reading more than a little of it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from ._deadline import current_deadline
from ._limits import ERROR_BODY_BYTES

__all__ = ["RETRY_STATUSES", "DeadlineRetry", "RetryPolicy", "for_request", "retry_after"]

# 500 as well as 502/503/504: a 500 is often a proxy's or a passing overload, and only requests
# safe to repeat are retried, so a lasting 500 costs a few attempts, never a duplicate.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number, fractions allowed, or an HTTP date); None if
    absent or unreadable."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    return max(0.0, seconds) if seconds == seconds else None  # NaN: unreadable


class DeadlineRetry(Retry):
    """urllib3's ``Retry`` that keeps to the running request's deadline (see the module's docstring)."""

    #: The wait planned before the next attempt (set by :meth:`increment`, spent by :meth:`sleep`).
    planned: float | None = None

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        seconds = retry_after(response.headers)
        return None if seconds is None else min(seconds, self.backoff_max)

    def increment(self, method: str | None = None, url: str | None = None, response: BaseHTTPResponse | None = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> DeadlineRetry:
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        assert isinstance(new, DeadlineRetry)
        wait = new.get_retry_after(response) if response is not None else None
        wait = new.get_backoff_time() if wait is None else wait
        deadline = current_deadline()
        if deadline is not None and wait >= deadline.remaining():
            if response is None:
                deadline.spend()  # an error, and no time for another try: the deadline is the story
            # With a response, urllib3 returns it as the answer (raise_on_status=False).
            raise MaxRetryError(_pool, url or "", error or ResponseError(f"no time left to wait {wait:.3g} s"))
        new.planned = wait
        if response is not None and not (response.length_remaining or 0) <= ERROR_BODY_BYTES:
            response.close()  # urllib3 would read it all to reuse the connection: a new one is cheaper
        return new

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.planned is None:
            super().sleep(response)
        elif self.planned > 0:
            time.sleep(self.planned)


def for_request(retries: Any, method: str, headers: Mapping[str, str] | None) -> Any:
    """The retries of one request: a POST becomes safe to repeat when it carries an ``Idempotency-Key``."""
    if (isinstance(retries, Retry) and method.upper() == "POST" and headers is not None
            and "Idempotency-Key" in headers and retries.allowed_methods is not None
            and "POST" not in retries.allowed_methods):
        return retries.new(allowed_methods=frozenset(retries.allowed_methods) | {"POST"})
    return retries


class RetryPolicy:
    """How often and how long to retry.

    Parameters
    ----------
    attempts : int
        Tries in all, the first included.
    backoff : float
        urllib3's backoff factor: no wait before the first retry, then ``backoff * 2**n``
        seconds (with up to ``backoff`` of jitter).
    max_backoff : float
        Cap on one wait, ``Retry-After`` included.

    Examples
    --------
    >>> policy = RetryPolicy(attempts=4, backoff=0.1)
    >>> retry = policy.retry()
    >>> retry.total, sorted(retry.status_forcelist), sorted(retry.allowed_methods)
    (3, [429, 500, 502, 503, 504], ['GET', 'HEAD', 'OPTIONS'])
    """

    def __init__(self, attempts: int = 6, backoff: float = 0.5, max_backoff: float = 30.0) -> None:
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff

    def __repr__(self) -> str:
        return f"RetryPolicy(attempts={self.attempts}, backoff={self.backoff}, max_backoff={self.max_backoff})"

    def retry(self) -> DeadlineRetry:
        """The urllib3 ``Retry`` this policy configures (for an adapter's ``max_retries``)."""
        return DeadlineRetry(
            total=self.attempts - 1,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=SAFE_METHODS,
            respect_retry_after_header=True,
            backoff_factor=self.backoff,
            backoff_max=self.max_backoff,
            backoff_jitter=self.backoff,
            raise_on_status=False,  # the last answer is returned, for its status and detail
            redirect=0,
            raise_on_redirect=False,  # redirects are followed by the transport, one hop at a time
        )
