"""The recommended prior: read from the generator's metadata, drawn by default, overridden per
parameter, and never drawing a value the service refuses."""

from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _frames import valid_values
from infinityframe.local.generators import available, get
from infinityframe.local.generators.base import validate_batch
from infinityframe.params.distributions import choice, integers, normal, uniform
from infinityframe.params.expressions import compile_expression
from infinityframe.params.priors import distribution_json, read_distribution, read_recommended
from infinityframe.params.sampling import ParameterError, fill, sample
from infinityframe.params.spec import GeneratorSpec

BUILT_IN = sorted(available())
SPECS = {name: GeneratorSpec.from_metadata(get(name).metadata()) for name in BUILT_IN}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in df.to_dict(orient="records")]


def service_errors(generator: str, df: pd.DataFrame) -> list[str]:
    """What the service's own checks say about every row of ``df``."""
    return [e["message"] for _, errors in validate_batch(get(generator), records(df)) for e in errors]


@st.composite
def overrides(draw: st.DrawFn, spec: GeneratorSpec) -> dict[str, Any]:
    """A few parameters fixed by the user to valid values (a scalar or a list of them); not those of
    an advisory constraint, which a fixed value can make impossible (``inter_rep_delay_avg=0``
    leaves a continuous spread no room), prior or not."""
    advised = {name for c in spec.advisory for name in compile_expression(c.expr).names}
    names = draw(st.lists(st.sampled_from([p.name for p in spec if p.type != "uuid" and p.name not in advised]),
                          max_size=4, unique=True))
    return {name: draw(valid_values(spec[name]) | st.lists(valid_values(spec[name]), min_size=1, max_size=3))
            for name in names}


class TestEveryBuiltIn:
    def test_each_declares_recommendations_that_the_client_reads_whole(self) -> None:
        for name in BUILT_IN:
            gen = get(name)
            served = gen.metadata()["recommended"]
            assert gen.recommended and set(served["distributions"]) == set(gen.recommended), name
            spec = SPECS[name]
            # Nothing the generator declares is dropped as unreadable or out of range.
            assert {p.name: p.recommended for p in spec if p.recommended} == gen.recommended, name
            assert [c.expr for c in spec.recommended] == [c["expr"] for c in gen.recommended_constraints]

    @SETTINGS
    @given(data=st.data(), generator=st.sampled_from(BUILT_IN), n=st.integers(1, 40),
           seed=st.integers(0, 2**32), method=st.sampled_from(["uniform", "lhs", "sobol"]))
    def test_draws_under_the_recommended_prior_always_pass_the_services_checks(
            self, data: st.DataObject, generator: str, n: int, seed: int, method: str) -> None:
        spec = SPECS[generator]
        fixed = data.draw(overrides(spec))
        df = sample(spec, n, seed=seed, method=method, fixed=fixed)
        assert service_errors(generator, df) == []
        for name, value in fixed.items():
            allowed = value if isinstance(value, list) else [value]
            assert df[name].isin(allowed).all(), name
        if "image_width" not in fixed and "image_height" not in fixed:
            assert (df.image_width == df.image_height).all()

    @SETTINGS
    @given(generator=st.sampled_from(BUILT_IN), seed=st.integers(0, 2**32))
    def test_fill_under_the_recommended_prior_passes_too(self, generator: str, seed: int) -> None:
        spec = SPECS[generator]
        given_cells = pd.DataFrame({"image_width": [128, None, 300], "state": [None, None, None]})
        out = fill(given_cells, spec, seed=seed)
        assert service_errors(generator, out) == []
        assert out.image_width.tolist()[::2] == [128, 300]
        assert (out.image_height == out.image_width).all()  # the open side copies the given one


class TestDefaultPrior:
    stickfit = SPECS["stickfit-v0.1.0"]

    def test_recommended_is_the_default_and_uniform_is_the_whole_range(self) -> None:
        rec = sample(self.stickfit, 4000, seed=1)
        flat = sample(self.stickfit, 4000, seed=1, prior="uniform")
        yaw = "relative_camera_yaw_deg"
        assert rec[yaw].between(-15, 15).all() and flat[yaw].abs().max() > 44
        assert rec.camera_distance.between(2.5, 5.0).all() and flat.camera_distance.min() < 1.1
        assert rec.num_reps.max() == 10 and flat.num_reps.max() == 20
        assert (rec.kinematic_noise_factor == 1.0).all() and rec.enable_sensor_noise.all()
        assert set(rec.image_width) == {256, 512} and (rec.image_width == rec.image_height).all()
        assert (flat.image_width != flat.image_height).mean() > 0.9
        # A truncated normal: most bodies near average, none outside the range.
        assert abs(rec.relative_height.std() - 1.0) < 0.05 and rec.relative_height.abs().max() <= 4.0
        # Parameters without a recommendation are drawn alike under both priors.
        assert rec.relative_avatar_angle_deg.equals(flat.relative_avatar_angle_deg)
        assert rec.scene.equals(flat.scene)

    def test_a_users_value_or_distribution_overrides_the_recommendation(self) -> None:
        df = sample(self.stickfit, 500, seed=2, fixed={"camera_distance": uniform(1.0, 1.5),
                                                        "relative_camera_yaw_deg": 40.0})
        assert df.camera_distance.between(1.0, 1.5).all() and (df.relative_camera_yaw_deg == 40.0).all()
        assert df.relative_camera_pitch_deg.between(-10, 10).all()  # the others keep theirs

    def test_both_image_sides_given_keeps_them_as_given(self) -> None:
        df = sample(self.stickfit, 200, seed=3, fixed={"image_width": [128, 512], "image_height": [128, 512]})
        assert (df.image_width != df.image_height).any()
        assert service_errors("stickfit-v0.1.0", df) == []

    def test_one_side_given_squares_the_other(self) -> None:
        df = sample(self.stickfit, 50, seed=3, fixed={"image_height": 200})
        assert (df.image_width == 200).all()
        assert (sample(self.stickfit, 50, seed=3, fixed={"image_height": 200}, prior="uniform").image_width
                != 200).any()

    def test_the_prefix_property_holds_under_the_prior(self) -> None:
        assert sample(self.stickfit, 300, seed=4).head(120).equals(sample(self.stickfit, 120, seed=4))

    def test_a_bad_prior_is_named(self) -> None:
        with pytest.raises(ParameterError, match="prior must be one of 'recommended', 'uniform'"):
            sample(self.stickfit, 3, prior="workflows")  # type: ignore[arg-type]


class TestMetadata:
    meta = get("stickfit-v0.1.0").metadata()

    def test_metadata_without_recommendations_samples_as_uniform(self) -> None:
        bare = {k: v for k, v in self.meta.items() if k != "recommended"}  # what the real service sends
        spec = GeneratorSpec.from_metadata(bare)
        assert all(p.recommended is None for p in spec) and spec.recommended == ()
        assert sample(spec, 300, seed=5).equals(sample(SPECS["stickfit-v0.1.0"], 300, seed=5, prior="uniform"))

    @pytest.mark.parametrize("entry", [
        {"distribution": "uniform", "low": 2.5, "high": 9.0},       # past the range
        {"distribution": "cauchy", "loc": 0},                        # unknown
        {"distribution": "uniform", "low": "near"},                  # unreadable
        {"distribution": "choice", "values": ["GYM_1"]},             # not a number
        "uniform(2.5, 5)",                                           # not an object
    ])
    def test_an_unusable_entry_falls_back_to_the_range(self, entry: Any, caplog: pytest.LogCaptureFixture) -> None:
        meta = copy.deepcopy(self.meta)
        meta["recommended"]["distributions"]["camera_distance"] = entry
        with caplog.at_level(logging.WARNING, logger="infinityframe.params.priors"):
            spec = GeneratorSpec.from_metadata(meta)
        assert spec["camera_distance"].recommended is None
        assert "camera_distance" in caplog.text
        assert spec["relative_camera_yaw_deg"].recommended == uniform(-15, 15)  # the rest are kept
        df = sample(spec, 500, seed=6)
        assert df.camera_distance.min() < 1.2 and service_errors("stickfit-v0.1.0", df) == []

    def test_unknown_names_and_bad_constraints_are_dropped(self) -> None:
        meta = copy.deepcopy(self.meta)
        meta["recommended"]["distributions"]["zoom"] = {"distribution": "uniform", "low": 0, "high": 1}
        meta["recommended"]["constraints"] += [{"expr": "zoom == 1"}, {"expr": "1 +"}, {"name": "x"}]
        distributions, constraints = read_recommended(meta)
        assert "zoom" not in distributions and [c["expr"] for c in constraints] == ["image_width == image_height"]

    @pytest.mark.parametrize("dist", [uniform(-1.5, 2), integers(1, 10), normal(0, 1), choice([256, 512]),
                                      choice(["a", "b"], p=[0.25, 0.75])])
    def test_json_round_trip(self, dist: Any) -> None:
        assert read_distribution(distribution_json(dist)) == dist
