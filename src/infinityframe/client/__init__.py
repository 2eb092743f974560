"""Speaking the Infinity REST API: transport, Session, Batch, downloads, submission records."""

from ._http import RetryPolicy
from ._limits import Limits
from .asgi import ASGIAdapter
from .batch import Batch
from .session import DEFAULT_SERVER, Session, generators

__all__ = ["DEFAULT_SERVER", "ASGIAdapter", "Batch", "Limits", "RetryPolicy", "Session", "generators"]
