"""Where infinityframe keeps what it writes for the user: one cache dir, shared by the layers.

>>> isinstance(cache_dir(), Path)
True
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """``$INFINITYFRAME_CACHE_DIR``, else ``$XDG_CACHE_HOME/infinityframe`` (``~/.cache/infinityframe``).

    It holds the submission records (``submissions.db``) and the parquet cache of read
    results (``results/``); deleting it loses no data, only what makes re-submission free of
    charge from this machine and re-reads fast.
    """
    if env := os.environ.get("INFINITYFRAME_CACHE_DIR"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "infinityframe"
