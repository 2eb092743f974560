"""Backends, the parquet cache of a batch folder, and saving results as partitioned parquet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pandas.testing as pdt
import polars as pl
import pytest
from results_helpers import copy_writable

from infinityframe.results import Results, read_results, readers
from infinityframe.results.cache import cache_folder

TABLES = ("jobs", "frames", "objects", "keypoints")


def assert_same(left: Results, right: Results) -> None:
    """Same tables, values and column types, whichever backend each uses.

    Categorical columns compare by their values (their category order is an artefact of the
    reading order), and polars' Categorical equals pandas' category. A pandas category of
    numbers (the parameters of ``keypoints``) equals polars' plain numbers (polars has no
    categorical of numbers).
    """
    for name in TABLES:
        a, b = getattr(left, name), getattr(right, name)
        a = a.to_pandas() if isinstance(a, pl.DataFrame) else a
        b = b.to_pandas() if isinstance(b, pl.DataFrame) else b
        if (left.backend == "polars") != (right.backend == "polars"):
            a, b = numbers_as_numbers(a), numbers_as_numbers(b)
        pdt.assert_frame_equal(a, b, check_categorical=False, obj=name)


def numbers_as_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories of numbers as the numbers (float where some are missing), as polars holds them."""
    numbers = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if isinstance(dtype, pd.CategoricalDtype) and dtype.categories.dtype.kind in "iufb":
            kind = dtype.categories.dtype
            numbers[name] = frame[name].astype(kind if not frame[name].isna().any() or kind.kind == "f" else float)
    return frame.assign(**numbers)


def forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading any job's labels or parameters fail (the cache's own small manifest is still read)."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("JSON was parsed although the cache was valid")

    monkeypatch.setattr(readers, "read_json", refuse)
    monkeypatch.setattr(readers, "read_labels", refuse)


class TestPolars:
    def test_same_tables(self, fixture_batch: Path) -> None:
        pandas_res = read_results(fixture_batch, cache=False)
        polars_res = read_results(fixture_batch, cache=False, backend="polars")
        assert polars_res.backend == "polars" and isinstance(polars_res.objects, pl.DataFrame)
        assert_same(pandas_res, polars_res)
        assert polars_res.objects.schema["category"] == pl.Categorical
        assert polars_res.jobs.schema["state"] == pl.Categorical  # all null, still categorical
        assert polars_res.objects.schema["num_reps"] == pl.Int64

    def test_to_backend_round_trip(self, shapes_batch: Path) -> None:
        res = read_results(shapes_batch, cache=False)
        there = res.to_backend("polars")
        assert isinstance(there.frames, pl.DataFrame)
        back = there.to_backend("pandas")
        assert_same(res, back)
        assert isinstance(back.objects["category"].dtype, pd.CategoricalDtype)
        # missing values are nulls in polars (NaN in pandas)
        assert there.objects["bbox_x"].null_count() == res.objects["bbox_x"].isna().sum()

    def test_unknown_backend(self, shapes_batch: Path) -> None:
        with pytest.raises(ValueError, match="backend"):
            read_results(shapes_batch, backend="spark")  # type: ignore[arg-type]


class TestCache:
    def test_second_read_parses_nothing(self, fixture_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        before = sorted(p.name for p in fixture_copy.iterdir())
        first = read_results(fixture_copy)
        assert (cache_folder(fixture_copy) / "manifest.json").is_file()
        assert sorted(p.name for p in fixture_copy.iterdir()) == before  # nothing added to the user's folder
        forbid_parsing(monkeypatch)
        second = read_results(fixture_copy)
        assert_same(first, second)
        assert_same(first, read_results(fixture_copy, backend="polars"))

    def test_touching_a_file_invalidates(self, fixture_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        read_results(fixture_copy)
        job = next(p for p in sorted(fixture_copy.iterdir()) if p.is_dir() and not p.name.startswith("."))
        labels = job / "labels.json"
        stat = labels.stat()
        os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        with monkeypatch.context() as m:
            forbid_parsing(m)
            with pytest.raises(AssertionError, match="JSON was parsed"):
                read_results(fixture_copy)
        read_results(fixture_copy)  # re-reads and rewrites the cache
        forbid_parsing(monkeypatch)
        assert len(read_results(fixture_copy).objects) == 136

    def test_new_job_invalidates(self, stickfit_batch: Path, tmp_path: Path) -> None:
        batch = copy_writable(stickfit_batch, tmp_path / "batch")
        assert len(read_results(batch).jobs) == 3
        copy_writable(batch / "job-0", batch / "job-3")
        assert len(read_results(batch).jobs) == 4

    def test_armature_is_part_of_the_key(self, fixture_copy: Path) -> None:
        assert set(read_results(fixture_copy).keypoints["kind"]) == {"coco"}
        assert set(read_results(fixture_copy, armature=True).keypoints["kind"]) == {"coco", "armature", "vertex"}

    def test_cache_false_writes_nothing(self, fixture_copy: Path) -> None:
        read_results(fixture_copy, cache=False)
        assert not cache_folder(fixture_copy).exists()

    def test_damaged_cache_is_ignored(self, fixture_copy: Path) -> None:
        read_results(fixture_copy)
        (cache_folder(fixture_copy) / "objects.parquet").write_bytes(b"not parquet")
        assert len(read_results(fixture_copy).objects) == 136

    def test_a_read_only_folder_is_cached_elsewhere(self, fixture_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        modes = {p: p.stat().st_mode for p in [fixture_copy, *fixture_copy.rglob("*")]}
        for path in modes:
            path.chmod(modes[path] & ~0o222)
        try:
            first = read_results(fixture_copy)
            forbid_parsing(monkeypatch)
            assert_same(first, read_results(fixture_copy))
        finally:
            for path, mode in modes.items():
                path.chmod(mode)

    def test_a_cache_written_by_another_process_is_used(self, fixture_copy: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
        # A script read the batch and exited; this process (same cache dir, from the environment) parses nothing.
        script = f"import infinityframe as inf; inf.read_results({str(fixture_copy)!r})"
        subprocess.run([sys.executable, "-c", script], check=True, env=os.environ.copy(), timeout=300)
        assert (cache_folder(fixture_copy) / "manifest.json").is_file()
        forbid_parsing(monkeypatch)
        assert len(read_results(fixture_copy).objects) == 136

    def test_two_folders_two_caches(self, fixture_copy: Path, tmp_path: Path) -> None:
        other = copy_writable(fixture_copy, tmp_path / "other")
        read_results(fixture_copy)
        read_results(other)
        assert cache_folder(fixture_copy) != cache_folder(other)
        assert (cache_folder(other) / "manifest.json").is_file()

    def test_problems_warn_from_the_cache_too(self, fixture_copy: Path) -> None:
        (fixture_copy / "empty-job").mkdir()
        with pytest.warns(UserWarning, match="empty-job"):
            read_results(fixture_copy)
        with pytest.warns(UserWarning, match="empty-job"):
            read_results(fixture_copy)


class TestParquet:
    def test_round_trip(self, fixture_batch: Path, tmp_path: Path) -> None:
        res = read_results(fixture_batch, cache=False)
        out = res.to_parquet(tmp_path / "saved")
        again = read_results(out)
        for name in TABLES:
            pdt.assert_frame_equal(getattr(res, name), getattr(again, name), obj=name)
        assert again.batch_ids == res.batch_ids

    def test_hive_partitions_scan_with_polars(self, fixture_batch: Path, tmp_path: Path) -> None:
        res = read_results(fixture_batch, cache=False)
        out = res.to_parquet(tmp_path / "saved")
        job_dirs = sorted(p.name for p in (out / "objects").glob("batch_id=*/job_id=*"))
        assert job_dirs == sorted(f"job_id={j}" for j in res.jobs["job_id"])
        lazy = pl.scan_parquet(out / "objects/**/*.parquet", hive_partitioning=True)
        objects = lazy.filter(pl.col("camera_distance") > 3).collect()
        assert len(objects) == 81 and set(objects["job_id"].cast(pl.String)) == {"1b3f73c9-0e95-46f7-93c3-ce0ae516b413"}
        assert objects["bbox_h"].to_list() == res.objects.query("camera_distance > 3")["bbox_h"].tolist()

    def test_empty_tables_keep_their_columns(self, shapes_batch: Path, tmp_path: Path) -> None:
        res = read_results(shapes_batch, cache=False)
        again = read_results(res.to_parquet(tmp_path / "saved"), backend="polars")
        assert again.keypoints.height == 0 and "keypoint" in again.keypoints.columns
        assert_same(res, again)

    def test_never_overwrites_other_data(self, fixture_batch: Path, tmp_path: Path) -> None:
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("keep")
        with pytest.raises(FileExistsError):
            read_results(fixture_batch, cache=False).to_parquet(tmp_path / "mine")

    def test_saving_again_replaces(self, stickfit_batch: Path, shapes_batch: Path, tmp_path: Path) -> None:
        out = tmp_path / "saved"
        read_results(stickfit_batch, cache=False).to_parquet(out)
        read_results(shapes_batch, cache=False).to_parquet(out)
        assert read_results(out).batch_ids == ["shapes-batch"]
