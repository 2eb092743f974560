"""A parquet cache of a batch folder's tables, reused while no job file has changed.

After a batch folder is read, its four tables are written to ``<batch>/.infinityframe-cache/``
with a manifest: every job folder and the size and ``mtime_ns`` of every file in it (plus
``batch_id.txt``). The next read of that folder compares a fresh manifest and, when it is the
same, loads the parquet files instead of parsing any JSON. Any difference (a file touched,
added or removed, another package version, ``armature`` toggled, the folder moved) re-reads
the whole batch and rewrites the cache.

Writes are atomic: the cache is built in a temporary sibling folder and renamed into place,
so a reader never sees half a cache. A folder we may not write to, or whose mode says it is
read-only, is simply not cached.

Examples
--------
>>> m = manifest(batch, folders, armature=False)  # doctest: +SKIP
>>> load(batch, m) is None                         # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .._version import __version__
from .tables import TABLES

__all__ = ["CACHE_DIR", "load", "manifest", "save"]

CACHE_DIR = ".infinityframe-cache"
# Bump when the tables' columns or types change, so that old caches are not served.
CACHE_FORMAT = 1
_MANIFEST = "manifest.json"


def manifest(root: Path, folders: Sequence[Path], *, armature: bool) -> dict[str, Any] | None:
    """What the cache must match: the files of every job folder, by size and modification time.

    Returns ``None`` when the folders cannot be listed (then nothing is cached).
    """
    files: dict[str, list[int]] = {}
    try:
        batch_file = root / "batch_id.txt"
        if batch_file.is_file():
            st = batch_file.stat()
            files["batch_id.txt"] = [st.st_size, st.st_mtime_ns]
        for folder in folders:
            files[f"{folder.name}/"] = []
            for entry in os.scandir(folder):
                if entry.is_file():
                    st = entry.stat()
                    files[f"{folder.name}/{entry.name}"] = [st.st_size, st.st_mtime_ns]
    except OSError:
        return None
    return {"format": CACHE_FORMAT, "package": __version__, "root": str(root.resolve()), "armature": armature,
            "files": files}


def load(root: Path, expected: Mapping[str, Any]) -> dict[str, pa.Table] | None:
    """The cached tables when the stored manifest equals ``expected``; else ``None``."""
    folder = root / CACHE_DIR
    try:
        # the standard library, not orjson: the manifest is tiny, and "no orjson call" is how
        # tests tell a cache hit from a read
        stored = json.loads((folder / _MANIFEST).read_bytes())
        if stored != expected:
            return None
        return {name: pq.read_table(folder / f"{name}.parquet") for name in TABLES}
    except (OSError, ValueError, pa.ArrowException):
        return None  # no cache, or a damaged one: read the JSON instead


def _writable(root: Path) -> bool:
    """Whether we may add the cache to ``root``: its mode must allow writing, even for root.

    A superuser can write anywhere, so the mode bits are the only sign that a folder (a shared
    fixture, a published dataset) was meant to stay as it is.
    """
    try:
        mode = root.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) and os.access(root, os.W_OK)


def save(root: Path, expected: Mapping[str, Any], tables: Mapping[str, pa.Table]) -> bool:
    """Write the cache atomically; ``False`` (and nothing left behind) when the folder is not writable."""
    if not _writable(root):
        return False
    tag = uuid.uuid4().hex
    target, building, retired = root / CACHE_DIR, root / f"{CACHE_DIR}.tmp-{tag}", root / f"{CACHE_DIR}.old-{tag}"
    try:
        building.mkdir()
        for name in TABLES:
            pq.write_table(tables[name], building / f"{name}.parquet")
        (building / _MANIFEST).write_text(json.dumps(dict(expected)), encoding="utf-8")
        if target.exists():
            # rename() cannot replace a non-empty folder: move the old one aside first
            target.rename(retired)
        building.rename(target)
    except (OSError, pa.ArrowException):
        shutil.rmtree(building, ignore_errors=True)
        return False
    finally:
        shutil.rmtree(retired, ignore_errors=True)
    return True
