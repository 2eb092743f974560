"""Where infinityframe keeps what it writes for the user: one cache dir, shared by the layers.

>>> isinstance(cache_dir(), Path)
True
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """``$INFINITYFRAME_CACHE_DIR``, else the platform's user cache dir for ``infinityframe``.

    That is ``$XDG_CACHE_HOME/infinityframe`` (``~/.cache/infinityframe``) on Linux,
    ``~/Library/Caches/infinityframe`` on macOS and ``%LOCALAPPDATA%\\infinityframe\\Cache`` on
    Windows (:func:`platformdirs.user_cache_dir`). It holds the submission records
    (``submissions.db``) and the parquet cache of read results (``results/<key>``, keyed by the
    batch folder's path, never inside the folder); deleting it loses no data, only what makes
    re-submission free of charge from this machine and re-reads fast.
    """
    if env := os.environ.get("INFINITYFRAME_CACHE_DIR"):
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("infinityframe", appauthor=False))
