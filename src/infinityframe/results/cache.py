"""A parquet cache of a batch folder's tables, reused while no job file has changed.

After a batch folder is read, its four tables are written to the user's cache dir
(``$INFINITYFRAME_CACHE_DIR``, else the platform's user cache dir: ``~/.cache/infinityframe`` on Linux), under
``results/<key>/``, the key a hash of the folder's absolute path: never inside the user's
data, where any tool listing job folders would meet it. A manifest goes with them: every job
folder and the size and ``mtime_ns`` of every file in it (plus ``batch_id.txt``). The next
read of that folder compares a fresh manifest and, when it is the same, loads the parquet
files instead of parsing any JSON. Any difference (a file touched, added or removed, another
package version, ``armature`` toggled, the folder moved) re-reads the whole batch and
rewrites the cache.

Writes are atomic: the cache is built in a temporary sibling folder and renamed into place,
so a reader never sees half a cache. When the cache dir cannot be written, nothing is cached.

Examples
--------
>>> m = manifest(folder, [folder / job_id for job_id in batch.job_ids], armature=False)
>>> sorted(load(folder, m))  # read before (as ``res``): its tables come from the cache
['frames', 'jobs', 'keypoints', 'objects']
>>> load(folder, {**m, "armature": True}) is None  # another read: nothing cached for it
True
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from .._paths import cache_dir
from .._version import __version__
from .tables import TABLES

__all__ = ["cache_folder", "load", "manifest", "save"]
# Bump when the tables' columns or types change, so that old caches are not served.
# 2: tables cached bare, the parameters in jobs only (tables.bare_tables).
CACHE_FORMAT = 2
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


def cache_folder(root: Path) -> Path:
    """Where the tables of the batch folder ``root`` are cached (see the module docstring)."""
    key = hashlib.sha256(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir() / "results" / key


def load(root: Path, expected: Mapping[str, Any]) -> dict[str, pa.Table] | None:
    """The cached tables when the stored manifest equals ``expected``; else ``None``."""
    folder = cache_folder(root)
    try:
        stored = orjson.loads((folder / _MANIFEST).read_bytes())
        if stored != expected:
            return None
        return {name: pq.read_table(folder / f"{name}.parquet") for name in TABLES}
    except (OSError, ValueError, pa.ArrowException):
        return None  # no cache, or a damaged one: read the JSON instead


def save(root: Path, expected: Mapping[str, Any], tables: Mapping[str, pa.Table]) -> bool:
    """Write the cache atomically; ``False`` (and nothing left behind) when the cache dir is not writable."""
    tag = uuid.uuid4().hex
    target = cache_folder(root)
    building, retired = target.with_name(f"{target.name}.tmp-{tag}"), target.with_name(f"{target.name}.old-{tag}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        building.mkdir()
        for name in TABLES:
            pq.write_table(tables[name], building / f"{name}.parquet")
        (building / _MANIFEST).write_bytes(orjson.dumps(dict(expected)))
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
