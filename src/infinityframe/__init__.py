"""infinityframe: a DataFrame of job parameters as the whole interface to Infinity-style
synthetic-data services, with an embedded local service that speaks the same REST contract.

>>> import infinityframe as inf
>>> with inf.serve() as service:          # doctest: +SKIP
...     print(service.url)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    AuthenticationError,
    BatchNotFoundError,
    DownloadError,
    GeneratorNotFoundError,
    InfinityError,
    InsufficientSamplesError,
    RateLimitError,
    ServiceError,
    ValidationError,
)

if TYPE_CHECKING:
    from .local import Service, serve

__version__ = "0.1.0"

DEFAULT_SERVER = "https://api.toinfinity.ai"

__all__ = [
    "DEFAULT_SERVER",
    "AuthenticationError",
    "BatchNotFoundError",
    "DownloadError",
    "GeneratorNotFoundError",
    "InfinityError",
    "InsufficientSamplesError",
    "RateLimitError",
    "Service",
    "ServiceError",
    "ValidationError",
    "__version__",
    "serve",
]


# The local service pulls in FastAPI and uvicorn; load it only when it is asked for, so that
# `import infinityframe` stays quick for users of the cloud.
_LAZY = {"serve": ".local", "Service": ".local"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
