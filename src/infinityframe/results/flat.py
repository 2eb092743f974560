"""The flat layout of Infinity's published datasets: every job's files side by side in one folder.

A downloaded batch holds one folder per job (``<id>/job.json``, ``<id>/labels.json`` …). The
sample datasets Infinity published hold them flat, named by the job id instead:

==========================  =========================  =======================================
flat file                   plays the part of          holds
==========================  =========================  =======================================
``<id>_params.json``        ``job.json``               the parameters, bare or as ``{"params": …}``
``<id>_labels.json``        ``labels.json``            COCO labels
``<id>.csv``                ``data.csv``               a per-frame table (read when no labels)
``<id>_segmentation.zip``   ``segmentation.zip``       the masks
``<id>.mp4``                ``video.mp4``              the video
==========================  =========================  =======================================

A job is an id with a params or a labels file (a lone ``.csv`` or ``.mp4`` may be anything, such
as a dataset's own summary table). :class:`FlatJob` maps the nested names to the flat files, so
:func:`~infinityframe.results.readers.read_job` reads both layouts with the same code.

Examples
--------
>>> find_flat_jobs(Path("sample"), ["a1_params.json", "a1_labels.json", "a1.mp4", "README.md"])
[FlatJob(job_id='a1', folder=PosixPath('sample'), files={'params.json': 'a1_params.json', \
'labels.json': 'a1_labels.json', 'video.mp4': 'a1.mp4'})]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FLAT_FILES", "PARAMS_FILE", "FlatJob", "find_flat_jobs", "job_file"]

# The bare parameters of a flat job; in a job folder they are job.json's "params".
PARAMS_FILE = "params.json"
# Flat file name ending → the file of a job folder it stands for. Checked in order, longest first.
FLAT_FILES: dict[str, str] = {
    "_params.json": PARAMS_FILE,
    "_labels.json": "labels.json",
    "_segmentation.zip": "segmentation.zip",
    ".csv": "data.csv",
    ".mp4": "video.mp4",
}
# Only these make an id a job; the other files belong to a job found by one of these.
_DEFINING = frozenset({PARAMS_FILE, "labels.json"})


@dataclass(frozen=True)
class FlatJob:
    """One job of a flat dataset folder: where each of its files is.

    Attributes
    ----------
    job_id : str
        The ``<id>`` its files are named by.
    folder : Path
        The dataset folder holding them.
    files : dict of str to str
        The job's files present, by the name the file would have in a job folder
        (``labels.json``, ``data.csv``, ``video.mp4`` …; ``params.json`` for the parameters).
    """

    job_id: str
    folder: Path
    files: Mapping[str, str]

    @property
    def name(self) -> str:
        """The job id, as a job folder's name is."""
        return self.job_id

    @property
    def stem(self) -> Path:
        """``<folder>/<id>``: each of the job's files is this plus its ending (``_labels.json``, ``.mp4`` …)."""
        return self.folder / self.job_id

    def path(self, name: str) -> Path:
        """The file standing for ``name`` (a file name of a job folder), present or not."""
        return self.folder / self.file_name(name)

    def file_name(self, name: str) -> str:
        """The flat name of ``name``: ``labels.json`` → ``<id>_labels.json``."""
        if name in self.files:
            return self.files[name]
        ending = next(end for end, nested in FLAT_FILES.items() if nested == name)
        return f"{self.job_id}{ending}"


def job_file(path: Path, name: str) -> Path:
    """The file standing for ``name`` (``labels.json``, ``video.mp4`` …) of the job at ``path``,
    present or not: ``path / name`` in a job folder, ``<path><ending>`` for a flat job, whose
    ``path`` (the tables' ``jobs.path``) is the stem ``<dataset folder>/<id>``.

    >>> job_file(Path("no-such-dataset/a1"), "video.mp4")
    PosixPath('no-such-dataset/a1.mp4')
    """
    if path.is_dir() or name not in FLAT_FILES.values():
        return path / name
    ending = next(end for end, nested in FLAT_FILES.items() if nested == name)
    return path.with_name(f"{path.name}{ending}")


def _split(name: str) -> tuple[str, str] | None:
    """``(id, nested name)`` of a flat file name, or ``None`` for any other file."""
    for ending, nested in FLAT_FILES.items():
        if name.endswith(ending) and len(name) > len(ending):
            return name[: -len(ending)], nested
    return None


def find_flat_jobs(folder: Path, names: Iterable[str]) -> list[FlatJob]:
    """The jobs that the file ``names`` of ``folder`` make up, sorted by id.

    Parameters
    ----------
    folder : Path
        The dataset folder.
    names : iterable of str
        The names of the files in it (not of its sub-folders).

    Returns
    -------
    list of FlatJob
        One per id that has a ``<id>_params.json`` or ``<id>_labels.json``; empty when none has.
    """
    by_id: dict[str, dict[str, str]] = {}
    for name in names:
        split = _split(name)
        if split is not None:
            by_id.setdefault(split[0], {})[split[1]] = name
    return [FlatJob(job_id, folder, files) for job_id, files in sorted(by_id.items())
            if not _DEFINING.isdisjoint(files)]
