"""infinityframe: a DataFrame of job parameters as the whole interface to Infinity-style
synthetic-data services, with an embedded local service that speaks the same REST contract.

>>> import infinityframe as inf
>>> with inf.serve() as service:          # doctest: +SKIP
...     print(service.url)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import frames as frames  # importing it registers DataFrame.infinity (pandas) and the polars namespace
from .client import DEFAULT_SERVER, Batch, Session, generators
from .client.session import use
from .errors import (
    AuthenticationError,
    BatchNotFoundError,
    DownloadError,
    GeneratorNotFoundError,
    InfinityError,
    InsufficientSamplesError,
    RateLimitError,
    ServiceError,
    SpendCapError,
    ValidationError,
    WaitInterrupted,
    WaitTimeoutError,
)
from .params.distributions import choice, integers, normal, uniform
from .results import Results, ResultsWarning, read_results

if TYPE_CHECKING:
    from .learn.sweep import sweep
    from .local import Service, serve

from ._version import __version__

__all__ = [
    "DEFAULT_SERVER",
    "AuthenticationError",
    "Batch",
    "BatchNotFoundError",
    "DownloadError",
    "GeneratorNotFoundError",
    "InfinityError",
    "InsufficientSamplesError",
    "RateLimitError",
    "Results",
    "ResultsWarning",
    "Service",
    "ServiceError",
    "Session",
    "SpendCapError",
    "ValidationError",
    "WaitInterrupted",
    "WaitTimeoutError",
    "__version__",
    "choice",
    "generators",
    "integers",
    "normal",
    "read_results",
    "serve",
    "sweep",
    "uniform",
    "use",
]


# The local service pulls in FastAPI and uvicorn, and the learning loop scipy; load them
# only when they are asked for, so that `import infinityframe` stays quick.
_LAZY = {"serve": ".local", "Service": ".local", "sweep": ".learn.sweep"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
