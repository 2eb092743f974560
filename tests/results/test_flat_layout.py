"""Published datasets' flat layout (``<id>_params.json``, ``<id>_labels.json`` … side by side), and
folders that hold no jobs: read the same as a batch of job folders, or said out loud, never empty in silence.

The flat copies are made from the real v0.4.0 fixture, so both layouts must give the same tables.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pandas.testing as pdt
import pytest
from results_helpers import FIXTURE_JOBS, copy_writable

from infinityframe.results import Results, ResultsWarning, read_results, readers
from infinityframe.results.cache import cache_folder

TABLES = ("jobs", "frames", "objects", "keypoints")
ParamsShape = Literal["bare", "job", "strings"]


def stringly(params: dict[str, Any]) -> dict[str, Any]:
    """Numbers as strings, as older real outputs hold them (``"num_reps": "14"``); booleans and nulls kept."""
    return {k: str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for k, v in params.items()}


def write_flat_job(nested: Path, out: Path, *, params: ParamsShape = "bare", labels: bool = True) -> str:
    """One job folder of a batch as a published dataset holds it: its files renamed ``<id>…`` into ``out``.

    ``params``: "bare" writes job.json's ``params`` alone, "job" the whole ``{"name", "params"}``,
    "strings" the bare params with every number as a string.
    """
    job_id = nested.name
    job = json.loads((nested / "job.json").read_text())
    content = {"bare": job["params"], "job": job, "strings": stringly(job["params"])}[params]
    (out / f"{job_id}_params.json").write_text(json.dumps(content))
    if labels:
        shutil.copyfile(nested / "labels.json", out / f"{job_id}_labels.json")
    shutil.copyfile(nested / "segmentation.zip", out / f"{job_id}_segmentation.zip")
    shutil.copyfile(nested / "video.mp4", out / f"{job_id}.mp4")
    return job_id


def write_flat(batch: Path, out: Path, *, params: ParamsShape = "bare") -> Path:
    """A whole batch in the flat layout, with the batch's ``batch_id.txt`` so that batch ids match too."""
    out.mkdir(parents=True)
    for job_id in FIXTURE_JOBS:
        write_flat_job(batch / job_id, out, params=params)
    shutil.copyfile(batch / "batch_id.txt", out / "batch_id.txt")
    return out


def assert_same_tables(nested: Results, flat: Results, *, ignore: tuple[str, ...] = ()) -> None:
    """Same columns in the same order, same rows and values, but ``path`` (and ``ignore``)."""
    for name in TABLES:
        a, b = getattr(nested, name), getattr(flat, name)
        assert list(a.columns) == list(b.columns), name
        drop = [c for c in ("path", *ignore) if c in a.columns]
        pdt.assert_frame_equal(a.drop(columns=drop), b.drop(columns=drop), check_categorical=False, obj=name)


@pytest.fixture(scope="module")
def nested(fixture_batch: Path) -> Results:
    return read_results(fixture_batch, cache=False)  # never write a cache into the shared fixture


@pytest.fixture
def flat(fixture_batch: Path, tmp_path: Path) -> Path:
    return write_flat(fixture_batch, tmp_path / "dataset")


class TestSameAsNested:
    def test_bare_params(self, nested: Results, flat: Path) -> None:
        res = read_results(flat, cache=False)
        assert list(res.jobs["job_id"]) == list(FIXTURE_JOBS)
        assert res.jobs["problem"].isna().all()
        # bare params do not name their generator; everything else is the same
        assert res.jobs["generator"].isna().all()
        assert_same_tables(nested, res, ignore=("generator",))

    def test_params_as_job_json(self, nested: Results, fixture_batch: Path, tmp_path: Path) -> None:
        res = read_results(write_flat(fixture_batch, tmp_path / "dataset", params="job"), cache=False)
        assert set(res.jobs["generator"]) == {"visionfit-v0.4.0"}
        assert_same_tables(nested, res)

    def test_numbers_as_strings_are_cast_back(self, nested: Results, fixture_batch: Path, tmp_path: Path) -> None:
        flat = write_flat(fixture_batch, tmp_path / "dataset", params="strings")
        assert json.loads((flat / f"{next(iter(FIXTURE_JOBS))}_params.json").read_text())["num_reps"] == "4"
        res = read_results(flat, cache=False)
        assert_same_tables(nested, res, ignore=("generator",))
        for table in (res.jobs, res.objects):
            assert table["num_reps"].dtype == "int64" and table["camera_distance"].dtype == "float64"
        assert res.jobs["enable_sensor_noise"].dtype == "bool"

    def test_path_is_the_stem_of_each_jobs_files(self, flat: Path) -> None:
        res = read_results(flat, cache=False)
        for job_id, path in zip(res.jobs["job_id"], res.jobs["path"], strict=True):
            assert path == str(flat / job_id)
            for ending in ("_params.json", "_labels.json", "_segmentation.zip", ".mp4"):
                assert Path(f"{path}{ending}").is_file()
        assert res.frames["image_path"].isna().all()  # frames of a video, as in the nested layout

    def test_batch_id_is_the_folder_name_without_batch_id_txt(self, flat: Path) -> None:
        (flat / "batch_id.txt").unlink()
        assert read_results(flat, cache=False).batch_ids == ["dataset"]

    def test_worker_processes_read_the_same(self, flat: Path) -> None:
        alone = read_results(flat, cache=False, workers=1)
        pooled = read_results(flat, cache=False, workers=2)
        assert_same_tables(alone, pooled)

    def test_cached_and_invalidated(self, flat: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        first = read_results(flat)
        assert (cache_folder(flat) / "manifest.json").is_file()
        job_id = next(iter(FIXTURE_JOBS))
        params_file = flat / f"{job_id}_params.json"
        params = json.loads(params_file.read_text())
        with monkeypatch.context() as patched:
            for reader in ("read_json", "read_labels"):
                patched.setattr(readers, reader, lambda *a, **k: pytest.fail("parsed JSON, cache valid"))
            assert_same_tables(first, read_results(flat))
        params_file.write_text(json.dumps({**params, "num_reps": 9}))
        again = read_results(flat)
        assert again.jobs.set_index("job_id").loc[job_id, "num_reps"] == 9


class TestFlatJobs:
    def test_csv_gives_the_frames_when_there_are_no_labels(self, fixture_batch: Path, tmp_path: Path) -> None:
        job_id = write_flat_job(fixture_batch / next(iter(FIXTURE_JOBS)), tmp_path, labels=False)
        # SenseFit's per-frame table (reference §4.6): an unnamed index, then its columns
        pd.DataFrame({"rep_count_from_start": [0, 0, 1], "time": [0.0, 1 / 6, 2 / 6],
                      "ref_xy_rotation": [0.1, 0.2, 0.3]}).to_csv(tmp_path / f"{job_id}.csv")
        res = read_results(tmp_path, cache=False)
        frames = res.frames
        assert res.jobs["problem"].isna().all() and res.jobs["num_frames"].tolist() == [3]
        assert frames["frame"].tolist() == [0, 1, 2]
        assert frames["time_s"].tolist() == [0.0, 1 / 6, 2 / 6]
        assert frames["rep_count_from_start"].tolist() == [0, 0, 1]
        assert frames["ref_xy_rotation"].tolist() == [0.1, 0.2, 0.3]
        assert frames["camera_distance"].notna().all()  # the parameters, on every row
        assert len(res.objects) == 0

    def test_labels_win_over_csv(self, fixture_batch: Path, tmp_path: Path) -> None:
        job_id = write_flat_job(fixture_batch / next(iter(FIXTURE_JOBS)), tmp_path)
        pd.DataFrame({"time": [0.0]}).to_csv(tmp_path / f"{job_id}.csv")
        res = read_results(tmp_path, cache=False)
        assert res.jobs["num_frames"].tolist() == [FIXTURE_JOBS[job_id]]

    def test_missing_params_is_a_problem_named_by_its_file(self, fixture_batch: Path, tmp_path: Path) -> None:
        job_id = write_flat_job(fixture_batch / next(iter(FIXTURE_JOBS)), tmp_path)
        (tmp_path / f"{job_id}_params.json").unlink()
        with pytest.warns(ResultsWarning, match=f"{job_id}_params.json is missing"):
            res = read_results(tmp_path, cache=False)
        assert res.jobs["num_frames"].tolist() == [FIXTURE_JOBS[job_id]]

    def test_no_labels_is_a_problem_named_by_its_files(self, fixture_batch: Path, tmp_path: Path) -> None:
        job_id = write_flat_job(fixture_batch / next(iter(FIXTURE_JOBS)), tmp_path, labels=False)
        with pytest.warns(ResultsWarning, match=f"no labels were found \\({job_id}_labels.json or {job_id}.csv\\)"):
            res = read_results(tmp_path, cache=False)
        assert res.jobs["num_frames"].tolist() == [0] and res.jobs["num_reps"].tolist() == [4]

    def test_damaged_params_never_stop_the_read(self, flat: Path) -> None:
        job_id = next(iter(FIXTURE_JOBS))
        (flat / f"{job_id}_params.json").write_text('{"num_reps": 4,')
        with pytest.warns(ResultsWarning, match=f"{job_id}_params.json is not valid JSON"):
            res = read_results(flat, cache=False)
        assert res.jobs["num_frames"].tolist() == list(FIXTURE_JOBS.values())


class TestNothingRecognised:
    def test_unknown_files_raise_naming_what_was_looked_for(self, tmp_path: Path) -> None:
        for name in ("a.txt", "b.png", "summary.csv", "demo.mp4"):
            (tmp_path / name).write_text("x")
        (tmp_path / "batch_id.txt").write_text("b-1")
        with pytest.raises(FileNotFoundError) as caught:
            read_results(tmp_path)
        message = str(caught.value)
        assert "no job folders (<id>/job.json)" in message
        assert "no flat dataset files (<id>_params.json or <id>_labels.json)" in message
        assert str(tmp_path) in message
        assert "found: a.txt, b.png, demo.mp4, summary.csv." in message  # a lone .csv or .mp4 is not a job

    def test_long_listings_are_cut(self, tmp_path: Path) -> None:
        for i in range(25):
            (tmp_path / f"file{i:02d}.txt").write_text("x")
        with pytest.raises(FileNotFoundError, match=r"file09.txt … \(25 files\)"):
            read_results(tmp_path)

    def test_empty_batch_download_warns(self, tmp_path: Path) -> None:
        (tmp_path / "batch_id.txt").write_text("5291a594-empty")
        with pytest.warns(ResultsWarning, match="Batch 5291a594-empty has no jobs: no job folders"):
            res = read_results(tmp_path)
        assert all(len(getattr(res, name)) == 0 for name in TABLES)
        assert "bbox_h" in res.objects.columns  # empty, with the usual columns

    @pytest.mark.parametrize("hidden", [None, ".DS_Store"])
    def test_empty_folder_warns(self, tmp_path: Path, hidden: str | None) -> None:
        batch = tmp_path / "batch-1"
        batch.mkdir()
        if hidden:
            (batch / hidden).write_text("x")
        with pytest.warns(ResultsWarning, match="Batch batch-1 has no jobs"):
            read_results(batch)


class TestMixed:
    """A folder holding job folders and flat files is read as both: one job per folder and one per id."""

    def test_folders_and_flat_files_are_all_read(self, fixture_batch: Path, tmp_path: Path) -> None:
        first, second = FIXTURE_JOBS
        batch = tmp_path / "batch"
        batch.mkdir()
        copy_writable(fixture_batch / first, batch / first)
        write_flat_job(fixture_batch / second, batch)
        res = read_results(batch, cache=False)
        assert res.jobs["job_id"].tolist() == [first, second]
        assert res.jobs["num_frames"].tolist() == list(FIXTURE_JOBS.values())
        assert res.jobs["path"].tolist() == [str(batch / first), str(batch / second)]
        assert res.jobs["problem"].isna().all()

    def test_a_job_both_ways_is_refused(self, fixture_copy: Path) -> None:
        job_id = next(iter(FIXTURE_JOBS))
        write_flat_job(fixture_copy / job_id, fixture_copy)
        with pytest.raises(ValueError, match=f"holds these jobs twice.*: {job_id}\\. Move one copy"):
            read_results(fixture_copy, cache=False)


def test_pictures_of_a_flat_job_are_its_video_frames_and_masks(nested: Results, flat: Path) -> None:
    """``res.show()`` finds a flat job's ``<id>.mp4`` and ``<id>_labels.json``: the same pictures as nested."""
    from infinityframe._frame_images import load_images, load_masks

    def pictures(res: Results) -> tuple[dict[Any, Any], dict[Any, Any]]:
        chosen = res.frames[res.frames["frame"].isin([0, 10])]
        folders = {str(j): Path(p) for j, p in zip(res.jobs["job_id"], res.jobs["path"], strict=True)}
        return load_images(chosen, folders), load_masks(chosen, folders)

    (images, masks), (flat_images, flat_masks) = pictures(nested), pictures(read_results(flat, cache=False))
    assert len(images) == len(flat_images) == 2 * len(FIXTURE_JOBS)
    assert all((flat_images[key] == images[key]).all() for key in images)
    assert masks.keys() == flat_masks.keys() and len(masks) == 2 * len(FIXTURE_JOBS)
