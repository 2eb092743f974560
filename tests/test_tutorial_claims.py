"""What the tutorial and the quickstart notebook say about their figures is true of what their own
code renders: run their sampling code as written, render it on the local service, and check each
claim on the labels that come back."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import infinityframe as inf
from _service import RunningService

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = (ROOT / "docs" / "tutorial.md").read_text()
NOTEBOOK = ["".join(cell["source"])
            for cell in json.loads((ROOT / "examples" / "quickstart.ipynb").read_text())["cells"]]


def python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page, re.S)


def statement(code: str, start: str) -> str:
    """The line of ``code`` that starts with ``start``, without its comment."""
    line = next(line for line in code.splitlines() if line.startswith(start))
    return line.split("  #")[0]


def sampled(code: str, sesh: inf.Session, **extra: Any) -> pd.DataFrame:
    """The ``jobs = sesh.sample(...)`` statement of ``code``, run as written (plus ``extra`` keywords)."""
    call = code[code.index("jobs = sesh.sample("):]
    call = call[:call.index("\n)") + 2]
    if extra:  # keywords go last, after the page's own
        call = call[:-2] + "".join(f"    {k}={v!r},\n" for k, v in extra.items()) + ")"
    namespace: dict[str, Any] = {"sesh": sesh, "inf": inf}
    exec(call, namespace)
    jobs: pd.DataFrame = namespace["jobs"]
    return jobs


def rendered(jobs: pd.DataFrame, sesh: inf.Session, out: Path) -> inf.Results:
    batch = jobs.infinity.submit(sesh, name=f"claims {uuid.uuid4().hex[:8]}")
    assert (batch.wait(progress=False)["status"] == "succeeded").all()
    res = batch.results(out)
    assert res.objects["job_id"].nunique() == len(jobs)  # every job has its person annotated, in view or not
    return res


def in_view(res: inf.Results) -> pd.Series:
    """Per job, the mean percent of the person inside the image."""
    return res.objects.groupby("job_id")["percent_in_fov"].mean()


def check_trend(by_distance: pd.Series, res: inf.Results) -> None:
    """"The farther the camera, the smaller the figure", on the per-distance means the page computes."""
    assert by_distance.notna().all() and (by_distance > 0).all(), "a job with no visible box was averaged in"
    # The page's means leave out zero-height boxes: each equals the mean over visible boxes only.
    visible = res.objects[res.objects["bbox_h"] > 0].groupby("camera_distance")["bbox_h"].mean()
    pd.testing.assert_series_equal(by_distance, visible, check_names=False)
    ordered = by_distance.sort_index()
    half = len(ordered) // 2
    assert ordered.iloc[:half].mean() > 1.1 * ordered.iloc[-half:].mean(), ordered
    rank = pd.Series(ordered.index).corr(pd.Series(ordered.to_numpy()), method="spearman")
    assert rank < -0.5, ordered


@pytest.fixture(scope="module")
def sesh(service: RunningService) -> inf.Session:
    return inf.Session(service.token, "stickfit-v0.1.0", server=service.url)


class TestTutorial:
    code = next(b for b in python_blocks(TUTORIAL) if "jobs = sesh.sample(" in b)
    results = next(b for b in python_blocks(TUTORIAL) if "res.show(" in b)

    def test_session_claims(self, sesh: inf.Session) -> None:
        assert sesh.default_job["camera_distance"] == 3.0
        shown = sesh.parameters[["name", "type", "default", "min", "max", "choices", "recommended"]]
        assert shown.set_index("name").loc["relative_camera_yaw_deg", "recommended"] == "uniform(-15, 15)"

    def test_every_job_shows_the_person_and_the_farther_camera_makes_the_smaller_figure(
            self, sesh: inf.Session, tmp_path: Path) -> None:
        jobs = sampled(self.code, sesh)
        assert len(jobs) == 8 and jobs.camera_distance.between(2.5, 5.0).all()
        res = rendered(jobs, sesh, tmp_path / "tutorial")
        assert len(res.jobs) == 8
        assert (in_view(res) >= 50).all(), in_view(res)  # "every job below shows the person"
        namespace: dict[str, Any] = {"res": res}
        exec(statement(self.results, "seen = "), namespace)
        by_distance = eval(statement(self.results, "seen.groupby("), namespace)
        check_trend(by_distance, res)

    def test_over_the_whole_ranges_most_cameras_look_past_the_person(self, sesh: inf.Session, tmp_path: Path) -> None:
        res = rendered(sampled(self.code, sesh, prior="uniform"), sesh, tmp_path / "uniform")
        assert (in_view(res) >= 50).mean() < 0.5, in_view(res)


class TestQuickstartNotebook:
    code = next(c for c in NOTEBOOK if "jobs = sesh.sample(" in c)
    groupby = next(c for c in NOTEBOOK if c.startswith("res.objects") and "groupby" in c)

    def test_the_farther_camera_makes_the_smaller_figure(self, sesh: inf.Session, tmp_path: Path) -> None:
        assert any("the farther the camera, the smaller the figure" in c for c in NOTEBOOK)
        jobs = sampled(self.code, sesh)
        res = rendered(jobs, sesh, tmp_path / "quickstart")
        assert (in_view(res) >= 50).all(), in_view(res)
        by_distance = eval(self.groupby.strip(), {"res": res})
        # The notebook rounds for display; compare at that precision.
        visible = res.objects[res.objects["bbox_h"] > 0].groupby("camera_distance")["bbox_h"].mean().round(1)
        pd.testing.assert_series_equal(by_distance, visible, check_names=False)
        check_trend(res.objects[res.objects["bbox_h"] > 0].groupby("camera_distance")["bbox_h"].mean(), res)
