"""Typed parameters from stringly-typed job.json files, and parameter columns that clash."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from results_helpers import STICKFIT, copy_writable

from infinityframe.results import read_results
from infinityframe.results.casting import infer_value, typed_params


class TestCasting:
    @pytest.mark.parametrize(("text", "value"), [("14", 14), ("-3", -3), ("0.0", 0.0), ("1e-3", 1e-3),
                                                 ("true", True), ("False", False), ("BEDROOM_4", "BEDROOM_4"),
                                                 ("nan", "nan"), ("", "")])
    def test_infer_value(self, text: str, value: object) -> None:
        got = infer_value(text)
        assert got == value and type(got) is type(value)

    def test_unknown_generator_by_value(self) -> None:
        params = typed_params("visionfit-v0.4.0", {"num_reps": "14", "relative_camera_yaw_deg": "0.0",
                                                   "scene": "GYM_1", "state": None})
        assert params == {"num_reps": 14, "relative_camera_yaw_deg": 0.0, "scene": "GYM_1", "state": None}
        assert type(params["relative_camera_yaw_deg"]) is float

    def test_known_generator_by_metadata(self) -> None:
        params = typed_params("stickfit-v0.1.0", {"num_reps": "2", "camera_distance": "3", "scene": "BEDROOM_2",
                                                  "add_wall_art": "false", "extra": "7"})
        assert params["num_reps"] == 2 and type(params["num_reps"]) is int
        assert params["camera_distance"] == 3.0 and type(params["camera_distance"]) is float  # typed "float"
        assert params["add_wall_art"] is False and params["scene"] == "BEDROOM_2"
        assert params["extra"] == 7  # not in the metadata: by value


class TestParamColumns:
    def test_stringly_stickfit_job_reads_typed(self, stickfit_batch: Path, tmp_path: Path) -> None:
        batch = copy_writable(stickfit_batch, tmp_path / "batch")
        path = batch / "job-1" / "job.json"
        job = json.loads(path.read_text())
        job["params"] = {k: (str(v).lower() if isinstance(v, bool) else str(v)) if v is not None else None
                         for k, v in job["params"].items()}
        job["params"]["path"] = "a param called path"
        path.write_text(json.dumps(job))
        res = read_results(batch, cache=False)
        assert res.jobs["num_reps"].tolist() == [STICKFIT["num_reps"]] * 3
        assert res.objects["camera_distance"].dtype == "float64"
        assert res.frames["enable_sensor_noise"].dtype == bool
        # a parameter named like one of the table's own columns is prefixed there
        assert res.jobs["path"].str.endswith("job-1").sum() == 1
        assert res.jobs.set_index("job_id").loc["job-1", "param_path"] == "a param called path"
        assert isinstance(res.jobs["param_path"].dtype, pd.CategoricalDtype)

    def test_worker_processes_give_the_same_tables(self, stickfit_batch: Path) -> None:
        alone = read_results(stickfit_batch, cache=False, workers=1)
        pooled = read_results(stickfit_batch, cache=False, workers=2)
        for name in ("jobs", "frames", "objects", "keypoints"):
            pd.testing.assert_frame_equal(getattr(alone, name), getattr(pooled, name), obj=name)
