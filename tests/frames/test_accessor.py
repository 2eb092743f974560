"""The .infinity verbs on pandas and polars frames, against the real local service."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

import infinityframe as inf
from _service import RunningService
from infinityframe.client import session as session_module

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}


@pytest.fixture
def sesh(service: RunningService) -> inf.Session:
    return inf.Session(service.token, "stickfit-v0.1.0", server=service.url)


class TestChain:
    def test_pandas_chain(self, sesh: inf.Session) -> None:
        jobs = sesh.sample(6, seed=0, **SMALL)
        estimated = jobs.infinity.validate().infinity.estimate()
        assert estimated["estimated_samples"].dtype == "int64" and (estimated["estimated_samples"] > 1).all()
        batch = estimated.infinity.submit(name="pandas chain", mode="force")
        assert batch.num_jobs == 6
        status = batch.wait(progress=False)
        assert (status["status"] == "succeeded").all()
        sent = batch.jobs.drop(columns="job_id")
        pd.testing.assert_series_equal(sent["camera_distance"], jobs["camera_distance"], check_names=False)
        # charged what was rendered, which is about what was estimated
        assert abs(int(status["samples"].sum()) - int(estimated["estimated_samples"].sum())) <= 0.3 * int(
            estimated["estimated_samples"].sum())

    def test_polars_chain(self, sesh: inf.Session) -> None:
        jobs = sesh.sample(4, seed=1, backend="polars", **SMALL)
        assert isinstance(jobs, pl.DataFrame)
        validated = jobs.infinity.validate(sesh)
        estimated = validated.infinity.estimate(sesh)
        assert isinstance(validated, pl.DataFrame) and isinstance(estimated, pl.DataFrame)
        assert estimated["estimated_samples"].dtype == pl.Int64
        batch = estimated.infinity.submit(sesh, name="polars chain", mode="force")
        assert batch.num_jobs == 4 and (batch.wait(progress=False)["status"] == "succeeded").all()

    def test_grid_then_submit_previews(self, sesh: inf.Session) -> None:
        frame = sesh.grid(camera_distance=[2.0, 3.0], lighting_power=[50.0, 500.0, 1500.0])
        assert len(frame) == 6 and list(frame["camera_distance"]) == [2.0] * 3 + [3.0] * 3
        batch = frame.infinity.submit(preview=True, name="grid previews", mode="force")
        assert batch.preview and batch.num_jobs == 6


class TestReruns:
    def test_previews_rerun_with_overrides(self, sesh: inf.Session) -> None:
        previews = sesh.sample(2, seed=3, **SMALL).infinity.submit(preview=True, name="seeds", mode="force")
        previews.wait(progress=False)
        angles = [{"relative_avatar_angle_deg": a} for a in (-90.0, 0.0, 90.0)]
        reruns = sesh.rerun(previews.job_ids, angles)
        assert len(reruns) == 6
        assert list(reruns["state"]) == [previews.job_ids[0]] * 3 + [previews.job_ids[1]] * 3
        assert list(reruns["relative_avatar_angle_deg"]) == [-90.0, 0.0, 90.0] * 2
        base = previews.jobs.set_index("job_id")
        assert (reruns["camera_distance"].to_numpy()
                == base.loc[reruns["state"], "camera_distance"].to_numpy()).all()
        videos = reruns.infinity.submit(name="reruns", mode="force")
        assert (videos.wait(progress=False)["status"] == "succeeded").all()

    def test_rerun_refuses_unknown_override(self, sesh: inf.Session) -> None:
        previews = sesh.sample(1, seed=4, **SMALL).infinity.submit(preview=True, mode="force")
        with pytest.raises(inf.ValidationError, match="did you mean 'camera_distance'"):
            sesh.rerun(previews.job_ids, [{"camera_distanse": 2.0}])


class TestResolution:
    def test_frame_remembers_its_session(self, service: RunningService) -> None:
        shapes = inf.Session(service.token, "shapes-v0.1.0", server=service.url)
        frame = shapes.sample(2, seed=0, num_images=1)
        inf.Session(service.token, "stickfit-v0.1.0", server=service.url)  # now the latest
        assert frame.attrs["infinity"] == {"server": service.url, "generator": "shapes-v0.1.0"}
        assert len(frame.infinity.validate()) == 2  # stickfit's schema would refuse num_images

    def test_no_session_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(session_module, "_sessions", session_module._Sessions())
        with pytest.raises(inf.InfinityError, match="pass session="):
            pd.DataFrame({"camera_distance": [2.0]}).infinity.validate()

    def test_preview_refused_before_any_request(self, sesh: inf.Session) -> None:
        before = len(sesh.batches())
        sesh._metadata = {**sesh._metadata, "options": {"preview": False}}
        sesh.__dict__.pop("spec", None)
        with pytest.raises(inf.ValidationError, match="does not render previews"):
            sesh.sample(2, seed=0).infinity.submit(preview=True)
        assert len(sesh.batches()) == before


class TestFrames:
    def test_inputs_are_never_mutated(self, sesh: inf.Session) -> None:
        partial = pd.DataFrame({"camera_distance": [2.0, None, 4.0], "exercise": ["SQUAT", "LUNGE", None]})
        before = partial.copy()
        filled = partial.infinity.fill(sesh, seed=0)
        partial.infinity.with_defaults(sesh)
        filled.infinity.validate(sesh)
        filled.infinity.estimate(sesh)
        partial.infinity.errors(sesh)
        pd.testing.assert_frame_equal(partial, before)
        assert filled.loc[0, "camera_distance"] == 2.0 and filled.loc[1, "exercise"] == "LUNGE"
        assert filled["camera_distance"].notna().all() and set(filled.columns) == set(sesh.spec.names)

    def test_errors_and_validate_agree(self, sesh: inf.Session) -> None:
        bad = sesh.sample(5, seed=2)
        bad.loc[3, "camera_distance"] = 99.0
        failures = bad.infinity.errors()
        assert list(failures[["row", "column"]].itertuples(index=False, name=None)) == [(3, "camera_distance")]
        with pytest.raises(inf.ValidationError, match="row 3") as info:
            bad.infinity.validate()
        pd.testing.assert_frame_equal(info.value.failure_cases, failures)
        polars_failures = pl.from_pandas(bad).infinity.errors(sesh)
        assert isinstance(polars_failures, pl.DataFrame)  # the caller's library, the same table
        assert polars_failures.columns == list(failures.columns)
        assert polars_failures.rows() == list(failures.itertuples(index=False, name=None))

    def test_coverage(self, sesh: inf.Session) -> None:
        cov = sesh.sample(64, seed=0, method="lhs", prior="uniform").infinity.coverage()
        row = cov.set_index("parameter").loc["camera_distance"]
        assert row["range_covered"] > 0.9
        # Coverage is of the valid range: the recommended 2.5-5 m is about 0.6 of 1-5.25 m.
        recommended = sesh.sample(64, seed=0, method="lhs").infinity.coverage().set_index("parameter")
        assert 0.5 < recommended.loc["camera_distance", "range_covered"] < 0.6

    def test_no_token_in_attrs(self, service: RunningService, sesh: inf.Session) -> None:
        frames = [sesh.sample(3, seed=0), sesh.grid(num_reps=[1, 2]), sesh.sample(3, seed=0).infinity.estimate()]
        for frame in frames:
            assert service.token not in repr(frame.attrs)
