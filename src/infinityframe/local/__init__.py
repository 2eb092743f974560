"""The embedded Infinity-compatible service: app (routes), store (SQLite), runner, generators."""

from .server import Service, default_data_dir, serve

__all__ = ["Service", "default_data_dir", "serve"]
