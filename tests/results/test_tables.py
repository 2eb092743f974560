"""Parameters stored once per job: the same value on every row as the job's, types as documented, memory bounded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
from results_helpers import FIXTURE_JOBS

from infinityframe.results import Results, read_results
from infinityframe.results.cache import cache_folder

ROW_TABLES = ("frames", "objects", "keypoints")
KEYS = {"batch_id", "job_id", "split"}


def params_of(res: Results) -> list[str]:
    """The parameter columns: those the jobs table shares with the keypoints table, keys aside."""
    jobs = res.jobs.columns
    return [c for c in res.keypoints.columns if c in jobs and c not in KEYS]


def as_plain(values: pd.Series) -> list[object]:
    """Values as Python objects, missing as None, whatever the dtype (category, number, polars)."""
    return [None if pd.isna(v) else v for v in values.astype(object)]


def assert_rows_carry_their_jobs_params(res: Results) -> None:
    jobs = res.jobs if res.backend == "pandas" else res.jobs.to_pandas()
    by_job = jobs.set_index(jobs["job_id"].astype(str))
    names = params_of(res)
    assert names, "no parameter columns found"
    for table in ROW_TABLES:
        rows = getattr(res, table)
        rows = rows if res.backend == "pandas" else rows.to_pandas()
        job_of_row = rows["job_id"].astype(str)
        for name in names:
            expected = by_job[name].reindex(job_of_row)
            assert as_plain(rows[name]) == as_plain(expected), f"{table}.{name}"


@pytest.fixture
def varied_batch(fixture_batch: Path, tmp_path: Path) -> Path:
    """40 jobs copied from the real fixture, each with its own float parameters (a sampled sweep)."""
    batch = tmp_path / "varied"
    batch.mkdir()
    (batch / "batch_id.txt").write_text("varied-batch")
    sources = sorted(p for p in fixture_batch.iterdir() if p.is_dir())
    rng = np.random.default_rng(0)
    for i in range(40):
        source, job = sources[i % 2], batch / f"job-{i:02d}"
        job.mkdir()
        shutil.copyfile(source / "labels.json", job / "labels.json")
        spec = json.loads((source / "job.json").read_text())
        spec["params"] = {k: v * rng.uniform(0.9, 1.1) if isinstance(v, float) else v
                          for k, v in spec["params"].items()}
        if i == 3:
            del spec["params"]["camera_distance"]  # one job without it: null on its rows
        (job / "job.json").write_text(json.dumps(spec))
    return batch


class TestValuesPerRow:
    @pytest.mark.parametrize("backend", ["pandas", "polars"])
    @pytest.mark.parametrize("cache", [False, True])
    def test_real_fixture(self, fixture_copy: Path, backend: str, cache: bool) -> None:
        if cache:
            read_results(fixture_copy)  # writes the cache; the read below loads it
        res = read_results(fixture_copy, cache=cache, backend=backend)  # type: ignore[arg-type]
        assert len(res.jobs) == len(FIXTURE_JOBS) and len(res.keypoints) == 17 * sum(FIXTURE_JOBS.values())
        assert_rows_carry_their_jobs_params(res)

    def test_local_batch(self, stickfit_batch: Path) -> None:
        res = read_results(stickfit_batch, cache=False)
        assert sorted(res.keypoints["camera_distance"].astype(float).unique()) == [2.5, 3.5, 4.5]
        assert_rows_carry_their_jobs_params(res)
        assert_rows_carry_their_jobs_params(res.to_backend("polars"))

    def test_varied_jobs_and_a_missing_value(self, varied_batch: Path) -> None:
        read_results(varied_batch)
        res = read_results(varied_batch)  # from the cache
        assert_rows_carry_their_jobs_params(res)
        missing = res.keypoints["job_id"].astype(str) == "job-03"
        assert res.keypoints.loc[missing, "camera_distance"].isna().all()
        assert res.keypoints.loc[~missing, "camera_distance"].notna().all()
        assert res.keypoints["camera_distance"].cat.categories.size == 39

    def test_parameter_named_like_a_column(self, fixture_copy: Path) -> None:
        path = next(p for p in fixture_copy.iterdir() if p.is_dir()) / "job.json"
        job = json.loads(path.read_text())
        job["params"]["x"] = 1.25  # keypoints have their own x: the parameter is param_x there
        path.write_text(json.dumps(job))
        res = read_results(fixture_copy, cache=False)
        assert "x" in res.jobs.columns and "param_x" in res.keypoints.columns
        mine = res.keypoints["job_id"].astype(str) == path.parent.name
        assert (res.keypoints.loc[mine, "param_x"].astype(float) == 1.25).all()
        assert res.keypoints.loc[~mine, "param_x"].isna().all()
        assert res.keypoints["x"].dtype == np.float64  # the keypoints' own column is untouched


class TestTypes:
    def test_pandas(self, fixture_batch: Path) -> None:
        res = read_results(fixture_batch, cache=False)
        for table in ("jobs", "frames", "objects"):
            frame = getattr(res, table)
            assert frame["camera_distance"].dtype == np.float64 and frame["num_reps"].dtype == np.int64
            assert frame["add_wall_art"].dtype == np.bool_ and isinstance(frame["scene"].dtype, pd.CategoricalDtype)
        keypoints = res.keypoints
        for name, kind in (("camera_distance", np.float64), ("num_reps", np.int64), ("add_wall_art", np.bool_)):
            dtype = keypoints[name].dtype
            assert isinstance(dtype, pd.CategoricalDtype) and dtype.ordered and dtype.categories.dtype == kind
            assert list(dtype.categories) == sorted(set(res.jobs[name]))
            assert keypoints[name].cat.codes.dtype == np.int8  # fewer than 128 values: one byte a row
        scene = keypoints["scene"].dtype
        assert isinstance(scene, pd.CategoricalDtype) and not scene.ordered

    def test_polars(self, fixture_batch: Path) -> None:
        res = read_results(fixture_batch, cache=False, backend="polars")
        for table in ("jobs", "frames", "objects", "keypoints"):
            schema = getattr(res, table).schema
            assert schema["camera_distance"] == pl.Float64 and schema["num_reps"] == pl.Int64
            assert schema["add_wall_art"] == pl.Boolean and schema["scene"] == pl.Categorical
        heights = res.keypoints.filter(pl.col("camera_distance") > 3).group_by("job_id").len()
        assert heights["len"].to_list() == [17 * 81]

    def test_round_trips_keep_keypoints_compact(self, fixture_batch: Path, tmp_path: Path) -> None:
        res = read_results(fixture_batch, cache=False)
        for again in (res.to_backend("polars").to_backend("pandas"), read_results(res.to_parquet(tmp_path / "s"))):
            dtype = again.keypoints["camera_distance"].dtype
            assert isinstance(dtype, pd.CategoricalDtype) and dtype.categories.dtype == np.float64
            assert as_plain(again.keypoints["camera_distance"]) == as_plain(res.keypoints["camera_distance"])

    def test_numeric_use_through_astype(self, fixture_batch: Path) -> None:
        keypoints = read_results(fixture_batch, cache=False).keypoints
        near = keypoints[keypoints["camera_distance"].astype(float) < 3]
        assert near["job_id"].astype(str).unique().tolist() == ["cd588005-8b14-4e0e-a501-8f469c7b5255"]
        visible = keypoints.groupby("camera_distance", observed=True)["v"].apply(lambda v: (v == 2).mean())
        assert len(visible) == 2 and visible.between(0, 1).all()


class TestMemory:
    def test_parameters_do_not_multiply_the_keypoints(self, varied_batch: Path) -> None:
        res = read_results(varied_batch, cache=False)
        keypoints, names = res.keypoints, params_of(res)
        assert len(names) >= 25
        bare = keypoints.drop(columns=names).memory_usage(deep=True).sum()
        full = keypoints.memory_usage(deep=True).sum()
        assert full <= 2 * bare, (full, bare)
        # what repeating the values on every row would cost: the bound above is not loose
        dense = keypoints.astype({n: keypoints[n].cat.categories.dtype for n in names
                                  if keypoints[n].cat.categories.dtype.kind in "fi" and keypoints[n].notna().all()})
        assert dense.memory_usage(deep=True).sum() > 3 * bare

    def test_cache_holds_parameters_once(self, varied_batch: Path) -> None:
        res = read_results(varied_batch)
        folder = cache_folder(varied_batch)
        cached = {name: pq.read_schema(folder / f"{name}.parquet").names for name in ("jobs", "keypoints")}
        assert "camera_distance" in cached["jobs"] and "camera_distance" not in cached["keypoints"]
        assert set(params_of(res)) <= set(cached["jobs"])


def test_plot_of_keypoints_uses_the_numbers(fixture_batch: Path) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = read_results(fixture_batch, cache=False).plot("camera_distance", "y", level="keypoints")
    low, high = fig.axes[0].get_xlim()
    assert low <= 2.6 and high >= 4.7  # a numeric axis through the distances, not two categorical slots
    plt.close(fig)
