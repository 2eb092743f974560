"""suggest: never an invalid job (a property over generators, fixed values, constraints and goals),
reproducible, cost-aware, and moving toward what it is asked for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import infinityframe as inf
from _service import RunningService
from infinityframe.params.distributions import Integers, Uniform

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}

# Per generator: the fixed values and user constraints a case may add, and a made-up outcome of the jobs.
CASES = {
    "stickfit-v0.1.0": {
        "fixed": [{}, {"exercise": "SQUAT"}, {"camera_distance": inf.uniform(2.0, 3.0)},
                  {"scene": ["GYM_1", "OFFICE_1"], "lighting_power": inf.normal(400, 50)}, {"image_width": 256}],
        "constraints": [[], ["image_width == image_height"], ["camera_height <= 1.2", "camera_distance >= 2.5"],
                        ["inter_rep_delay_avg + inter_rep_delay_var <= 1.5"]],
        "outcome": lambda d: d.camera_distance * 10 - d.camera_height ** 2 + (d.exercise == "LUNGE") * 3,
    },
    "shapes-v0.1.0": {
        "fixed": [{}, {"num_objects": inf.integers(2, 4)}],
        "constraints": [[], ["image_width == image_height"]],
        "outcome": None,
    },
}
GOALS = ["maximize", "minimize", "explore", ("boundary", 20.0), ("between", 15.0, 30.0)]


@pytest.fixture(scope="module")
def sessions(service: RunningService, owner: str) -> dict[str, inf.Session]:
    return {name: inf.Session(owner, name, server=service.url) for name in CASES}


def numeric_outcome(frame: pd.DataFrame) -> pd.Series:
    numbers = frame.select_dtypes("number")
    return numbers.sum(axis=1) % 37.0


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_never_an_invalid_job(sessions: dict[str, inf.Session], data: st.DataObject) -> None:
    generator = data.draw(st.sampled_from(sorted(CASES)), label="generator")
    case = CASES[generator]
    sesh = sessions[generator]
    fixed = data.draw(st.sampled_from(case["fixed"]), label="fixed")
    constraints = data.draw(st.sampled_from(case["constraints"]), label="constraints")
    goal = data.draw(st.sampled_from(GOALS), label="goal")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    n = data.draw(st.integers(1, 4), label="n")
    history = sesh.sample(data.draw(st.integers(3, 16), label="history"), seed=seed + 1)
    outcome = case["outcome"] or numeric_outcome
    history["outcome"] = outcome(history)

    out = sesh.suggest(n, history, "outcome", goal, seed=seed, constraints=constraints, preview=True, **fixed)

    assert len(out) == n
    failures = out.infinity.errors(sesh, constraints=constraints)
    assert failures.empty, failures.to_string()
    for name, value in fixed.items():  # fixed values and the bounds of distributions hold
        if isinstance(value, (str, int, float)):
            assert (out[name] == value).all()
        elif isinstance(value, list):
            assert set(out[name]) <= set(value)
        elif isinstance(value, (Uniform, Integers)):
            assert out[name].between(value.lo, value.hi).all()
    assert out.attrs["infinity"]["generator"] == generator
    assert len(out.attrs["suggest"]["predicted"]) == n


@pytest.fixture(scope="module")
def sesh_history(sessions: dict[str, inf.Session]) -> tuple[inf.Session, pd.DataFrame]:
    sesh = sessions["stickfit-v0.1.0"]
    history = sesh.sample(24, seed=5, **SMALL)
    history["score"] = -((history.camera_distance - 4.5) ** 2)  # best with the camera at 4.5 m
    return sesh, history


def test_the_same_seed_gives_the_same_jobs(sesh_history: tuple[inf.Session, pd.DataFrame]) -> None:
    sesh, history = sesh_history
    first = sesh.suggest(4, history, "score", seed=11, preview=True, **SMALL)
    pd.testing.assert_frame_equal(first, sesh.suggest(4, history, "score", seed=11, preview=True, **SMALL))
    assert not first.equals(sesh.suggest(4, history, "score", seed=12, preview=True, **SMALL))


def test_the_order_of_the_history_does_not_matter(sessions: dict[str, inf.Session]) -> None:
    # Results list jobs in an order that follows their random ids, and outcomes tie (a person
    # wholly in view is 100 % in view, whatever the camera): the same jobs, shuffled, must give
    # the same suggestion.
    sesh = sessions["stickfit-v0.1.0"]
    history = sesh.sample(24, seed=5, prior="uniform", **SMALL)
    history["in_view"] = np.where(history.relative_camera_yaw_deg.abs() > 20, 0.0, 100.0)
    goal = ("between", 20.0, 80.0)
    first = sesh.suggest(4, history, "in_view", goal, seed=1, preview=True, prior="uniform", **SMALL)
    for shuffle in range(3):
        shuffled = history.sample(frac=1.0, random_state=shuffle)
        again = sesh.suggest(4, shuffled, "in_view", goal, seed=1, preview=True, prior="uniform", **SMALL)
        pd.testing.assert_frame_equal(first, again)


def test_maximize_goes_where_the_score_is_high(sesh_history: tuple[inf.Session, pd.DataFrame]) -> None:
    sesh, history = sesh_history
    out = sesh.suggest(4, history, "score", "maximize", seed=0, preview=True, **SMALL)
    assert (out.camera_distance - 4.5).abs().mean() < (history.camera_distance - 4.5).abs().mean() / 2
    low = sesh.suggest(4, history, "score", "minimize", seed=0, preview=True, **SMALL)
    assert (low.camera_distance - 4.5).abs().mean() > (history.camera_distance - 4.5).abs().mean()


def test_between_aims_at_the_range(sesh_history: tuple[inf.Session, pd.DataFrame]) -> None:
    sesh, history = sesh_history
    history = history.assign(height=history.camera_height * 100)
    out = sesh.suggest(5, history, "height", ("between", 100, 150), seed=0, preview=True, **SMALL)
    assert out.camera_height.between(0.9, 1.6).mean() >= 0.6, out.camera_height.tolist()


def test_cheaper_jobs_win_when_cost_counts(sesh_history: tuple[inf.Session, pd.DataFrame]) -> None:
    sesh, history = sesh_history
    fixed = {"image_width": 128, "image_height": 128}  # frame rate and reps free: video lengths vary a lot
    flat = history.assign(score=0.0)
    blind = sesh.suggest(6, flat, "score", "explore", seed=3, cost_weight=0.0, **fixed)
    thrifty = sesh.suggest(6, flat, "score", "explore", seed=3, cost_weight=4.0, **fixed)
    assert thrifty["estimated_samples"].sum() < blind["estimated_samples"].sum() / 2
    priced = thrifty.drop(columns="estimated_samples").infinity.estimate(sesh)
    assert priced["estimated_samples"].tolist() == thrifty["estimated_samples"].tolist()  # the service's own figures


def test_a_polars_history(sesh_history: tuple[inf.Session, pd.DataFrame]) -> None:
    import polars as pl

    sesh, history = sesh_history
    out = sesh.suggest(2, pl.from_pandas(history.drop(columns="state")), "score", seed=0, preview=True, **SMALL)
    assert len(out) == 2


class TestBadInput:
    def test_goal(self, sesh_history: tuple[inf.Session, pd.DataFrame]) -> None:
        sesh, history = sesh_history
        for goal in ("max", ("boundary",), ("between", 5, 1), ("boundary", "x")):
            with pytest.raises(inf.InfinityError, match="goal must be"):
                sesh.suggest(1, history, "score", goal)

    def test_target_and_history(self, sesh_history: tuple[inf.Session, pd.DataFrame]) -> None:
        sesh, history = sesh_history
        with pytest.raises(inf.InfinityError, match="no column 'nope'"):
            sesh.suggest(1, history, "nope")
        with pytest.raises(inf.InfinityError, match="Only 2 row"):
            sesh.suggest(1, history.head(2), "score")
        with pytest.raises(inf.InfinityError, match="n must be a positive"):
            sesh.suggest(0, history, "score")
        with pytest.raises(inf.InfinityError, match="none of stickfit"):
            sesh.suggest(1, pd.DataFrame({"score": np.arange(5.0)}), "score")

    def test_fixed_values_that_break_the_rules(self, sesh_history: tuple[inf.Session, pd.DataFrame]) -> None:
        sesh, history = sesh_history
        with pytest.raises(inf.ValidationError):
            sesh.suggest(1, history, "score", camera_distance=99.0)
