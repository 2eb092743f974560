"""The distribution objects and the resolver that turns per-parameter values into samplers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from infinityframe.errors import ValidationError
from infinityframe.params.distributions import Choice, Integers, Normal, Uniform, choice, integers, normal, uniform
from infinityframe.params.samplers import as_sampler, default_sampler
from infinityframe.params.spec import ParamSpec

LIGHT = ParamSpec("lighting_power", "float", 100.0, 0.0, 2000.0)
REPS = ParamSpec("num_reps", "int", 2, 1, 20)
SCENE = ParamSpec("scene", "str", "GYM_1", choices=("GYM_1", "OFFICE_1", "BEDROOM_2"))
FLAG = ParamSpec("add_wall_art", "bool", False)
STATE = ParamSpec("state", "uuid", None)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


class TestDistributions:
    def test_uniform_stays_in_its_range_and_is_monotone(self, rng: np.random.Generator) -> None:
        values = uniform(2.0, 5.0).sample(rng, 10_000)
        assert values.min() >= 2.0 and values.max() <= 5.0
        u = np.linspace(0, 1, 101)
        assert np.all(np.diff(uniform(2.0, 5.0).ppf(u)) >= 0)
        assert uniform(2.0, 5.0).ppf(np.array([1.0 - 1e-17]))[0] <= 5.0

    def test_integers_is_inclusive_and_stratified(self, rng: np.random.Generator) -> None:
        values = integers(1, 4).sample(rng, 4000)
        assert set(values.tolist()) == {1, 2, 3, 4}
        assert values.dtype == np.int64
        # Four equal strata of [0, 1) map to the four integers, one each.
        assert integers(1, 4).ppf(np.array([0.1, 0.3, 0.6, 0.9, 0.999999])).tolist() == [1, 2, 3, 4, 4]

    def test_choice_weights(self, rng: np.random.Generator) -> None:
        values = choice(["a", "b"], p=[0.2, 0.8]).sample(rng, 20_000)
        share = float(np.mean(values == "b"))
        assert 0.78 < share < 0.82
        assert values.dtype == object and isinstance(values[0], str)

    def test_choice_keeps_natural_dtypes(self) -> None:
        assert choice([256, 512]).ppf(np.array([0.1])).dtype == np.int64
        assert choice([False, True]).ppf(np.array([0.9])).dtype == bool
        assert choice([0.5, 1]).ppf(np.array([0.9])).dtype == np.float64

    def test_zero_and_one_stay_ints_beside_a_coin(self) -> None:
        u = np.linspace(0.0, 1.0, 41)
        ints = choice([0, 1]).ppf(u)
        assert ints.dtype == np.int64
        np.testing.assert_array_equal(choice([False, True]).ppf(u), ints.astype(bool))

    @pytest.mark.parametrize("dist", [uniform(0.33, 3.0), integers(-1, 4), choice(["A", "B", "C"]),
                                      choice([False, True]), choice([30, 24, 12]), choice([1, 2], p=[0.3, 0.7]),
                                      normal(0, 1)])
    def test_drawing_in_place_gives_the_same_values(self, dist: Any, rng: np.random.Generator) -> None:
        u = rng.random(500)
        spared = u.copy()
        np.testing.assert_array_equal(dist.ppf_spare(spared), dist.ppf(u))
        frozen = u.copy()
        frozen.flags.writeable = False  # a design's read-only unit numbers are left alone
        np.testing.assert_array_equal(dist.ppf_spare(frozen), dist.ppf(u))

    def test_normal_is_gaussian_without_bounds(self, rng: np.random.Generator) -> None:
        values = normal(3.0, 2.0).sample(rng, 50_000)
        assert abs(values.mean() - 3.0) < 0.05 and abs(values.std() - 2.0) < 0.05
        assert np.all(np.isfinite(normal(0, 1).ppf(np.array([0.0, 1.0]))))

    def test_truncated_normal_stays_inside_and_keeps_its_shape(self, rng: np.random.Generator) -> None:
        dist = normal(400, 20)
        u = rng.random(10_000)
        values = dist.ppf_within(u, 0.0, 410.0)
        assert values.min() >= 0.0 and values.max() <= 410.0
        # Truncated, not clipped: no pile-up at the bound.
        assert np.mean(values == 410.0) < 0.001
        far = dist.ppf_within(u, 1000.0, 2000.0)  # far in the upper tail
        assert far.min() >= 1000.0 and far.max() <= 2000.0 and np.all(np.isfinite(far))

    def test_reprs(self) -> None:
        assert repr(uniform(0, 1.5)) == "uniform(0, 1.5)"
        assert repr(integers(1, 10)) == "integers(1, 10)"
        assert repr(normal(400, 20)) == "normal(400, 20, clip=True)"
        assert repr(choice(["a", "b"], p=[0.5, 0.5])) == "choice(['a', 'b'], p=[0.5, 0.5])"

    def test_objects_are_frozen_and_comparable(self) -> None:
        assert uniform(0, 1) == Uniform(0.0, 1.0)
        assert choice([1, 2]) == Choice((1, 2))
        with pytest.raises(AttributeError):
            uniform(0, 1).lo = 3  # type: ignore[misc]

    @pytest.mark.parametrize(("make", "match"), [
        (lambda: uniform(2, 1), "lo <= hi"),
        (lambda: uniform(0, float("inf")), "finite"),
        (lambda: uniform("a", 1), "finite"),
        (lambda: integers(1.5, 3), "integer"),
        (lambda: integers(5, 1), "lo <= hi"),
        (lambda: normal(0, 0), "sd > 0"),
        (lambda: normal(0, 1, clip="yes"), "clip"),
        (lambda: choice([]), "at least one"),
        (lambda: choice("abc"), "list"),
        (lambda: choice([1, 2], p=[1.0]), "probabilities"),
        (lambda: choice([1, 2], p=[0.7, 0.7]), "sum to 1"),
        (lambda: choice([1, 2], p=[-0.5, 1.5]), "non-negative"),
    ])
    def test_bad_arguments_are_refused(self, make: object, match: str) -> None:
        with pytest.raises(ValueError, match=match):
            make()  # type: ignore[operator]

    def test_integral_floats_are_accepted_as_integer_bounds(self) -> None:
        assert integers(1.0, 3.0) == Integers(1, 3)
        assert isinstance(normal(1, 2), Normal)


class TestAsSampler:
    def test_scalar_is_constant(self, rng: np.random.Generator) -> None:
        s = as_sampler(7, REPS)
        assert s.constant and s.ppf is None
        assert s.draw(rng, 3).tolist() == [7, 7, 7]
        assert as_sampler(np.int64(7), REPS).draw(rng, 1).dtype == np.int64
        assert as_sampler(3.0, REPS).draw(rng, 1).tolist() == [3]

    def test_scalar_out_of_range_is_a_validation_error(self) -> None:
        with pytest.raises(ValidationError, match=r"lighting_power must be between 0\.0 and 2000\.0"):
            as_sampler(2500.0, LIGHT)
        with pytest.raises(ValidationError, match="must be one of"):
            as_sampler("KITCHEN", SCENE)
        with pytest.raises(ValidationError, match="integer"):
            as_sampler("3.5", REPS)

    @pytest.mark.parametrize("values", [[1, 5], (1, 5), np.array([1, 5]), pd.Series([1, 5]), range(1, 6, 4)])
    def test_list_like_is_a_uniform_choice(self, values: object, rng: np.random.Generator) -> None:
        s = as_sampler(values, REPS)
        drawn = s.draw(rng, 1000)
        assert set(drawn.tolist()) == {1, 5} and drawn.dtype == np.int64
        assert s.ppf is not None

    def test_list_values_are_checked_now(self) -> None:
        with pytest.raises(ValidationError, match="num_reps must be between 1 and 20"):
            as_sampler([1, 50], REPS)
        with pytest.raises(ValueError, match="empty"):
            as_sampler([], REPS)
        with pytest.raises(ValueError, match="sorted list"):
            as_sampler({1, 2}, REPS)

    def test_distribution_ranges_are_checked_against_the_parameter(self) -> None:
        with pytest.raises(ValidationError, match="lighting_power"):
            as_sampler(uniform(0, 3000), LIGHT)
        with pytest.raises(ValidationError, match="num_reps"):
            as_sampler(integers(0, 5), REPS)
        with pytest.raises(ValueError, match="scene is a str parameter"):
            as_sampler(uniform(0, 1), SCENE)

    def test_uniform_on_an_int_parameter_rounds(self, rng: np.random.Generator) -> None:
        drawn = as_sampler(uniform(1, 3), REPS).draw(rng, 1000)
        assert drawn.dtype == np.int64 and set(drawn.tolist()) == {1, 2, 3}

    def test_normal_for_lighting_power_stays_in_range(self, rng: np.random.Generator) -> None:
        drawn = as_sampler(normal(400, 20), LIGHT).draw(rng, 100_000)
        assert drawn.min() >= 0.0 and drawn.max() <= 2000.0
        assert abs(drawn.mean() - 400) < 0.5
        wide = as_sampler(normal(0, 1000), LIGHT).draw(rng, 10_000)
        assert wide.min() >= 0.0 and wide.max() <= 2000.0

    def test_scipy_frozen_distribution_uses_its_ppf_and_rounds_for_ints(self, rng: np.random.Generator) -> None:
        s = as_sampler(scipy.stats.norm(3, 0.5), REPS)
        drawn = s.draw(rng, 1000)
        assert drawn.dtype == np.int64 and drawn.min() >= 1 and drawn.max() <= 6
        assert s.ppf is not None and not s.checked

    def test_callable_is_drawn_directly(self, rng: np.random.Generator) -> None:
        s = as_sampler(lambda g, n: g.uniform(10, 20, n), LIGHT)
        assert s.ppf is None
        drawn = s.draw(rng, 5)
        assert drawn.dtype == np.float64 and drawn.min() >= 10
        with pytest.raises(ValueError, match="returned 2 values"):
            as_sampler(lambda g, n: [1.0, 2.0], LIGHT).draw(rng, 5)

    def test_callable_strings_become_python_strings(self, rng: np.random.Generator) -> None:
        drawn = as_sampler(lambda g, n: np.array(["GYM_1"] * n), SCENE).draw(rng, 2)
        assert drawn.dtype == object and type(drawn[0]) is str

    def test_choice_with_weights(self, rng: np.random.Generator) -> None:
        drawn = as_sampler(choice(["GYM_1", "OFFICE_1"], p=[0.9, 0.1]), SCENE).draw(rng, 5000)
        assert 0.87 < np.mean(drawn == "GYM_1") < 0.93

    def test_repr_names_parameter_and_source(self) -> None:
        assert repr(as_sampler([256, 512], ParamSpec("image_width", "int", 256, 128, 512))) == \
            "Sampler(image_width: choice([256, 512]))"


class TestDefaultSampler:
    def test_kinds(self, rng: np.random.Generator) -> None:
        assert default_sampler(SCENE).source == choice(list(SCENE.choices or ()))
        assert default_sampler(REPS).source == integers(1, 20)
        assert default_sampler(LIGHT).source == uniform(0, 2000)
        assert default_sampler(FLAG).source == choice([False, True])
        state = default_sampler(STATE)
        assert state.constant and state.draw(rng, 2).tolist() == [None, None]

    def test_narrowing(self) -> None:
        assert default_sampler(REPS, low=3.5, high=7).source == integers(4, 7)
        assert default_sampler(SCENE, values=["GYM_1"]).source == choice(["GYM_1"])
        assert not default_sampler(REPS).user
