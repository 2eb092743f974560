"""The embedded Infinity-compatible service: app (routes), store (SQLite), runner, generators."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Service, default_data_dir, serve

__all__ = ["Service", "default_data_dir", "serve"]


def __getattr__(name: str) -> Any:
    # The server pulls in FastAPI and uvicorn: load it only when it is asked for, so importing a
    # generator (in a worker process, or for its rules) stays light.
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
