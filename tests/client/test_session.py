"""Session against the real local service: metadata, validation, submit, batches, usage, local()."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import infinityframe as inf
from _service import RunningService, start_service

SHAPES = "shapes-v0.1.0"
SMALL = {"num_images": 1, "image_width": 64, "image_height": 64}


@pytest.fixture
def sesh(service: RunningService) -> inf.Session:
    return inf.Session(service.token, SHAPES, server=service.url)


class TestConstruction:
    def test_metadata(self, sesh: inf.Session) -> None:
        assert sesh.supports_preview
        assert sesh.default_job["state"] is None
        info = sesh.parameter_info["num_objects"]
        assert info["type"] == "int" and info["options"] == {"min": 1, "max": 20}
        params = sesh.parameters
        assert list(params.columns) == ["name", "type", "default", "min", "max", "choices", "recommended",
                                        "description"]
        assert params.set_index("name").loc["num_objects", "max"] == 20
        assert params.attrs["infinity"] == {"server": sesh.server, "generator": SHAPES}

    def test_recommended_distributions_come_with_the_metadata(self, service: RunningService) -> None:
        sesh = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
        served = sesh.metadata["recommended"]
        assert served["distributions"]["camera_distance"] == {"distribution": "uniform", "low": 2.5, "high": 5.0}
        assert served["constraints"][0]["expr"] == "image_width == image_height"
        params = sesh.parameters.set_index("name")
        # The valid range and the recommended distribution, side by side.
        assert params.loc["relative_camera_pitch_deg", ["min", "max", "recommended"]].tolist() == [
            -45.0, 45.0, "uniform(-10, 10)"]
        assert params.loc["relative_height", "recommended"] == "normal(0, 1, clip=True)"
        assert pd.isna(params.loc["relative_avatar_angle_deg", "recommended"])  # the whole range
        jobs = sesh.sample(200, seed=1)
        assert jobs.relative_camera_pitch_deg.abs().max() <= 10 and (jobs.image_width == jobs.image_height).all()
        anywhere = sesh.sample(200, seed=1, prior="uniform")
        assert anywhere.relative_camera_pitch_deg.abs().max() > 40
        # Overrides win; the service takes every row.
        fixed = sesh.sample(20, seed=1, camera_distance=1.0, relative_camera_pitch_deg=inf.uniform(30, 45))
        assert (fixed.camera_distance == 1.0).all() and fixed.relative_camera_pitch_deg.min() >= 30
        assert sesh.validate_job_params(fixed.to_dict(orient="records")) == [None] * 20
        filled = pd.DataFrame({"scene": ["GYM_1"] * 50}).infinity.fill(sesh, seed=0)
        assert filled.relative_camera_yaw_deg.abs().max() <= 15
        flat = pd.DataFrame({"scene": ["GYM_1"] * 50}).infinity.fill(sesh, seed=0, prior="uniform")
        assert flat.relative_camera_yaw_deg.abs().max() > 15

    def test_bad_token(self, service: RunningService) -> None:
        with pytest.raises(inf.AuthenticationError, match="Invalid token") as info:
            inf.Session("f" * 40, SHAPES, server=service.url)
        assert "f" * 40 not in str(info.value)

    def test_unknown_generator(self, service: RunningService) -> None:
        with pytest.raises(inf.GeneratorNotFoundError, match="nope-v1"):
            inf.Session(service.token, "nope-v1", server=service.url)

    def test_token_from_environment(self, service: RunningService, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("INFINITY_TOKEN", service.token)
        monkeypatch.setenv("INFINITY_SERVER", service.url)
        assert inf.Session(generator=SHAPES).server == service.url

    def test_no_token(self) -> None:
        with pytest.raises(inf.AuthenticationError, match="INFINITY_TOKEN"):
            inf.Session(None, SHAPES, server="http://127.0.0.1:9")

    def test_generators(self, service: RunningService) -> None:
        frame = inf.generators(service.token, service.url)
        assert set(frame["name"]) >= {SHAPES, "stickfit-v0.1.0"}
        assert frame["preview"].all()


class TestSubmit:
    def test_validation_before_any_request(self, sesh: inf.Session) -> None:
        before = len(sesh.batches())
        with pytest.raises(inf.ValidationError) as info:
            sesh.submit([{**SMALL}, {**SMALL, "num_objects": 99, "colour": 1}])
        cases = info.value.failure_cases
        assert set(zip(cases["row"], cases["column"], strict=True)) == {(1, "num_objects"), (1, "colour")}
        assert "row 1" in str(info.value)
        assert len(sesh.batches()) == before

    def test_submit_frame_wait_download(self, sesh: inf.Session, tmp_path: Path) -> None:
        jobs = pd.DataFrame({"num_objects": [1, 2, 3], "image_width": 64, "image_height": 64, "num_images": 1})
        batch = sesh.submit(jobs, name="frame")
        assert batch.num_jobs == 3 and batch.name == "frame" and not batch.preview
        assert batch.created is not None and batch.created.tzinfo is not None
        assert list(batch.jobs["num_objects"]) == [1, 2, 3]
        status = batch.wait(progress=False)
        assert list(status.columns[:4]) == ["job_id", "status", "in_progress", "result_url"]
        assert (status["status"] == "succeeded").all() and batch.remaining() == 0
        folder = batch.download(tmp_path / "out", progress=False)
        assert (folder / "batch_id.txt").read_text() == batch.id
        assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(batch.job_ids)

    def test_previews(self, sesh: inf.Session) -> None:
        batch = sesh.submit([SMALL], preview=True)
        assert batch.preview
        assert sesh.estimate([SMALL, SMALL], preview=True) == [1, 1]

    def test_cached_reattaches_and_force_does_not(self, sesh: inf.Session) -> None:
        jobs = [{**SMALL, "num_objects": 4}]
        first = sesh.submit(jobs, name="cached")
        again = sesh.submit(jobs, name="cached")
        forced = sesh.submit(jobs, name="cached", mode="force")
        renamed = sesh.submit(jobs, name="other name")
        assert again.id == first.id
        assert forced.id != first.id and renamed.id != first.id

    def test_cached_across_processes_creates_one_batch(self, service: RunningService, tmp_path: Path) -> None:
        script = textwrap.dedent(f"""
            import infinityframe as inf
            sesh = inf.Session({service.token!r}, {SHAPES!r}, server={service.url!r})
            print(sesh.submit([{{"num_objects": 7, "num_images": 1, "image_width": 64}}], name="two procs").id)
        """)
        procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
        ids = {p.communicate(timeout=120)[0].strip() for p in procs}
        assert len(ids) == 1
        (batch_id,) = ids
        sesh = inf.Session(service.token, SHAPES, server=service.url)
        named = sesh.batches()
        assert (named["name"] == "two procs").sum() == 1
        assert sesh.submit([{"num_objects": 7, "num_images": 1, "image_width": 64}], name="two procs").id == batch_id

    def test_insufficient_samples(self, service: RunningService) -> None:
        poor = inf.Session(service.add_account("client-poor", 2), SHAPES, server=service.url)
        with pytest.raises(inf.InsufficientSamplesError, match="short by 3") as info:
            poor.submit([{**SMALL, "num_images": 5}])
        assert info.value.required == 5 and info.value.balance == 2
        assert poor.batches().empty


class TestBatchesAndUsage:
    def test_reattach(self, sesh: inf.Session) -> None:
        batch = sesh.submit([SMALL], name="reattach", mode="force")
        again = sesh.batch(batch.id)
        assert again.id == batch.id and again.job_ids == batch.job_ids and again.name == "reattach"
        with pytest.raises(inf.BatchNotFoundError, match="5291a594"):
            sesh.batch("5291a594-f9b4-4b67-a7e7-e32e4c92b7aa")

    def test_batches_newest_first(self, sesh: inf.Session) -> None:
        a = sesh.submit([SMALL], name="older", mode="force")
        b = sesh.submit([SMALL], name="newer", mode="force")
        listed = sesh.batches(days=1)
        assert list(listed["batch_id"][:2]) == [b.id, a.id]
        assert str(listed["created"].dtype).startswith("datetime64")

    def test_usage(self, sesh: inf.Session) -> None:
        sesh.submit([SMALL], name="usage", mode="force").wait(progress=False)
        usage = sesh.usage(days=1)
        assert list(usage.columns) == ["generator", "preview_samples_rendered", "non_preview_samples_rendered"]
        assert usage.set_index("generator").loc[SHAPES, "non_preview_samples_rendered"] >= 1

    def test_infinity_core_aliases(self, sesh: inf.Session, tmp_path: Path) -> None:
        # infinity-core's keyword form, as its documentation writes it.
        batch = sesh.submit(job_params=[SMALL], is_preview=True, batch_name="aliases", mode="force")
        assert batch.preview and batch.name == "aliases"
        completed = batch.await_completion(polling_interval=0.2, timeout=60)
        assert [c.job_id for c in completed] == batch.job_ids
        assert all(c.result_url and c.generator == SHAPES and c.params == batch.params[c.job_id] for c in completed)
        assert batch.get_completed_jobs() == completed
        assert batch.get_job_params_seeded_for_rerun() == [
            {**batch.params[job_id], "state": job_id} for job_id in batch.job_ids]
        assert batch.get_num_jobs_remaining() == 0
        assert sesh.batch_from_api(batch.batch_id).preview
        assert sesh.validate_job_params([{"num_objects": 0}]) == [
            "row 0, num_objects: must be between 1 and 20 (inclusive), got 0"]  # as df.infinity.errors() words it
        assert sesh.estimate_samples([SMALL], is_preview=True) == [1]
        assert sesh.get_batches_last_n_days(1)[0]["batch_id"] == batch.id
        assert sesh.estimate_samples([SMALL], False, "named") == sesh.estimate([SMALL])
        folder = tmp_path / "out"
        assert batch.download(str(folder), True, True) == folder  # path, overwrite, quiet: positional, as there
        assert sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) == batch.job_ids


class TestLocal:
    def test_reuses_the_service_of_the_same_data_dir(self, tmp_path: Path) -> None:
        a = inf.Session.local(SHAPES, data_dir=tmp_path)
        b = inf.Session.local("stickfit-v0.1.0", data_dir=tmp_path)
        c = inf.Session.local(SHAPES, data_dir=tmp_path / "other")
        assert a.server == b.server != c.server

    def test_reuses_a_service_running_in_another_process(self, tmp_path: Path) -> None:
        svc = start_service(tmp_path, "--workers", "1")
        try:
            sesh = inf.Session.local(SHAPES, data_dir=tmp_path)
            assert sesh.server == svc.url
        finally:
            svc.stop()
        assert not (tmp_path / "service.json").exists()


class TestSecrets:
    def test_token_never_shown(self, service: RunningService, caplog: pytest.LogCaptureFixture,
                               tmp_path: Path) -> None:
        caplog.set_level(logging.DEBUG)
        sesh = inf.Session(service.token, SHAPES, server=service.url)
        batch = sesh.submit([SMALL], name="secrets", mode="force")
        status = batch.wait(progress=False)
        batch.download(tmp_path, progress=False)
        frames = [sesh.parameters, sesh.batches(), sesh.usage(), batch.jobs, status]
        errors = []
        for call in (lambda: sesh.batch("nope"), lambda: sesh.submit([{"zzz": 1}]),
                     lambda: inf.Session(service.token, "missing-v0", server=service.url)):
            try:
                call()
            except inf.InfinityError as err:
                errors.append(err)
        assert len(errors) == 3
        texts = [repr(sesh), str(sesh), repr(batch), repr(sesh._transport), caplog.text,
                 *(repr(f.attrs) for f in frames), *(str(e) for e in errors), *(repr(e) for e in errors)]
        for text in texts:
            assert service.token not in text


class TestRandomJobs:
    def test_random_jobs_are_valid_and_seeded(self, service: RunningService) -> None:
        sesh = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
        jobs = [sesh.random_job(rng=seed) for seed in range(40)]
        assert sesh.validate_job_params(jobs) == [None] * 40  # the joint constraint holds in every draw
        assert sesh.random_job(rng=7) == sesh.random_job(rng=7) != sesh.random_job(rng=8)
        assert len({j["camera_distance"] for j in jobs}) == 40
        filled = sesh.randomize_unspecified_params({"exercise": "LUNGE"}, rng=1)
        assert filled["exercise"] == "LUNGE" and set(filled) == set(sesh.default_job)
