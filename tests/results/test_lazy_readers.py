"""Results saved with ``to_parquet`` are read lazily, as written, by polars, DuckDB and Dask.

Two batches are saved side by side (``saved/<batch>/``); each engine scans both through one
glob with hive partitioning, gets ``batch_id`` and ``job_id`` from the folder names, and
reads only the partitions a filter on them keeps: a damaged file in another partition goes
unnoticed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from results_helpers import SHAPES, render_job, write_batch_id

from infinityframe.results import read_results

duckdb = pytest.importorskip("duckdb", reason="DuckDB is in the dev extra: pip install -e '.[dev]'")
dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] is in the dev extra: pip install -e '.[dev]'")

GLOB = "*/objects/**/*.parquet"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """``saved/batch-0`` and ``saved/batch-1``, two jobs each, and their objects as read_results gives them."""
    root = tmp_path_factory.mktemp("lake")
    objects = []
    for b in range(2):
        batch = root / "batches" / f"batch-{b}"
        for j in range(2):
            render_job(batch, f"b{b}-job-{j}", "shapes-v0.1.0", {**SHAPES, "num_objects": 3 + j}, seed=10 * b + j)
        write_batch_id(batch, f"batch-{b}")
        res = read_results(batch, cache=False)
        res.to_parquet(root / "saved" / f"batch-{b}")
        objects.append(res.objects)
    expected = pd.concat(objects, ignore_index=True)
    expected["batch_id"] = expected["batch_id"].astype(str)
    expected["job_id"] = expected["job_id"].astype(str)
    return root / "saved", expected


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows (``n``) and total box width per job, in a fixed order and plain dtypes."""
    out = frame[["batch_id", "job_id", "n", "bbox_w"]].astype(
        {"batch_id": str, "job_id": str, "n": "int64", "bbox_w": "float64"})
    return out.sort_values(["batch_id", "job_id"], ignore_index=True)


def per_job(objects: pd.DataFrame) -> pd.DataFrame:
    """What every engine must agree on, from the objects read_results gave."""
    return tidy(objects.groupby(["batch_id", "job_id"], observed=True)
                .agg(n=("object_id", "size"), bbox_w=("bbox_w", "sum")).reset_index())


@pytest.fixture
def damaged(saved: tuple[Path, pd.DataFrame], tmp_path: Path) -> Path:
    """A copy of the saved results whose file for job b1-job-1 is truncated."""
    copy = shutil.copytree(saved[0], tmp_path / "saved")
    (part,) = (copy / "batch-1" / "objects" / "batch_id=batch-1" / "job_id=b1-job-1").glob("*.parquet")
    part.write_bytes(part.read_bytes()[:40])
    return Path(copy)


class TestPolars:
    def test_scan_both_batches(self, saved: tuple[Path, pd.DataFrame]) -> None:
        root, expected = saved
        lazy = pl.scan_parquet(root / GLOB, hive_partitioning=True)
        assert isinstance(lazy, pl.LazyFrame)
        got = (lazy.group_by("batch_id", "job_id").agg(n=pl.len(), bbox_w=pl.col("bbox_w").sum())
               .collect().to_pandas())
        pd.testing.assert_frame_equal(tidy(got), per_job(expected))
        assert lazy.collect_schema()["category"] == pl.Categorical

    def test_partition_filter_reads_only_its_files(self, damaged: Path, saved: tuple[Path, pd.DataFrame]) -> None:
        lazy = pl.scan_parquet(damaged / GLOB, hive_partitioning=True)
        one = lazy.filter(pl.col("job_id") == "b0-job-1").collect()
        assert len(one) == (saved[1]["job_id"] == "b0-job-1").sum() > 0
        with pytest.raises(Exception, match=r"(?i)parquet|file|eof|footer"):
            lazy.collect()  # the damaged partition is there; only the filter kept it out


class TestDuckDB:
    def test_query_both_batches(self, saved: tuple[Path, pd.DataFrame]) -> None:
        root, expected = saved
        got = duckdb.sql(
            f"SELECT batch_id, job_id, count(*) AS n, sum(bbox_w) AS bbox_w "
            f"FROM read_parquet('{root / GLOB}', hive_partitioning = true) GROUP BY ALL").df()
        pd.testing.assert_frame_equal(tidy(got), per_job(expected))

    def test_partition_filter_reads_only_its_files(self, damaged: Path, saved: tuple[Path, pd.DataFrame]) -> None:
        sql = f"SELECT count(*) FROM read_parquet('{damaged / GLOB}', hive_partitioning = true)"
        [(n,)] = duckdb.sql(f"{sql} WHERE job_id = 'b0-job-1'").fetchall()
        assert n == (saved[1]["job_id"] == "b0-job-1").sum() > 0
        with pytest.raises(duckdb.Error):
            duckdb.sql(sql).fetchall()


class TestDask:
    def test_dataframe_of_both_batches(self, saved: tuple[Path, pd.DataFrame]) -> None:
        root, expected = saved
        frame = dd.read_parquet(str(root / GLOB))
        assert isinstance(frame, dd.DataFrame)
        assert frame.npartitions == 4  # one per job file: nothing read yet
        got = frame.groupby(["batch_id", "job_id"], observed=True).agg(
            n=("object_id", "size"), bbox_w=("bbox_w", "sum")).compute().reset_index()
        pd.testing.assert_frame_equal(tidy(got), per_job(expected))
        assert isinstance(frame["category"].dtype, pd.CategoricalDtype)

    def test_partition_filter_reads_only_its_files(self, damaged: Path, saved: tuple[Path, pd.DataFrame]) -> None:
        frame = dd.read_parquet(str(damaged / GLOB), filters=[("job_id", "==", "b0-job-1")])
        assert len(frame.compute()) == (saved[1]["job_id"] == "b0-job-1").sum() > 0
        with pytest.raises(Exception, match=r"(?i)parquet|file|eof|footer|magic"):
            dd.read_parquet(str(damaged / GLOB)).compute()
