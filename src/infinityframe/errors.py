"""The exception family of infinityframe.

Every error the package raises on purpose is an :class:`InfinityError`::

    InfinityError
    ├── AuthenticationError        the token was missing or refused (401/403)
    ├── GeneratorNotFoundError     no such generator, or the token may not use it
    ├── BatchNotFoundError         no such batch (or job) for this account
    ├── ValidationError            job parameters broke the generator's schema
    ├── InsufficientSamplesError   the batch would exceed the account's sample balance
    ├── SpendCapError              the batch's estimate exceeds a spend cap (nothing was sent)
    ├── RateLimitError             the service asked us to slow down (429)
    ├── DownloadError              a result could not be fetched or was not whole
    ├── WaitTimeoutError           a batch was still running when wait() gave up (also a TimeoutError)
    └── ServiceError               anything else the service answered with an error

Messages say what was wrong, where (row, column, job or batch id) and what to do.
They never contain the API token.

One more is not an error but the user's own Ctrl-C: :class:`WaitInterrupted`, a
``KeyboardInterrupt`` raised by ``Batch.wait()`` that names the batch and how to wait for it
again. A script it ends prints that one line, not a traceback.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "BatchNotFoundError",
    "DownloadError",
    "GeneratorNotFoundError",
    "InfinityError",
    "InsufficientSamplesError",
    "RateLimitError",
    "ServiceError",
    "SpendCapError",
    "ValidationError",
    "WaitInterrupted",
    "WaitTimeoutError",
]


class InfinityError(Exception):
    """Base class of every error infinityframe raises on purpose."""


class AuthenticationError(InfinityError):
    """The service refused the token (HTTP 401 or 403)."""


class GeneratorNotFoundError(InfinityError):
    """The generator does not exist or the token may not use it."""


class BatchNotFoundError(InfinityError):
    """The batch or job does not exist for this account."""


class ValidationError(InfinityError):
    """Job parameters failed validation.

    Attributes
    ----------
    failure_cases : pandas.DataFrame or None
        One row per failure (row, column, check, value, message) when the
        failures were found client-side; ``None`` otherwise.
    errors : list of dict
        The service's per-job errors (``{"job", "param", "message"}``) when
        the failures were reported by the service.
    """

    def __init__(
        self,
        message: str,
        *,
        failure_cases: Any = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.failure_cases = failure_cases
        self.errors = errors or []


class InsufficientSamplesError(InfinityError):
    """The batch would cost more samples than the account has left."""

    def __init__(self, message: str, *, required: int | None = None, balance: int | None = None) -> None:
        super().__init__(message)
        self.required = required
        self.balance = balance


class SpendCapError(InfinityError):
    """The estimate of a submission exceeds a spend cap; nothing was submitted or charged.

    Attributes
    ----------
    estimate : int
        Samples the submission was estimated to cost.
    cap : int
        The cap it exceeded.
    source : str
        Where the cap came from: ``"max_samples"`` (the call), ``"session"``
        (``Session(max_samples=...)``) or ``"INFINITYFRAME_MAX_SAMPLES"`` (the environment).
    """

    def __init__(self, message: str, *, estimate: int, cap: int, source: str) -> None:
        super().__init__(message)
        self.estimate = estimate
        self.cap = cap
        self.source = source


class RateLimitError(InfinityError):
    """The service answered 429 and retries were exhausted."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DownloadError(InfinityError):
    """A job result could not be downloaded whole."""


class ServiceError(InfinityError):
    """The service answered with an error not covered by a narrower class."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WaitTimeoutError(InfinityError, TimeoutError):
    """``Batch.wait`` gave up before every job finished; the batch keeps running."""

    def __init__(self, message: str, *, batch_id: str, remaining: int) -> None:
        super().__init__(message)
        self.batch_id = batch_id
        self.remaining = remaining


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C while ``Batch.wait()`` waited: the batch goes on; the message says how to wait again.

    A ``KeyboardInterrupt``, so it stops a script or a cell as Ctrl-C always does (and
    ``except KeyboardInterrupt`` still catches it). Uncaught in a script, it prints its one-line
    message instead of a traceback.
    """

    def __init__(self, message: str, *, batch_id: str, remaining: int) -> None:
        super().__init__(message)
        self.batch_id = batch_id
        self.remaining = remaining
        _quiet_when_uncaught()


def _quiet_when_uncaught() -> None:
    """Teach ``sys.excepthook`` to print an uncaught :class:`WaitInterrupted` as its message alone."""
    import sys

    previous = sys.excepthook
    if previous in _OUR_HOOKS:
        return

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if isinstance(value, WaitInterrupted):
            print(value, file=sys.stderr)
        else:
            previous(kind, value, tb)

    _OUR_HOOKS.append(hook)
    sys.excepthook = hook


_OUR_HOOKS: list[Any] = []  # the hooks installed here: never wrapped twice
