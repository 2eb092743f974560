"""Downloading a batch: parallel, resumable, and never a half-written job folder.

For each finished job: stream its zip into ``<folder>/.infinityframe-partial/``, check every
member's CRC and that no member would land outside the job's folder (``..``, absolute paths,
symlinks), extract beside, then rename the job folder into place. A job folder that exists is
therefore whole, and is what a second run skips. Nothing finished is ever deleted.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import threading
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..errors import DownloadError, InfinityError, ServiceError
from .progress import tqdm_class

if TYPE_CHECKING:
    from .batch import Batch

__all__ = ["download_batch", "safe_extract"]

log = logging.getLogger("infinityframe.client")

MARKER = "batch_id.txt"
STAGING = ".infinityframe-partial"


def _member_parts(name: str, job_id: str) -> tuple[str, ...] | None:
    """The path of a member inside the job folder, or ``None`` for the folder entry itself.

    Raises DownloadError for a member that would escape the folder.
    """
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise DownloadError(f"Job {job_id}: refused archive member {name!r} (absolute or Windows path).")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise DownloadError(f"Job {job_id}: refused archive member {name!r} ('..' would escape the job folder).")
    if parts and parts[0] == job_id:
        parts = parts[1:]
    return parts or None


def safe_extract(archive: Path, job_id: str, dest: Path) -> Path:
    """Check a job's zip and extract it into ``dest/<job_id>``; returns that folder.

    Accepts the service's layout (every member under ``<job_id>/``) and flat archives. Refuses
    corrupt members (CRC), paths that escape the folder, and symbolic links.
    """
    target = dest / job_id
    target.mkdir(parents=True)
    root = target.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            # Every member is checked before anything is written.
            placed: list[tuple[zipfile.ZipInfo, Path]] = []
            for info in infos:
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise DownloadError(f"Job {job_id}: refused archive member {info.filename!r} (a symbolic link).")
                parts = _member_parts(info.filename, job_id)
                if parts is None:
                    continue
                if len(PurePosixPath(info.filename).parts) > 1 and PurePosixPath(info.filename).parts[0] != job_id:
                    raise DownloadError(f"Job {job_id}: archive member {info.filename!r} is in another job's folder.")
                out = target.joinpath(*parts)
                if not out.resolve().is_relative_to(root):
                    raise DownloadError(f"Job {job_id}: refused archive member {info.filename!r} (outside the folder).")
                placed.append((info, out))
            # A path that is a file in one member and a folder in another cannot be extracted whole.
            files = {out for info, out in placed if not info.is_dir()}
            folders = {parent for _, out in placed for parent in out.parents if parent != target
                       and parent.is_relative_to(target)} | {out for info, out in placed if info.is_dir()}
            if clashes := sorted(files & folders):
                raise DownloadError(f"Job {job_id}: refused the archive: "
                                    f"{clashes[0].relative_to(target).as_posix()!r} is both a file and a folder in it.")
            bad = zf.testzip()
            if bad is not None:
                raise DownloadError(f"Job {job_id}: archive member {bad!r} is corrupt (CRC mismatch).")
            for info, out in placed:
                try:
                    if info.is_dir():
                        out.mkdir(parents=True, exist_ok=True)
                        continue
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                except OSError as err:  # a name too long for this file system, a full disk, …
                    raise DownloadError(f"Job {job_id}: could not write archive member {info.filename!r} "
                                        f"({err.strerror or err}).") from err
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise DownloadError(f"Job {job_id}: the download is not a whole zip archive ({err}).") from err
    return target


def _check_marker(folder: Path, batch_id: str) -> None:
    marker = folder / MARKER
    if marker.exists():
        found = marker.read_text().strip()
        if found != batch_id:
            raise DownloadError(f"{folder} holds batch {found}, not {batch_id}: choose another folder.")
        return
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(batch_id)  # the bare id, no newline, as the Infinity clients write it
    os.replace(tmp, marker)


def download_batch(batch: Batch, folder: Path, *, overwrite: bool = False, progress: bool = True,
                   workers: int = 8) -> Path:
    """Download the batch's finished jobs into ``folder``; see :meth:`Batch.download`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _check_marker(folder, batch.id)
    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)  # leftovers of an interrupted run are never results
    staging.mkdir()

    status = batch.status()
    ready = status[status["result_url"].notna()]
    todo = [(row.job_id, row.result_url) for row in ready.itertuples()
            if overwrite or not (folder / row.job_id).is_dir()]
    skipped = len(ready) - len(todo)
    if skipped:
        log.info("batch %s: %d job(s) already downloaded in %s", batch.id, skipped, folder)
    transport = batch.session._transport
    refresh_lock = threading.Lock()
    fresh_urls: dict[str, str] = {}

    def fresh_url(job_id: str) -> str | None:
        # Signed URLs expire; a long download asks the summary for new ones, once.
        with refresh_lock:
            if not fresh_urls:
                fresh_urls.update({r.job_id: r.result_url for r in batch.status().itertuples() if r.result_url})
            return fresh_urls.get(job_id)

    def fetch(job_id: str, url: str) -> None:
        archive = staging / f"{job_id}.zip"
        for attempt in (1, 2):
            try:
                with open(archive, "wb+") as fh:
                    transport.get_bytes(url, fh)
                    fh.flush()
                break
            except ServiceError as err:
                if err.status in (403, 404) and attempt == 1 and (new := fresh_url(job_id)):
                    url = new
                    continue
                raise
        extracted = safe_extract(archive, job_id, staging / f"{job_id}.d")
        final = folder / job_id
        if final.exists():  # only with overwrite: move the old folder aside first, then drop it
            old = staging / f"{job_id}.old"
            os.replace(final, old)
            os.replace(extracted, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(extracted, final)
        archive.unlink(missing_ok=True)

    failed: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, tqdm_class()(
        total=len(ready), initial=skipped, desc=f"download {batch.id[:8]}", unit="job", disable=not progress
    ) as bar:
        futures = {pool.submit(fetch, job_id, url): job_id for job_id, url in todo}
        for future in as_completed(futures):
            job_id = futures[future]
            try:
                future.result()
            except Exception as err:  # one job's failure must not lose the others' work
                failed[job_id] = str(err) if isinstance(err, InfinityError) else f"{type(err).__name__}: {err}"
                shutil.rmtree(staging / f"{job_id}.d", ignore_errors=True)
            bar.update(1)
    shutil.rmtree(staging, ignore_errors=True)

    if failed:
        shown = "\n".join(f"  {job_id}: {why}" for job_id, why in list(failed.items())[:5])
        raise DownloadError(
            f"{len(failed)} of {len(todo)} job(s) of batch {batch.id} could not be downloaded:\n{shown}\n"
            f"The {len(ready) - len(failed)} other finished job(s) are in {folder}; call download() again "
            "to retry the rest.")
    return folder
