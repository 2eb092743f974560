"""inf.sweep on a real local service: rounds, videos for the best previews, the spend cap, the
report, and a finished sweep script run again in another process paying nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import infinityframe as inf
from _service import RunningService

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}


@pytest.fixture(scope="module")
def finished(sesh: inf.Session, tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    folder = tmp_path_factory.mktemp("sweep") / "tall"
    history = inf.sweep(sesh, "mean_bbox_h", rounds=3, per_round=3, max_samples=200, goal="maximize", seed=1,
                        videos=2, name="tall boxes", path=folder, progress=False, **SMALL)
    return history, folder


class TestLoop:
    def test_every_job_with_its_round_parameters_and_objective(self, finished: tuple[pd.DataFrame, Path]) -> None:
        history, _ = finished
        assert history.groupby(["round", "fidelity"]).size().to_dict() == {
            (0, "preview"): 3, (1, "preview"): 3, (2, "preview"): 3, (3, "video"): 2}
        assert {"batch_id", "job_id", "source_job_id", "camera_distance", "estimated_samples",
                "objective"} <= set(history.columns)
        assert history["job_id"].is_unique
        assert (history.loc[history.fidelity == "preview", "estimated_samples"] == 1).all()
        assert (history.loc[history.fidelity == "video", "estimated_samples"] > 1).all()
        assert (history["num_reps"] == 1).all() and (history["image_width"] == 128).all()

    def test_videos_are_the_best_previews_rendered_again(self, finished: tuple[pd.DataFrame, Path]) -> None:
        history, _ = finished
        previews = history[history.fidelity == "preview"].set_index("job_id")
        videos = history[history.fidelity == "video"]
        best = previews["objective"].nlargest(2).index
        assert set(videos["source_job_id"]) == set(best)
        for _, video in videos.iterrows():
            assert video["camera_distance"] == previews.loc[video["source_job_id"], "camera_distance"]

    def test_spend_is_what_the_batches_cost(self, finished: tuple[pd.DataFrame, Path], sesh: inf.Session) -> None:
        history, _ = finished
        info = history.attrs["sweep"]
        assert info["samples"] == history["estimated_samples"].sum() <= 200
        videos = history[history.fidelity == "video"]
        preview_batches = history.set_index("job_id").loc[videos["source_job_id"], "batch_id"].nunique()
        assert len(info["batches"]) == 3 + preview_batches and not info["paid_nothing"]  # a promotion per batch
        assert all(sesh.batch(b).num_jobs for b in info["batches"])

    def test_the_report(self, finished: tuple[pd.DataFrame, Path]) -> None:
        history, folder = finished
        report = Path(history.attrs["sweep"]["report"])
        assert report == folder / "report.html"
        text = report.read_text()
        for heading in ("Rounds", "What drives the objective", "Chosen jobs"):
            assert f"<h2>{heading}</h2>" in text or heading in text
        assert text.count("data:image/png;base64") >= 2

    def test_a_callable_objective_and_the_cap_cuts_rounds(self, sesh: inf.Session, tmp_path: Path) -> None:
        def widest(res: inf.Results) -> pd.Series:
            return res.objects.groupby("job_id", observed=True)["bbox_w"].max()

        history = inf.sweep(sesh, widest, rounds=4, per_round=3, max_samples=5, seed=2, name="capped",
                            path=tmp_path, progress=False, report=False, **SMALL)
        assert history.attrs["sweep"]["samples"] <= 5
        assert len(history) == 5 and set(history["fidelity"]) == {"preview"}  # no video fits in what is left
        assert history.groupby("round").size().tolist() == [3, 2]

    def test_videos_only(self, sesh: inf.Session, tmp_path: Path) -> None:
        history = inf.sweep(sesh, "mean_bbox_h", rounds=2, per_round=3, max_samples=500, preview_first=False,
                            seed=3, name="videos only", path=tmp_path, progress=False, report=False, **SMALL)
        assert set(history["fidelity"]) == {"video"} and len(history) == 6
        assert (history["estimated_samples"] > 1).all()

    def test_stop_ends_the_exploration(self, sesh: inf.Session, tmp_path: Path) -> None:
        history = inf.sweep(sesh, "mean_bbox_h", rounds=5, per_round=3, max_samples=500, seed=4, videos=0,
                            name="stopped", path=tmp_path, progress=False, report=False,
                            stop=lambda h: len(h) >= 6, **SMALL)
        assert len(history) == 6

    def test_videos_that_leave_the_region_are_replaced(self, sesh: inf.Session, tmp_path: Path) -> None:
        # Every preview scores in the region (25-50), the farthest cameras nearest its middle, so
        # they are rendered first; a video scores 0 when its camera is 3 m away or more, so those
        # videos miss the region, and the next previews in it are rendered.
        def score(res: inf.Results) -> pd.Series:
            jobs = res.jobs.set_index("job_id")
            video = jobs["num_frames"] > 1
            far = jobs["camera_distance"] >= 3
            return (30 + jobs["camera_distance"]).where(~(video & far), 0.0)

        history = inf.sweep(sesh, score, goal=("between", 25, 50), rounds=2, per_round=4, first_round=6,
                            max_samples=2_000, videos=3, seed=5, name="top-up", path=tmp_path, progress=False,
                            report=False, **SMALL)
        previews = history[history.fidelity == "preview"].set_index("job_id")
        videos = history[history.fidelity == "video"]
        landed = videos["objective"].between(25, 50, inclusive="neither")
        near = int((previews["camera_distance"] < 3).sum())
        assert near > 0 and int(landed.sum()) == min(3, near)
        assert (~landed).sum() == (previews.loc[videos["source_job_id"], "camera_distance"] >= 3).sum() > 0
        assert videos["source_job_id"].is_unique  # no preview rendered twice
        assert len(videos) == min(len(previews), 3 + int((~landed).sum()))
        assert history.attrs["sweep"]["samples"] == history["estimated_samples"].sum()
        names = [sesh.batch(b).name for b in history.attrs["sweep"]["batches"]]
        assert any("more videos" in n for n in names)

    def test_the_same_seed_gives_the_same_jobs(self, sesh: inf.Session, tmp_path: Path) -> None:
        # Job ids are random, so the results list a round's jobs in a different order each time;
        # the rows (and the model fitted on them) follow the order the jobs were submitted in.
        def run(name: str) -> pd.DataFrame:
            return inf.sweep(sesh, "mean_percent_in_fov", goal=("between", 25, 90), rounds=3, per_round=3,
                             first_round=8, max_samples=200, videos=0, seed=6, name=name, path=tmp_path / name,
                             progress=False, report=False, prior="uniform", **SMALL)

        first, second = run("same seed a"), run("same seed b")
        assert not set(first["job_id"]) & set(second["job_id"])  # two sweeps, every job rendered twice
        columns = ["round", "camera_distance", "relative_camera_yaw_deg", "scene", "objective"]
        pd.testing.assert_frame_equal(first[columns], second[columns])
        assert first["round"].max() == 2


class TestBadInput:
    def test_arguments(self, sesh: inf.Session, tmp_path: Path) -> None:
        with pytest.raises(inf.InfinityError, match="rounds must be a positive"):
            inf.sweep(sesh, "mean_bbox_h", rounds=0, per_round=2, max_samples=10, path=tmp_path)
        with pytest.raises(inf.InfinityError, match="goal must be"):
            inf.sweep(sesh, "mean_bbox_h", rounds=1, per_round=2, max_samples=10, goal="best", path=tmp_path)

    def test_an_objective_that_is_not_a_column(self, sesh: inf.Session, tmp_path: Path) -> None:
        with pytest.raises(inf.InfinityError, match=r"not a column of res\.jobs.*mean_bbox_h"):
            inf.sweep(sesh, "bbox_h", rounds=1, per_round=3, max_samples=10, path=tmp_path, progress=False, **SMALL)

    def test_an_objective_of_the_wrong_length(self, sesh: inf.Session, tmp_path: Path) -> None:
        with pytest.raises(inf.InfinityError, match="gave 1 values for 3 jobs"):
            inf.sweep(sesh, lambda res: [1.0], rounds=1, per_round=3, max_samples=10, path=tmp_path,
                      progress=False, **SMALL)


SCRIPT = textwrap.dedent("""
    import json, sys
    import infinityframe as inf
    url, token, folder = sys.argv[1:4]
    sesh = inf.Session(token, "stickfit-v0.1.0", server=url)
    def in_view(res):  # a job whose person is out of view has no objects, so no mean: count it as 0%
        return res.jobs.get("mean_percent_in_fov", res.jobs["num_frames"] * 0.0).fillna(0.0)
    history = inf.sweep(sesh, in_view, rounds=3, per_round=3,
                        max_samples=100, goal=("between", 20, 60), seed=5, videos=1, name="rerun me",
                        path=folder, progress=False, num_reps=1, frame_rate=6, image_width=128, image_height=128)
    info = history.attrs["sweep"]
    print(json.dumps({"batches": info["batches"], "paid_nothing": info["paid_nothing"],
                      "jobs": history["job_id"].tolist(), "objective": history["objective"].round(6).tolist()}))
""")


def test_a_finished_sweep_run_again_in_new_processes_pays_nothing(service: RunningService, tmp_path: Path) -> None:
    owner = service.add_account("sweep-rerun", 10_000)
    script = tmp_path / "sweep_script.py"
    script.write_text(SCRIPT)
    folder = tmp_path / "out"

    def run(cache: Path) -> dict[str, object]:
        env = {**os.environ, "INFINITYFRAME_CACHE_DIR": str(cache)}
        out = subprocess.run([sys.executable, str(script), service.url, owner, str(folder)], capture_output=True,
                             text=True, timeout=240, check=False, env=env)
        assert out.returncode == 0, out.stderr
        found: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
        return found

    first = run(tmp_path / "cache")
    charged = service.get("account/", token=owner).json()
    assert not first["paid_nothing"] and len(first["batches"]) >= 4  # type: ignore[arg-type]

    again = run(tmp_path / "cache")  # the same machine: its submission records
    elsewhere = run(tmp_path / "fresh-cache")  # no records: the service answers each Idempotency-Key
    for rerun in (again, elsewhere):
        assert rerun["paid_nothing"] is True
        assert rerun["batches"] == first["batches"] and rerun["jobs"] == first["jobs"]
        assert np.allclose(rerun["objective"], first["objective"])  # type: ignore[arg-type]
    assert service.get("account/", token=owner).json() == charged
