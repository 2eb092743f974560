"""Damaged job folders never stop a read: they get a ``problem`` and the rest of the batch loads."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from results_helpers import FIXTURE_JOBS

from infinityframe.results import ResultsWarning, read_results

GOOD, BAD = list(FIXTURE_JOBS)


def problem_of(batch: Path, job_id: str = BAD) -> tuple[str, int, int]:
    """Read with one warning expected; the job's problem and its frame and object rows."""
    with pytest.warns(ResultsWarning, match=job_id) as caught:
        res = read_results(batch, cache=False)
    assert len([w for w in caught if issubclass(w.category, ResultsWarning)]) == 1
    jobs = res.jobs.set_index("job_id")
    assert len(jobs) == 2 and pd.isna(jobs.loc[GOOD, "problem"])
    assert (res.frames["job_id"] == GOOD).sum() == FIXTURE_JOBS[GOOD]  # the sound job loads whole
    problem = jobs.loc[job_id, "problem"]
    assert isinstance(problem, str) and problem
    return problem, int((res.frames["job_id"] == job_id).sum()), int((res.objects["job_id"] == job_id).sum())


class TestDamagedLabels:
    def test_truncated_json(self, fixture_copy: Path) -> None:
        labels = fixture_copy / BAD / "labels.json"
        labels.write_bytes(labels.read_bytes()[: labels.stat().st_size // 2])
        problem, frames, objects = problem_of(fixture_copy)
        assert "labels.json is not valid JSON" in problem and "truncated" in problem
        assert (frames, objects) == (0, 0)

    def test_missing_labels(self, fixture_copy: Path) -> None:
        (fixture_copy / BAD / "labels.json").unlink()
        problem, frames, _ = problem_of(fixture_copy)
        assert "no labels" in problem and frames == 0

    def test_not_json(self, fixture_copy: Path) -> None:
        (fixture_copy / BAD / "labels.json").write_bytes(b"\x89PNG\r\n\x1a\n not json at all")
        problem, frames, _ = problem_of(fixture_copy)
        assert "not valid JSON" in problem and frames == 0

    def test_json_that_is_not_coco(self, fixture_copy: Path) -> None:
        (fixture_copy / BAD / "labels.json").write_text(json.dumps([1, 2, 3]))
        problem, _, _ = problem_of(fixture_copy)
        assert "no 'images' list" in problem

    def test_unexpected_structure_keeps_the_job_row(self, fixture_copy: Path) -> None:
        (fixture_copy / BAD / "labels.json").write_text(json.dumps({"images": [1, 2], "annotations": []}))
        problem, frames, _ = problem_of(fixture_copy)
        assert "unexpected structure" in problem and frames == 0

    def test_orphan_annotations_are_partial(self, fixture_copy: Path) -> None:
        path = fixture_copy / BAD / "labels.json"
        labels = json.loads(path.read_text())
        labels["images"] = labels["images"][:10]
        path.write_text(json.dumps(labels))
        problem, frames, objects = problem_of(fixture_copy)
        assert "refer to image ids missing" in problem
        assert frames == 10 and objects == 10

    def test_bad_keypoint_list(self, fixture_copy: Path) -> None:
        path = fixture_copy / BAD / "labels.json"
        labels = json.loads(path.read_text())
        labels["annotations"][0]["keypoints"] = labels["annotations"][0]["keypoints"][:-3]
        path.write_text(json.dumps(labels))
        with pytest.warns(ResultsWarning):
            res = read_results(fixture_copy, cache=False)
        kp = res.keypoints[res.keypoints["job_id"] == BAD]
        assert len(kp) == 17 * (FIXTURE_JOBS[BAD] - 1)
        assert len(res.objects[res.objects["job_id"] == BAD]) == FIXTURE_JOBS[BAD]


class TestDamagedJobJson:
    def test_no_job_json_still_reads_labels(self, fixture_copy: Path) -> None:
        (fixture_copy / BAD / "job.json").unlink()
        problem, frames, objects = problem_of(fixture_copy)
        assert "job.json is missing" in problem
        assert frames == FIXTURE_JOBS[BAD] and objects == FIXTURE_JOBS[BAD]  # partial: labels without params

    def test_truncated_job_json(self, fixture_copy: Path) -> None:
        path = fixture_copy / BAD / "job.json"
        path.write_bytes(path.read_bytes()[:100])
        problem, _, _ = problem_of(fixture_copy)
        assert "job.json is not valid JSON" in problem

    def test_strings_for_numbers_are_cast(self, fixture_copy: Path) -> None:
        path = fixture_copy / BAD / "job.json"
        job = json.loads(path.read_text())
        job["params"].update(num_reps="4", relative_camera_yaw_deg="0.0", camera_distance="2.583177572383222",
                             enable_sensor_noise="true")
        path.write_text(json.dumps(job))
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResultsWarning)  # a stringly-typed job.json is not a problem
            res = read_results(fixture_copy, cache=False)
        jobs = res.jobs.set_index("job_id")
        assert res.jobs["num_reps"].dtype == "int64" and jobs.loc[BAD, "num_reps"] == 4
        assert res.jobs["relative_camera_yaw_deg"].dtype == "float64"
        assert jobs.loc[BAD, "relative_camera_yaw_deg"] == 0.0
        assert jobs.loc[BAD, "camera_distance"] == 2.583177572383222
        assert res.jobs["enable_sensor_noise"].dtype == bool
        assert res.objects["num_reps"].dtype == "int64"


class TestOddFolders:
    def test_empty_job_folder(self, fixture_copy: Path) -> None:
        (fixture_copy / "empty-job").mkdir()
        with pytest.warns(ResultsWarning, match="empty-job"):
            res = read_results(fixture_copy, cache=False)
        jobs = res.jobs.set_index("job_id")
        assert len(jobs) == 3 and jobs.loc["empty-job", "num_frames"] == 0
        assert len(res.objects) == sum(FIXTURE_JOBS.values())

    def test_several_problems_warn_once(self, fixture_copy: Path) -> None:
        for job_id in FIXTURE_JOBS:
            (fixture_copy / job_id / "labels.json").write_text("{")
        with pytest.warns(ResultsWarning) as caught:
            res = read_results(fixture_copy, cache=False)
        messages = [str(w.message) for w in caught if issubclass(w.category, ResultsWarning)]
        assert len(messages) == 1 and all(job_id in messages[0] for job_id in FIXTURE_JOBS)
        assert len(res.frames) == 0 and list(res.frames.columns[:3]) == ["batch_id", "job_id", "frame"]

    def test_missing_folder_raises(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError, match="No results folder"):
            read_results(tmp_path / "nowhere")
