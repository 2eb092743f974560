"""Downloading a batch: parallel, resumable, and never a half-written job folder.

For each finished job: stream its zip into ``<folder>/.infinityframe-partial/``, check every
member's CRC and that no member would land outside the job's folder (``..``, absolute paths,
symlinks), extract beside, then rename the job folder into place. A job folder that exists is
therefore whole, and is what a second run skips. Nothing finished is ever deleted.

Nothing the server sends is trusted with a path: the batch id and every job id must be a
canonical UUID before any file is written, every path is checked (resolved) to stay inside the
download folder, and archives are measured against :class:`~._limits.Limits` (members, unpacked
size, compression ratio) before a byte of them is extracted.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import struct
import threading
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import DownloadError, InfinityError, ServiceError
from ._limits import RATIO_FLOOR, Limits, size
from .progress import tqdm_class

if TYPE_CHECKING:
    from .batch import Batch

__all__ = ["check_id", "download_batch", "safe_extract"]

log = logging.getLogger("infinityframe.client")

MARKER = "batch_id.txt"
STAGING = ".infinityframe-partial"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CD_ENTRY_BYTES = 1024  # the central directory may hold this much per allowed member, on average


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def check_id(value: object, what: str) -> str:
    """``value`` if it is a canonical (lowercase) UUID, the form the API's ids take; else DownloadError.

    Ids come from the server and become folder names, so nothing else may pass: not ``../x``,
    not ``/abs/dir``, not ``batch_id.txt``.

    Examples
    --------
    >>> check_id("5291a594-f9b4-4b67-a7e7-e32e4c92b7aa", "batch")
    '5291a594-f9b4-4b67-a7e7-e32e4c92b7aa'
    """
    if isinstance(value, str) and _UUID.fullmatch(value):
        return value
    raise DownloadError(f"The service gave {what} id {_shown(value)}, which is not a UUID: refused to make a path of "
                        "it, nothing was written. The server is broken or hostile.")


def _inside(root: Path, path: Path) -> Path:
    """``path`` if, links resolved, it stays inside ``root`` (itself resolved); else DownloadError."""
    if not path.resolve().is_relative_to(root):
        raise DownloadError(f"Refused to write {path}: it leads out of the download folder {root} (a link?).")
    return path


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


def _directory(archive: Path) -> tuple[int, int] | None:
    """(entries, bytes) of the archive's central directory, read from its end record; None if absent.

    Read before :mod:`zipfile` builds an object per entry, so a directory of millions of entries
    is refused without being parsed.
    """
    with open(archive, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, end - (22 + 0xFFFF)))
        tail = fh.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            return None  # not a zip: zipfile says so
        entries, cd_bytes = struct.unpack_from("<HI", tail, at + 10)
        locator = at - 20  # a zip64 archive's end record points further back
        zip64 = locator >= 0 and tail[locator:locator + 4] == b"PK\x06\x07"
        if zip64 and (entries == 0xFFFF or cd_bytes == 0xFFFFFFFF):
            fh.seek(struct.unpack_from("<Q", tail, locator + 8)[0])
            record = fh.read(56)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                entries, cd_bytes = struct.unpack_from("<QQ", record, 32)
    return entries, cd_bytes


def _check_limits(archive: Path, infos: list[zipfile.ZipInfo], job_id: str, limits: Limits) -> None:
    """Refuse an archive too big to unpack: too many members, too large, or compressed past belief."""
    what = f"Job {job_id}: refused the archive"
    if len(infos) > limits.max_members:
        raise DownloadError(f"{what}: {len(infos):,} members (Limits.max_members is {limits.max_members:,}).")
    total = sum(info.file_size for info in infos)
    if total > limits.max_unpacked_bytes:
        raise DownloadError(f"{what}: it would unpack to {size(total)} "
                            f"(Limits.max_unpacked_bytes is {size(limits.max_unpacked_bytes)}).")
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(1, info.compress_size):
            raise DownloadError(
                f"{what}: member {info.filename[:100]!r} would unpack from {size(info.compress_size)} to "
                f"{size(info.file_size)} (a zip bomb? Limits.max_ratio is {limits.max_ratio:g}).")
    packed = archive.stat().st_size
    if total > RATIO_FLOOR and total > limits.max_ratio * max(1, packed):
        raise DownloadError(f"{what}: {size(packed)} would unpack to {size(total)} "
                            f"(a zip bomb? Limits.max_ratio is {limits.max_ratio:g}).")


def safe_extract(archive: Path, job_id: str, dest: Path, *, limits: Limits | None = None) -> Path:
    """Check a job's zip and extract it into ``dest/<job_id>``; returns that folder.

    Accepts the service's layout (every member under ``<job_id>/``) and flat archives. Refuses
    corrupt members (CRC), paths that escape the folder, symbolic links, and archives past
    ``limits`` (members, unpacked size, compression ratio; :class:`Limits` by default), all
    before anything is written. On any failure the folder it created is removed.
    """
    # By hand, not zipfile.extractall: extractall only strips ".." and drive letters from names; it
    # neither refuses symbolic links, nor measures members, sizes and ratios before writing (zip
    # bombs), nor checks CRCs first, so a hostile archive would be half-written before it failed.
    limits = limits or Limits()
    target = dest / job_id
    try:
        directory = _directory(archive)
        if directory is not None and (directory[0] > limits.max_members
                                      or directory[1] > limits.max_members * _CD_ENTRY_BYTES):
            raise DownloadError(f"Job {job_id}: refused the archive: its directory declares {directory[0]:,} members "
                                f"in {size(directory[1])} (Limits.max_members is {limits.max_members:,}).")
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            _check_limits(archive, infos, job_id, limits)
            placed = _placements(infos, job_id, target)
            bad = zf.testzip()
            if bad is not None:
                raise DownloadError(f"Job {job_id}: archive member {bad!r} is corrupt (CRC mismatch).")
            target.mkdir(parents=True)
            try:
                _write(zf, placed, job_id)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
        raise DownloadError(f"Job {job_id}: the download is not a whole zip archive ({err}).") from err
    except OSError as err:  # the archive itself could not be read
        raise DownloadError(f"Job {job_id}: could not read the downloaded archive ({err.strerror or err}).") from err
    return target


def _placements(infos: list[zipfile.ZipInfo], job_id: str, target: Path) -> list[tuple[zipfile.ZipInfo, Path]]:
    """Where each member goes; every member is checked before anything is written."""
    root = target.resolve()
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
    return placed


def _write(zf: zipfile.ZipFile, placed: list[tuple[zipfile.ZipInfo, Path]], job_id: str) -> None:
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


def _check_marker(folder: Path, batch_id: str) -> None:
    """Refuse a folder holding another batch (``batch_id.txt``); leaves the folder untouched."""
    marker = folder / MARKER
    if not (marker.exists() or marker.is_symlink()):
        return
    if marker.is_symlink() or not marker.is_file():
        raise DownloadError(f"{marker} is not a plain file: choose another folder for batch {batch_id}.")
    try:
        with open(marker, encoding="utf-8", errors="replace") as fh:
            found = fh.read(200).strip()
    except OSError as err:
        raise DownloadError(f"Could not read {marker} ({err.strerror or err}): choose another folder.") from err
    if found != batch_id:
        raise DownloadError(f"{folder} holds batch {_shown(found)[1:-1]}, not {batch_id}: choose another folder.")


def _write_marker(folder: Path, batch_id: str) -> None:
    marker = folder / MARKER
    if marker.is_file():
        return
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(batch_id)  # the bare id, no newline, as the Infinity clients write it
    os.replace(tmp, marker)


def _finished_jobs(batch: Batch) -> list[tuple[str, Any]]:
    """(job id, result URL) of each finished job in the summary, every id checked; nothing is written."""
    seen: set[str] = set()
    ready: list[tuple[str, Any]] = []  # the URL as sent: get_bytes checks it, per job
    for run in batch.job_runs():  # a list of objects with ids, or a ServiceError
        url = run.get("result_url")
        try:
            job_id = check_id(run["id"], "a job")
        except DownloadError as err:
            raise DownloadError(f"Batch {batch.id}: {err}") from None
        if job_id in seen:
            raise DownloadError(f"Batch {batch.id}: the service listed job {job_id} twice; nothing was written.")
        seen.add(job_id)
        if url is not None and url != "":
            ready.append((job_id, url))
    return ready


def download_batch(batch: Batch, folder: Path, *, overwrite: bool = False, progress: bool = True,
                   workers: int = 8) -> Path:
    """Download the batch's finished jobs into ``folder``; see :meth:`Batch.download`."""
    check_id(batch.id, "the batch")
    folder = Path(folder)
    _check_marker(folder, batch.id)
    ready = _finished_jobs(batch)
    transport = batch.session.api.transport
    limits = transport.limits
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    _write_marker(folder, batch.id)

    todo = [(job_id, url) for job_id, url in ready if overwrite or not (folder / job_id).is_dir()]
    skipped = len(ready) - len(todo)
    if skipped:
        log.info("batch %s: %d job(s) already downloaded in %s", batch.id, skipped, folder)
    refresh_lock = threading.Lock()
    fresh_urls: dict[str, Any] = {}

    def fresh_url(job_id: str) -> str | None:
        # Signed URLs expire; a long download asks the summary for new ones, once.
        with refresh_lock:
            if not fresh_urls:
                fresh_urls.update(_finished_jobs(batch))
            url = fresh_urls.get(job_id)
            return url if isinstance(url, str) else None

    staging = folder / STAGING
    if staging.is_symlink():
        staging.unlink()
    shutil.rmtree(staging, ignore_errors=True)  # leftovers of an interrupted run are never results
    staging.mkdir()
    _inside(root, staging)

    def fetch(job_id: str, url: Any) -> None:
        archive = _inside(root, staging / f"{job_id}.zip")
        unpacked = _inside(root, staging / f"{job_id}.d")
        final = _inside(root, folder / job_id)
        try:
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
            extracted = safe_extract(archive, job_id, unpacked, limits=limits)
            if final.exists() or final.is_symlink():  # only with overwrite: move the old folder aside first
                old = _inside(root, staging / f"{job_id}.old")
                os.replace(final, old)
                try:
                    os.replace(extracted, final)
                except OSError:
                    os.replace(old, final)  # the old folder stays as it was
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(extracted, final)
        finally:
            archive.unlink(missing_ok=True)
            shutil.rmtree(unpacked, ignore_errors=True)

    failed: dict[str, str] = {}
    try:
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
                bar.update(1)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    if failed:
        shown = "\n".join(f"  {job_id}: {why}" for job_id, why in list(failed.items())[:5])
        raise DownloadError(
            f"{len(failed)} of {len(todo)} job(s) of batch {batch.id} could not be downloaded:\n{shown}\n"
            f"The {len(ready) - len(failed)} other finished job(s) are in {folder}; call download() again "
            "to retry the rest.")
    return folder
