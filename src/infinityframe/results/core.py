"""``read_results`` and ``Results``: a batch folder (or a published dataset's flat one) as four tidy tables.

Reading a batch is dominated by JSON parsing, so labels files are decoded lazily: only the
fields a table shows are parsed (see :mod:`.labels`). The parsers hold the GIL, so threads do
not help; jobs are read one after the other in this process, with the garbage collector
paused (parsed JSON has no cycles, and the collector would otherwise rescan the young
objects a labels file makes), or, for very large batches on several CPUs, in a process pool
that sends back only the numpy columns. Parsed JSON is dropped as soon as a job's columns are
built, and the columns of all jobs are joined once, at the end.

Examples
--------
>>> import infinityframe as inf
>>> res = inf.read_results("batch")                  # a downloaded batch folder (of two previews)
>>> res                                              # doctest: +ELLIPSIS
Results(batch ...: 2 jobs, 2 frames, 2 objects, 34 keypoints; backend='pandas')
>>> import seaborn as sns
>>> grid = sns.relplot(res.objects, x="camera_distance", y="bbox_h")
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from . import cache as _cache
from . import parquet as _parquet
from .flat import find_flat_jobs
from .readers import JobData, JobSource, is_job_folder, label_files, read_job
from .tables import TABLES, attach_params, bare_tables, compact_params

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Backend", "Results", "ResultsWarning", "read_results"]

Backend = Literal["pandas", "polars"]
# Below this many bytes of labels, starting worker processes costs more than it saves: each
# spawned worker imports the package (~0.7 s) before it reads, and one process reads ~0.5 GB/s.
_PARALLEL_BYTES = 2**30
_PARALLEL_CPUS = 4


class ResultsWarning(UserWarning):
    """Some jobs of a batch could not be read fully; ``res.jobs["problem"]`` says why."""


class Results:
    """The tidy tables of one or more batches of results.

    Use :func:`read_results` to make one. Every table has ``batch_id`` and ``job_id`` first and
    the job's parameters last; see :func:`read_results` for the columns.

    Attributes
    ----------
    jobs, frames, objects, keypoints : DataFrame
        pandas or polars frames, per :attr:`backend`.
    path : Path or None
        The folder the results were read from.
    batch_ids : list of str
        The batches present, in order.
    backend : {"pandas", "polars"}
        The frame library of the tables.

    Examples
    --------
    >>> res = read_results("batch/")          # a downloaded batch of two previews
    >>> res                                   # doctest: +ELLIPSIS
    Results(batch ...: 2 jobs, 2 frames, 2 objects, 34 keypoints; backend='pandas')
    >>> heights = res.objects.groupby("camera_distance").bbox_h.mean()   # labels beside their parameters
    >>> res.to_backend("polars").keypoints.filter(pl.col("v") == 2).height > 0
    True
    """

    def __init__(self, tables: Mapping[str, Any], *, path: Path | None = None, backend: Backend = "pandas") -> None:
        missing = [name for name in TABLES if name not in tables]
        if missing:
            raise ValueError(f"Results needs the tables {', '.join(TABLES)}; missing: {', '.join(missing)}")
        self._tables = {name: tables[name] for name in TABLES}
        self.path = path
        self.backend: Backend = backend

    @classmethod
    def from_arrow(cls, tables: Mapping[str, pa.Table], *, path: Path | None = None,
                   backend: Backend = "pandas") -> Results:
        """Results from Arrow tables, converted to ``backend`` frames.

        For pandas, the numeric parameters of ``keypoints`` become categories (as a read makes
        them), whether or not the Arrow tables hold them as dictionaries.
        """
        if backend == "pandas":
            tables = compact_params(tables)
        return cls({name: _from_arrow(tables[name], backend) for name in TABLES}, path=path, backend=backend)

    @property
    def jobs(self) -> Any:
        """One row per job: batch_id, job_id, generator, preview, path, num_frames, num_annotations,
        problem, the parameters, then per-job means (``mean_percent_in_fov`` …)."""
        return self._tables["jobs"]

    @property
    def frames(self) -> Any:
        """One row per frame (image): keys, image_id, time_s, width, height, image_path, fields, parameters."""
        return self._tables["frames"]

    @property
    def objects(self) -> Any:
        """One row per annotation: keys, object_id, category, bbox_x/y/w/h, area, … , parameters."""
        return self._tables["objects"]

    @property
    def keypoints(self) -> Any:
        """One row per keypoint of an object: keys, object_id, kind, keypoint, x, y, v, parameters."""
        return self._tables["keypoints"]

    @property
    def batch_ids(self) -> list[str]:
        """The batch ids present, in the order of the ``jobs`` table."""
        values = _to_arrow(self._tables["jobs"])["batch_id"].to_pylist()
        return list(dict.fromkeys(str(v) for v in values))

    def to_arrow(self) -> dict[str, pa.Table]:
        """The four tables as Arrow tables (shared by both backends and by parquet).

        Examples
        --------
        >>> read_results("batch/").to_arrow()["objects"].num_rows
        2
        """
        return {name: _to_arrow(frame) for name, frame in self._tables.items()}

    def to_backend(self, backend: Backend) -> Results:
        """The same results as ``"pandas"`` or ``"polars"`` frames (a new object; this one is unchanged).

        Examples
        --------
        >>> type(read_results("batch/").to_backend("polars").objects).__name__
        'DataFrame'
        """
        _check_backend(backend)
        if backend == self.backend:
            return Results(self._tables, path=self.path, backend=backend)
        return Results.from_arrow(self.to_arrow(), path=self.path, backend=backend)

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write each table as parquet partitioned by batch_id and job_id (hive layout).

        The folder can be read back with :func:`read_results` and scanned lazily by polars,
        DuckDB, Dask or Spark without conversion.

        Examples
        --------
        >>> out = res.to_parquet("results/")
        >>> pl.scan_parquet(out / "objects/**/*.parquet", hive_partitioning=True).collect().height
        2
        """
        return _parquet.write(self.to_arrow(), Path(path))

    def split(self, fractions: Mapping[str, float], *, by: str | Sequence[str] = "job_id", seed: int = 0,
              stratify: str | None = None) -> Results:
        """New results with a ``split`` column in every table; see :func:`infinityframe.results.split.split`.

        Examples
        --------
        >>> parts = res.split({"train": .5, "test": .5}, by="job_id", seed=0)
        >>> sorted(parts.jobs["split"].astype(str))
        ['test', 'train']
        """
        from .split import split

        return split(self, fractions, by=by, seed=seed, stratify=stratify)

    def to_coco(self, path: str | os.PathLike[str], *, split: str | Sequence[str] | None = None) -> list[Path]:
        """Write merged COCO json, one file per split; see :func:`infinityframe.results.coco.to_coco`.

        Examples
        --------
        >>> [p.name for p in res.split({"train": .5, "val": .5}).to_coco("coco/")]
        ['train.json', 'val.json']
        """
        from .coco import to_coco

        return to_coco(self, path, split=split)

    def plot(self, x: str, y: str, hue: str | None = None,
             level: Literal["jobs", "frames", "objects", "keypoints"] = "objects") -> Figure:
        """``y`` against ``x`` with 95% confidence bands; see :func:`infinityframe.plots.results_figure`.

        Examples
        --------
        >>> res.plot("camera_distance", "bbox_h", hue="exercise").savefig("box-heights.png")
        """
        from ..plots import results_figure

        return results_figure(self, x, y, hue=hue, level=level)

    def show(self, n: int = 16, mark: Iterable[str] | None = None, mark_label: str = "marked") -> Figure:
        """``n`` frames with boxes, skeletons and masks drawn, the jobs in ``mark`` outlined; see
        :func:`infinityframe.plots.frames_figure`.

        Examples
        --------
        >>> res.show(n=2).savefig("frames.png")
        """
        from ..plots import frames_figure

        return frames_figure(self, n=n, mark=mark, mark_label=mark_label)

    def effects(self, target: str | Any, params: Sequence[str] | None = None,
                level: Literal["jobs", "frames", "objects", "keypoints"] = "jobs", **options: Any) -> Any:
        """How much each parameter drives ``target``; see :func:`infinityframe.learn.effects.effects`.

        The job is the unit: a column of ``frames``, ``objects`` or ``keypoints`` (``level``)
        is averaged per job first. ``target`` may also be a Series of one number per job
        (indexed by job_id, or in the order of :attr:`jobs`), e.g. a model's error per job.
        ``options``: ``method``, ``n_boot``, ``seed``.

        Examples
        --------
        >>> table = res.effects("mean_bbox_h", method="permutation", n_boot=2)  # doctest: +SKIP
        >>> list(table.columns[:6])                                               # doctest: +SKIP
        ['parameter', 'effect', 'low', 'high', 'method', 'n']
        """
        from ..learn.results import job_effects

        return job_effects(self, target, params, level, **options)

    def plot_effects(self, target: str | Any, params: Sequence[str] | None = None,
                     level: Literal["jobs", "frames", "objects", "keypoints"] = "jobs", **options: Any) -> Figure:
        """:meth:`effects` drawn: a bar per parameter with its 95% interval, the strongest on top.

        Examples
        --------
        >>> res.plot_effects("mean_bbox_h").savefig("effects.png")   # doctest: +SKIP
        """
        from ..learn.figures import effects_figure

        return effects_figure(self.effects(target, params, level, **options))

    def __repr__(self) -> str:
        counts = {name: len(frame) for name, frame in self._tables.items()}
        ids = self.batch_ids
        where = f"batch {ids[0]}" if len(ids) == 1 else f"{len(ids)} batches"
        problems = _problem_jobs(self._tables["jobs"])
        flagged = f" ({len(problems)} with problems)" if problems else ""
        return (f"Results({where}: {counts['jobs']} jobs{flagged}, {counts['frames']} frames, "
                f"{counts['objects']} objects, {counts['keypoints']} keypoints; backend={self.backend!r})")


def _check_backend(backend: str) -> None:
    if backend not in ("pandas", "polars"):
        raise ValueError(f"backend must be 'pandas' or 'polars', not {backend!r}")


def _from_arrow(table: pa.Table, backend: Backend) -> Any:
    if backend == "polars":
        import polars as pl

        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        # polars turns an all-null dictionary (``state`` of fresh jobs) into the Null type;
        # keep it categorical so the column's type does not depend on the batch's contents.
        nulls = [f.name for f in table.schema if pa.types.is_dictionary(f.type) and frame[f.name].dtype == pl.Null]
        return frame.with_columns(pl.col(nulls).cast(pl.Categorical)) if nulls else frame
    # split_blocks: one block per column, as Arrow holds them, rather than consolidating every
    # float column into one 2-D copy (5x faster for a million keypoint rows; pandas is as happy).
    return table.to_pandas(split_blocks=True)


def _to_arrow(frame: Any) -> pa.Table:
    if isinstance(frame, pa.Table):
        return frame
    if type(frame).__module__.startswith("polars"):
        table: pa.Table = frame.to_arrow()
        return table
    return pa.Table.from_pandas(frame, preserve_index=False)


def _problem_jobs(jobs: Any) -> list[tuple[str, str]]:
    table = _to_arrow(jobs)
    if "problem" not in table.column_names:
        return []
    ids, problems = table["job_id"].to_pylist(), table["problem"].to_pylist()
    return [(str(j), str(p)) for j, p in zip(ids, problems, strict=True) if p]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_job_quietly(source: JobSource, armature: bool) -> JobData:
    with _gc_paused():
        return read_job(source, armature=armature)


def _labels_bytes(sources: Sequence[JobSource]) -> int:
    total = 0
    for source in sources:
        for path in label_files(source):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
                break
    return total


def _read_jobs(folders: Sequence[JobSource], armature: bool, workers: int | None) -> list[JobData]:
    cpus = os.cpu_count() or 1
    if workers is None:
        # Measured on 2 vCPUs, two processes read no faster than one (start-up and pickling cost), so
        # a pool is only worth its start-up with several real cores and a lot of JSON.
        big = len(folders) > 1 and _labels_bytes(folders) >= _PARALLEL_BYTES
        workers = min(cpus, 8) if big and cpus >= _PARALLEL_CPUS else 1
    workers = max(1, min(workers, len(folders)))
    if workers == 1:
        with _gc_paused():
            return [read_job(folder, armature=armature) for folder in folders]
    chunk = max(1, len(folders) // (4 * workers))
    # "spawn", not fork: forking a process whose polars or BLAS threads hold locks can deadlock the child.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_read_job_quietly, folders, [armature] * len(folders), chunksize=chunk))


def _batch_id(root: Path) -> str:
    try:
        text = (root / "batch_id.txt").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    return text or root.resolve().name


def _batch_jobs(root: Path) -> tuple[list[JobSource], bool]:
    """The jobs of a batch folder, by job id: its job folders and the jobs of flat dataset files.

    Also whether any are flat. Raises :class:`FileNotFoundError` when the folder holds files but
    no jobs; warns when it holds nothing but metadata (an empty batch).
    """
    folders: list[Path] = []
    files: list[str] = []
    # One listing of the folder serves both layouts; is_dir() costs no stat where the OS says the type.
    for entry in os.scandir(root):
        if entry.name.startswith("."):
            continue  # ours (the cache and its temporary siblings) or the system's
        if entry.is_dir():
            folders.append(Path(entry.path))
        else:
            files.append(entry.name)
    flat = find_flat_jobs(root, files) if files else []
    if not flat:
        if not folders:
            _no_jobs(root, files)
        return sorted(folders, key=lambda p: p.name), False
    clashes = sorted({p.name for p in folders} & {job.job_id for job in flat})
    if clashes:
        shown = ", ".join(clashes[:5]) + (f" … ({len(clashes)} jobs)" if len(clashes) > 5 else "")
        raise ValueError(f"{root} holds these jobs twice, as a job folder (<id>/) and as flat dataset files "
                         f"(<id>_params.json …): {shown}. Move one copy elsewhere, so that each job is read once.")
    sources: list[JobSource] = [*folders, *flat]
    return sorted(sources, key=lambda s: s.name), True


def _no_jobs(root: Path, files: Sequence[str]) -> None:
    """Say why a folder with no job folders and no flat jobs reads as no jobs: raise, or warn for an empty batch."""
    looked_for = (f"no job folders (<id>/job.json) and no flat dataset files (<id>_params.json or "
                  f"<id>_labels.json) found in {root}")
    unknown = sorted(name for name in files if name != "batch_id.txt")
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" … ({len(unknown)} files)" if len(unknown) > 10 else "")
        raise FileNotFoundError(f"{looked_for}; found: {shown}. Pass a batch folder, a single job folder, a "
                                "published dataset folder or a folder written by Results.to_parquet.")
    # stacklevel: read_results' caller, past _batch_jobs
    warnings.warn(f"Batch {_batch_id(root)} has no jobs: {looked_for}, so every table is empty. If the batch "
                  "is still running, download it again when jobs have finished.", ResultsWarning, stacklevel=4)


def _warn_problems(jobs: Any, where: Path) -> None:
    problems = _problem_jobs(jobs)
    if not problems:
        return
    shown = "; ".join(f"{job_id}: {problem}" for job_id, problem in problems[:5])
    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    warnings.warn(f"{len(problems)} job(s) in {where} could not be read fully and contribute no or partial "
                  f"rows ({shown}{more}). See res.jobs['problem'].", ResultsWarning, stacklevel=3)


def read_results(path: str | os.PathLike[str], *, backend: Backend = "pandas", workers: int | None = None,
                 cache: bool = True, armature: bool = False) -> Results:
    """Read a batch of results into tidy ``jobs``, ``frames``, ``objects`` and ``keypoints`` tables.

    Every table starts with ``batch_id`` (from ``batch_id.txt``, else the folder name) and
    ``job_id`` (the job folder's name) and ends with the job's parameters from ``job.json``,
    typed (numbers held as strings are cast), so any column can be plotted against any
    parameter without a join.

    Infinity's published datasets hold their jobs flat instead, named by job id:
    ``<id>_params.json`` (the parameters, bare or as job.json holds them), ``<id>_labels.json``
    (else ``<id>.csv``, a per-frame table, for the frames), ``<id>_segmentation.zip`` and
    ``<id>.mp4``. Such a folder reads as one job per id, with the same columns; ``job_id`` is the
    ``<id>`` and ``jobs["path"]`` is ``<folder>/<id>``, the stem of the job's files. A folder
    with job folders and flat files reads as both. A parameter whose name a table already uses appears there as
    ``param_<name>``. Repeated strings are pandas ``category`` (polars ``Categorical``). The
    parameters are stored once per job: in ``keypoints`` the numeric ones are pandas ordered
    ``category`` of the numbers too (one or two bytes a row; polars keeps numbers plain); see
    :mod:`infinityframe.results.tables`.

    Columns, before the parameters:

    - ``jobs``: batch_id, job_id, generator, preview, path, num_frames, num_annotations,
      problem; after the parameters, per-job means over the job's objects:
      ``mean_bbox_w``, ``mean_bbox_h``, ``mean_bbox_area`` (of w·h), ``mean_area``,
      ``mean_num_keypoints``, ``mean_percent_in_fov``, ``mean_percent_occlusion`` (those present).
    - ``frames``: batch_id, job_id, frame (frame_number), image_id, time_s (frame / frame_rate;
      NaN without a frame rate; SenseFit's ``time``), width, height, image_path (the frame's own
      image file: ``images/…png`` or, for previews, ``video_preview.png``; null for video
      frames), then every scalar field of the image entry (``rep_count_from_start``,
      ``has_self_penetrations`` …). ``metrics`` fields come bare (``mean_image_brightness``,
      ``snr``); other nested objects as ``<key>_<field>``.
    - ``objects``: batch_id, job_id, frame, object_id (annotation id), image_id, category,
      category_id, bbox_x, bbox_y, bbox_w, bbox_h (NaN for annotations without a box), area,
      iscrowd, num_keypoints, percent_in_fov, percent_occlusion, then any other scalar field.
    - ``keypoints``: batch_id, job_id, frame, object_id, kind ("coco"; with ``armature=True``
      also "armature" and "vertex"), keypoint_index, keypoint (name), x, y, v; with
      ``armature=True`` also z, x_global, y_global, z_global (NaN for "coco" rows).

    Damaged jobs never stop the read: a job whose files are missing, truncated or not JSON gets
    a sentence in ``jobs["problem"]`` and contributes the rows that could be read; one
    :class:`ResultsWarning` names them. A batch with no jobs at all (nothing but
    ``batch_id.txt``) gives empty tables and a :class:`ResultsWarning` saying so.

    Parameters
    ----------
    path : str or PathLike
        A batch folder (job folders, optionally ``batch_id.txt``), a single job folder, a
        published dataset's folder (flat ``<id>_params.json``, ``<id>_labels.json`` …), or a
        folder written by :meth:`Results.to_parquet`.
    backend : {"pandas", "polars"}
        The frame library of the tables.
    workers : int, optional
        Worker processes for parsing. Default: this process alone, or up to 8 processes for
        batches with more than 1 GiB of labels on a machine with at least 4 CPUs.
    cache : bool
        Reuse (and write) the parquet cache of this folder's tables, kept in the user's cache
        dir (``$INFINITYFRAME_CACHE_DIR``, else the platform's, ``~/.cache/infinityframe`` on Linux), never in the
        folder; it is used only while every job file still has the size and modification
        time it had.
    armature : bool
        Also read the armature and vertex keypoints (VisionFit's SMPL-X joints).

    Returns
    -------
    Results

    Raises
    ------
    FileNotFoundError
        When ``path`` is not a folder, or holds files but none of them is a job's (the message
        lists what was looked for and what was found).
    ValueError
        When a job is there twice, as a job folder and as flat files.

    Examples
    --------
    >>> import infinityframe as inf
    >>> res = inf.read_results("batch")
    >>> res.objects[["job_id", "frame", "bbox_h", "camera_distance"]].shape
    (2, 4)
    >>> res.keypoints.query("keypoint == 'nose' and v == 2")["keypoint"].tolist()
    ['nose']
    >>> inf.read_results("batch/" + res.jobs.job_id[0]).jobs.job_id.tolist() == [res.jobs.job_id[0]]  # one job
    True
    """
    _check_backend(backend)
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"No results folder at {root}: pass a batch folder (job folders and batch_id.txt), "
                                "a single job folder, a published dataset folder or a folder written by "
                                "Results.to_parquet.")
    if _parquet.is_saved(root):
        tables = _parquet.read(root)
        _warn_problems(tables["jobs"], root)
        return Results.from_arrow(tables, path=root, backend=backend)
    sources: list[JobSource]
    if is_job_folder(root):
        sources, batch_root, cacheable, flat = [root], root.parent, False, False
    else:
        (sources, flat), batch_root, cacheable = _batch_jobs(root), root, cache
    # The manifest lists the files of every folder given: a flat dataset's are the root's own.
    listed = [s for s in sources if isinstance(s, Path)] + ([root] if flat else [])
    expected = _cache.manifest(batch_root, listed, armature=armature) if cacheable else None
    cached = _cache.load(batch_root, expected) if expected is not None else None
    if cached is not None:
        _warn_problems(cached["jobs"], root)
        tables = attach_params(cached)
        del cached  # the bare tables' buffers: held by ``tables`` alone
        return _results_of_read(tables, root, backend)
    jobs = _read_jobs(sources, armature, workers)
    batch_id = _batch_id(batch_root)
    # Bare: the parameters once per job, in ``jobs``; cached so, and attached to every table below.
    bare = bare_tables(jobs, [batch_id] * len(jobs), armature=armature)
    del jobs  # the per-job arrays: the tables hold their own copies now
    if expected is not None:
        _cache.save(batch_root, expected, bare)
    _warn_problems(bare["jobs"], root)
    tables = attach_params(bare)
    del bare
    return _results_of_read(tables, root, backend)


def _results_of_read(tables: dict[str, pa.Table], root: Path, backend: Backend) -> Results:
    """Results from the tables a read just built, each Arrow table freed as its frame is made.

    ``tables`` is emptied: nothing else holds them, so pandas may take their buffers over
    (``self_destruct``), and the read's peak is about one copy of the tables, not two.
    """
    if backend != "pandas":
        return Results.from_arrow(tables, path=root, backend=backend)
    tables.update(compact_params(tables))
    frames = {}
    for name in TABLES:
        table = tables.pop(name)
        frames[name] = table.to_pandas(split_blocks=True, self_destruct=True)
        del table
    return Results(frames, path=root, backend=backend)
