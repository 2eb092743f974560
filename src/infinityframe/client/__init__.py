"""Speaking the Infinity REST API: transport, Session, Batch, downloads, submission records."""

from .batch import Batch
from .session import DEFAULT_SERVER, Session, generators

__all__ = ["DEFAULT_SERVER", "Batch", "Session", "generators"]
