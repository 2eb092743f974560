"""Variants of the best jobs: near their origin, yet only where the sampler could have drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

import infinityframe as inf
from infinityframe.learn.candidates import STEP, variants

SMALL = {"num_reps": 1, "frame_rate": 6, "image_width": 128, "image_height": 128}
NAMES = ["camera_distance", "camera_height", "relative_camera_yaw_deg", "exercise", "num_reps", "frame_rate",
         "inter_rep_delay_avg", "inter_rep_delay_var"]


def test_variants_stay_where_the_sampler_draws(sesh: inf.Session) -> None:
    fixed = {"camera_distance": inf.uniform(2.0, 3.0), "exercise": "SQUAT", "frame_rate": [6, 12]}
    constraints = ["camera_height <= 1.2"]
    pool = sesh.sample(400, seed=0, constraints=constraints, **fixed)
    # The best jobs come from elsewhere: the whole space, any exercise, any frame rate.
    best = sesh.sample(6, seed=1, prior="uniform")
    out = variants(pool, best, NAMES, sesh.spec, 300, np.random.default_rng(0), constraints)

    assert 50 < len(out) <= 300
    assert out.camera_distance.between(2.0, 3.0).all()
    assert (out.exercise == "SQUAT").all() and set(out.frame_rate) <= {6, 12}
    assert (out.camera_height <= 1.2).all()
    assert (out.inter_rep_delay_var <= out.inter_rep_delay_avg).all()  # the generator's advisory rule, as drawn
    assert out.relative_camera_yaw_deg.abs().max() <= 15  # the recommended distribution's bounds
    assert (out.image_width == out.image_height).all()  # the recommended square image
    assert out.infinity.errors(sesh, constraints=constraints).empty


def test_variants_are_near_their_origin(sesh: inf.Session) -> None:
    pool = sesh.sample(400, seed=2, **SMALL)
    best = pool.head(1)
    out = variants(pool, best, NAMES, sesh.spec, 200, np.random.default_rng(3))
    span = pool.camera_distance.max() - pool.camera_distance.min()
    moved = (out.camera_distance - float(best.camera_distance.iloc[0])).abs()
    assert moved.median() < 2 * STEP * span  # a step of STEP of the range, not a fresh draw
    fresh = (pool.camera_distance - float(best.camera_distance.iloc[0])).abs()
    assert moved.median() < fresh.median() / 3
    assert (out.exercise == best.exercise.iloc[0]).mean() > 0.6  # a level kept three times in four


def test_nothing_to_vary(sesh: inf.Session) -> None:
    pool = sesh.sample(10, seed=0, **SMALL)
    assert variants(pool, pool.iloc[0:0], NAMES, sesh.spec, 10, np.random.default_rng(0)).empty
    assert variants(pool, pool.head(1), NAMES, sesh.spec, 0, np.random.default_rng(0)).empty


def test_suggest_looks_beyond_the_recommendations_with_a_uniform_prior(sesh: inf.Session) -> None:
    yaw = "relative_camera_yaw_deg"
    history = sesh.sample(16, seed=4, prior="uniform", **SMALL)
    history["turned"] = history[yaw]
    wide = sesh.suggest(4, history, "turned", "maximize", seed=0, preview=True, prior="uniform", **SMALL)
    assert wide[yaw].iloc[0] > 15, wide[yaw].tolist()  # the first pick, where the model is surest
    narrow = sesh.suggest(4, history, "turned", "maximize", seed=0, preview=True, **SMALL)
    assert narrow[yaw].abs().max() <= 15


def test_a_batch_holds_no_near_copies(sesh: inf.Session) -> None:
    history = sesh.sample(20, seed=6, **SMALL)
    history["score"] = -((history.camera_distance - 3.5) ** 2)
    out = sesh.suggest(6, history, "score", "maximize", seed=0, preview=True, **SMALL)
    assert len(out.drop(columns="estimated_samples").astype(str).drop_duplicates()) == 6
    assert isinstance(out, pd.DataFrame)
