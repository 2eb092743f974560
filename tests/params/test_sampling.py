"""sample, fill, grid and with_defaults on the real built-in generators' specs."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from infinityframe.errors import ValidationError
from infinityframe.local.generators import get
from infinityframe.params import rules
from infinityframe.params.cells import choice_dtype
from infinityframe.params.distributions import choice, integers, normal, uniform
from infinityframe.params.samplers import as_sampler, default_sampler
from infinityframe.params.sampling import fill, grid, sample, with_defaults
from infinityframe.params.spec import GeneratorSpec

GENERATORS = ("stickfit-v0.1.0", "shapes-v0.1.0")
METHODS = ("uniform", "lhs", "sobol")
STICKFIT_CONSTRAINTS = ["image_width == image_height", "inter_rep_delay_avg + inter_rep_delay_var <= 1.5"]


def _meta(name: str) -> dict[str, Any]:
    return get(name).metadata()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def stickfit() -> GeneratorSpec:
    return GeneratorSpec.from_metadata(_meta("stickfit-v0.1.0"))


@pytest.fixture(scope="module")
def shapes() -> GeneratorSpec:
    return GeneratorSpec.from_metadata(_meta("shapes-v0.1.0"))


def assert_valid(df: pd.DataFrame, generator: str) -> None:
    """Every row passes the service's own per-job rules (types, ranges, choices, constraints)."""
    meta = _meta(generator)
    problems = [e for i, row in enumerate(df.to_dict("records")) for e in rules.validate_job(meta, i, row)[1]]
    assert problems == []


def unit_bins(values: pd.Series, lo: float, hi: float, n: int) -> np.ndarray:
    return np.bincount(np.minimum(((values.to_numpy() - lo) / (hi - lo) * n).astype(int), n - 1), minlength=n)


class TestSample:
    @pytest.mark.parametrize("generator", GENERATORS)
    @pytest.mark.parametrize("method", METHODS)
    def test_every_row_is_a_valid_job(self, generator: str, method: str) -> None:
        spec = GeneratorSpec.from_metadata(_meta(generator))
        df = sample(spec, 300, seed=7, method=method)
        assert list(df.columns) == spec.names and len(df) == 300
        assert_valid(df, generator)

    def test_dtypes(self, stickfit: GeneratorSpec) -> None:
        df = sample(stickfit, 20, seed=1)
        expected = {"int": "int64", "float": "float64", "bool": "bool", "str": "str", "uuid": "object"}
        for param in stickfit:
            if param.type == "str" and param.choices:  # text choices: a Categorical of the choices, in order
                assert isinstance(df[param.name].dtype, pd.CategoricalDtype), param.name
                assert df[param.name].cat.categories.tolist() == list(param.choices), param.name
                assert not df[param.name].cat.ordered
                continue
            assert str(df[param.name].dtype) == expected[param.type], param.name
        assert df.state.tolist() == [None] * 20
        assert df.attrs == {}

    def test_defaults_cover_ranges_and_choices(self, stickfit: GeneratorSpec) -> None:
        df = sample(stickfit, 2000, seed=3, prior="uniform")
        assert set(df.frame_rate) == {30, 24, 12, 8, 6}
        assert set(df.num_reps) == set(range(1, 21))
        assert set(df.add_wall_art) == {False, True}
        assert df.camera_distance.between(1.0, 5.25).all() and df.camera_distance.std() > 1.0

    def test_zero_rows_keeps_columns_and_dtypes(self, stickfit: GeneratorSpec) -> None:
        empty, full = sample(stickfit, 0, seed=1), sample(stickfit, 3, seed=1)
        assert len(empty) == 0 and list(empty.columns) == stickfit.names
        assert empty.dtypes.equals(full.dtypes)

    @pytest.mark.parametrize("n", [-1, 2.5, "10", True])
    def test_bad_n(self, stickfit: GeneratorSpec, n: Any) -> None:
        with pytest.raises(ValueError, match="non-negative integer"):
            sample(stickfit, n)

    def test_bad_method_and_seed(self, stickfit: GeneratorSpec) -> None:
        with pytest.raises(ValueError, match="'lhs'"):
            sample(stickfit, 5, method="halton")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="seed"):
            sample(stickfit, 5, seed=-3)


class TestReproducibility:
    @pytest.mark.parametrize("method", METHODS)
    def test_same_seed_same_frame(self, stickfit: GeneratorSpec, method: str) -> None:
        a = sample(stickfit, 150, seed=11, method=method, constraints=STICKFIT_CONSTRAINTS)
        b = sample(stickfit, 150, seed=11, method=method, constraints=STICKFIT_CONSTRAINTS)
        pd.testing.assert_frame_equal(a, b)

    @pytest.mark.parametrize("method", METHODS)
    def test_different_seed_differs(self, stickfit: GeneratorSpec, method: str) -> None:
        a, b = sample(stickfit, 50, seed=1, method=method), sample(stickfit, 50, seed=2, method=method)
        assert not a.lighting_power.equals(b.lighting_power)

    def test_no_seed_is_fresh(self, stickfit: GeneratorSpec) -> None:
        assert not sample(stickfit, 20).lighting_power.equals(sample(stickfit, 20).lighting_power)

    @pytest.mark.parametrize("method", ["uniform", "sobol"])
    @pytest.mark.parametrize("constraints", [(), STICKFIT_CONSTRAINTS])
    def test_adding_rows_keeps_the_rows_already_drawn(self, stickfit: GeneratorSpec, method: str,
                                                      constraints: list[str]) -> None:
        small = sample(stickfit, 100, seed=5, method=method, constraints=constraints)
        large = sample(stickfit, 200, seed=5, method=method, constraints=constraints)
        pd.testing.assert_frame_equal(large.head(100), small)

    def test_generator_seed(self, stickfit: GeneratorSpec) -> None:
        g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
        first = sample(stickfit, 30, seed=g1)
        pd.testing.assert_frame_equal(first, sample(stickfit, 30, seed=g2))
        assert not sample(stickfit, 30, seed=g1).lighting_power.equals(first.lighting_power)

    def test_fixing_one_column_leaves_the_others(self, stickfit: GeneratorSpec) -> None:
        base = sample(stickfit, 300, seed=4)
        for value in (5.0, [1.0, 2.0], normal(400, 20), lambda rng, n: rng.uniform(0, 1, n)):
            other = sample(stickfit, 300, seed=4, fixed={"lighting_power": value})
            pd.testing.assert_frame_equal(other.drop(columns="lighting_power"), base.drop(columns="lighting_power"))

    def test_a_row_depends_only_on_its_position(self, stickfit: GeneratorSpec) -> None:
        # Fixing a column for the first rows only changes nothing elsewhere: streams are per column.
        a = sample(stickfit, 50, seed=8, constraints=STICKFIT_CONSTRAINTS)
        b = sample(stickfit, 80, seed=8, constraints=STICKFIT_CONSTRAINTS)
        assert a.equals(b.iloc[:50])


class TestOverrides:
    @pytest.mark.parametrize(("name", "value", "dtype", "check"), [
        ("num_reps", 7, "int64", lambda s: (s == 7).all()),
        ("scene", "GYM_1", "category", lambda s: (s == "GYM_1").all()),
        ("frame_rate", [24, 30], "int64", lambda s: set(s) == {24, 30}),
        ("lighting_power", uniform(10, 1000), "float64", lambda s: s.between(10, 1000).all()),
        ("num_reps", integers(1, 10), "int64", lambda s: s.between(1, 10).all() and s.nunique() == 10),
        ("relative_height", normal(0, 1), "float64", lambda s: s.between(-4, 4).all() and abs(s.mean()) < 0.2),
        ("lighting_power", normal(400, 20), "float64", lambda s: s.between(0, 2000).all()),
        ("gender", choice(["MALE", "FEMALE"], p=[0.9, 0.1]), "category", lambda s: (s == "MALE").mean() > 0.8),
        ("camera_height", scipy.stats.norm(1.0, 0.2), "float64", lambda s: abs(s.mean() - 1.0) < 0.05),
        ("num_reps", scipy.stats.norm(3, 0.5), "int64", lambda s: s.between(1, 20).all()),
        ("camera_height", lambda rng, n: rng.uniform(0.5, 1.0, n), "float64", lambda s: s.between(0.5, 1).all()),
        ("add_wall_art", True, "bool", lambda s: s.all()),
        ("state", ["3f2a", "77bc"], "object", lambda s: set(s) == {"3f2a", "77bc"}),
    ])
    def test_override_kinds(self, stickfit: GeneratorSpec, name: str, value: Any, dtype: str, check: Any) -> None:
        df = sample(stickfit, 500, seed=2, fixed={name: value})
        assert str(df[name].dtype) == dtype
        assert check(df[name])
        assert_valid(df, "stickfit-v0.1.0")

    @pytest.mark.parametrize("method", ["lhs", "sobol"])
    def test_overrides_with_designs(self, stickfit: GeneratorSpec, method: str) -> None:
        df = sample(stickfit, 200, seed=2, method=method,
                    fixed={"lighting_power": normal(400, 20), "num_reps": scipy.stats.norm(3, 0.5),
                           "camera_height": lambda rng, n: rng.uniform(0.5, 1.0, n), "scene": "GYM_1"})
        assert_valid(df, "stickfit-v0.1.0")

    def test_unknown_name_suggests(self, stickfit: GeneratorSpec) -> None:
        with pytest.raises(ValueError, match="did you mean 'lighting_power'"):
            sample(stickfit, 5, fixed={"lightng_power": 100.0})

    def test_invalid_values(self, stickfit: GeneratorSpec) -> None:
        with pytest.raises(ValidationError, match="image_width must be between 128 and 512"):
            sample(stickfit, 5, fixed={"image_width": 2000})
        with pytest.raises(ValidationError, match=r"lighting_power: .* drawn values are not allowed") as info:
            sample(stickfit, 100, seed=1, fixed={"lighting_power": normal(0, 10, clip=False)})
        assert set(info.value.failure_cases.columns) == {"row", "column", "check", "value", "message"}
        with pytest.raises(ValidationError, match="camera_height"):
            sample(stickfit, 10, fixed={"camera_height": lambda rng, n: np.full(n, 9.0)})


class TestConstraints:
    def test_generator_constraints_hold(self, stickfit: GeneratorSpec, shapes: GeneratorSpec) -> None:
        for method in METHODS:
            a = sample(stickfit, 2000, seed=1, method=method)
            assert (a.inter_rep_delay_var <= a.inter_rep_delay_avg).all()
            b = sample(shapes, 2000, seed=1, method=method)
            assert (b.min_size <= b.max_size).all()

    @pytest.mark.parametrize("method", METHODS)
    def test_user_constraints_hold(self, stickfit: GeneratorSpec, method: str) -> None:
        def camera_low(df: pd.DataFrame) -> pd.Series:
            return df.camera_height <= df.camera_distance / 2

        df = sample(stickfit, 2000, seed=3, method=method, constraints=[*STICKFIT_CONSTRAINTS, camera_low],
                    prior="uniform")
        assert (df.image_width == df.image_height).all()
        assert df.image_width.nunique() > 100  # square, yet spread over the whole range
        assert (df.inter_rep_delay_avg + df.inter_rep_delay_var <= 1.5).all()
        assert (df.inter_rep_delay_var <= df.inter_rep_delay_avg).all()
        assert camera_low(df).all()
        assert_valid(df.head(300), "stickfit-v0.1.0")

    def test_single_constraint_may_be_passed_bare(self, stickfit: GeneratorSpec) -> None:
        df = sample(stickfit, 300, seed=3, constraints="camera_height <= 1")
        assert (df.camera_height <= 1).all()

    def test_equality_copies_a_given_side(self, stickfit: GeneratorSpec) -> None:
        df = sample(stickfit, 300, seed=3, constraints=["image_width == image_height"],
                    fixed={"image_height": [256, 512]})
        assert (df.image_width == df.image_height).all() and set(df.image_width) == {256, 512}
        df = sample(stickfit, 300, seed=3, constraints=["image_width == image_height"], fixed={"image_width": 300})
        assert (df.image_height == 300).all()

    def test_equality_on_different_ranges_uses_the_overlap(self, shapes: GeneratorSpec) -> None:
        df = sample(shapes, 500, seed=3, constraints=["min_size == max_size"])
        assert (df.min_size == df.max_size).all() and df.max_size.max() <= 0.5
        assert_valid(df.head(100), "shapes-v0.1.0")

    def test_fixed_sides_that_cannot_meet(self, stickfit: GeneratorSpec) -> None:
        with pytest.raises(ValidationError, match=r"'user_constraint_0' \(image_width == image_height\) fails on 5"):
            sample(stickfit, 5, seed=1, constraints=["image_width == image_height"],
                   fixed={"image_width": 128, "image_height": 256})

    def test_hopeless_acceptance_rate_is_reported(self, stickfit: GeneratorSpec) -> None:
        with pytest.raises(ValidationError, match=r"still fails on \d+ of 50 rows after 5 rounds.*%") as info:
            sample(stickfit, 50, seed=1, max_rounds=5, constraints=["image_width == image_height"],
                   fixed={"image_width": integers(128, 512), "image_height": integers(128, 512)})
        assert "Loosen" in str(info.value)
        assert "user_constraint_0" in set(info.value.failure_cases.check)

    def test_impossible_with_sampled_values(self, stickfit: GeneratorSpec) -> None:
        with pytest.raises(ValidationError, match="inter_rep_delay_spread") as info:
            sample(stickfit, 20, seed=1, max_rounds=10, fixed={"inter_rep_delay_avg": 0.0})
        assert "advisory=False" in str(info.value)  # the constraint only advises, and says how to drop it
        df = sample(stickfit, 20, seed=1, max_rounds=10, fixed={"inter_rep_delay_avg": 0.0}, advisory=False)
        assert (df.inter_rep_delay_var > 0).all()
        assert_valid(df, "stickfit-v0.1.0")


class TestAdvisoryConstraints:
    """The built-in generators' joint constraints advise: samplers honour them, nothing refuses a job."""

    @pytest.mark.parametrize(("generator", "expr"), [("stickfit-v0.1.0", "inter_rep_delay_var <= inter_rep_delay_avg"),
                                                     ("shapes-v0.1.0", "min_size <= max_size")])
    def test_honoured_by_default_and_switched_off(self, generator: str, expr: str) -> None:
        spec = GeneratorSpec.from_metadata(_meta(generator))
        assert spec.constraints == () and [c.expr for c in spec.advisory] == [expr]
        honoured = sample(spec, 2000, seed=5)
        assert honoured.eval(expr).all()
        free = sample(spec, 2000, seed=5, advisory=False)
        broken = free[~free.eval(expr)]
        assert 0.1 < len(broken) / len(free) < 0.9  # drawn independently, as infinity-core draws them
        assert_valid(broken, generator)  # and every one is a job the service takes

    def test_fill_has_the_same_switch(self, stickfit: GeneratorSpec) -> None:
        given = pd.DataFrame({"inter_rep_delay_avg": [0.5] * 200})
        assert (fill(given, stickfit, seed=2).inter_rep_delay_var <= 0.5).all()
        assert (fill(given, stickfit, seed=2, advisory=False).inter_rep_delay_var > 0.5).any()

    def test_user_constraints_keep_their_numbers(self, stickfit: GeneratorSpec) -> None:
        with pytest.raises(ValidationError) as info:
            sample(stickfit, 20, seed=1, max_rounds=3, constraints=["num_reps > 30"])
        assert "user_constraint_0" in set(info.value.failure_cases.check)  # not _1: the advisory one is named

    def test_unknown_name_in_expression(self, stickfit: GeneratorSpec) -> None:
        with pytest.raises(ValueError, match="did you mean 'image_width'"):
            sample(stickfit, 5, constraints=["image_widht == image_height"])


class TestCodedStrings:
    """String choices are drawn as indexes and turned into strings once, at the end: the frame
    is the very one drawing the strings themselves gives, re-draws and designs included."""

    @pytest.mark.parametrize("method", METHODS)
    def test_the_same_frame_as_drawing_strings(self, stickfit: GeneratorSpec, method: str) -> None:
        # A quarter of the rows break it at first: scene and gender are re-drawn, round after round.
        constraints = ["scene != 'GYM_1' or gender == 'FEMALE'"]
        weighted = choice(["GYM_1", "OFFICE_1", "BEDROOM_2"], p=[0.5, 0.3, 0.2])
        coded: dict[str, Any] = {"scene": as_sampler(weighted, stickfit["scene"])}
        assert coded["scene"].pool is not None and default_sampler(stickfit["gender"]).pool is not None
        plain = {name: dataclasses.replace(default_sampler(stickfit[name]), pool=None, codes=None)
                 for name in ("exercise", "gender", "wall_art_type")}
        plain["scene"] = dataclasses.replace(coded["scene"], pool=None, codes=None)
        df = sample(stickfit, 200, seed=3, method=method, constraints=constraints, fixed=coded)
        drawn = sample(stickfit, 200, seed=3, method=method, constraints=constraints, fixed=plain)
        pd.testing.assert_frame_equal(df, drawn)
        assert not ((df.scene == "GYM_1") & (df.gender == "MALE")).any()
        assert df.scene.dtype == choice_dtype(stickfit["scene"]) and set(df.scene) == {"GYM_1", "OFFICE_1", "BEDROOM_2"}

    def test_given_cells_are_kept(self, stickfit: GeneratorSpec) -> None:
        jobs = pd.DataFrame({"scene": ["GYM_1", None, None, "OFFICE_1"] * 25})
        out = fill(jobs, stickfit, seed=4, constraints=["scene != 'BEDROOM_2'"])
        assert out.scene[::4].eq("GYM_1").all() and out.scene[3::4].eq("OFFICE_1").all()
        assert out.scene.dtype == choice_dtype(stickfit["scene"]) and "BEDROOM_2" not in set(out.scene)


class TestDesigns:
    def test_lhs_puts_one_row_in_each_stratum(self, stickfit: GeneratorSpec, shapes: GeneratorSpec) -> None:
        df = sample(stickfit, 50, seed=6, method="lhs", prior="uniform")
        for name in ("camera_distance", "lighting_power", "relative_avatar_angle_deg"):
            p = stickfit[name]
            assert (unit_bins(df[name], p.min, p.max, 50) == 1).all(), name  # type: ignore[arg-type]
        df = sample(shapes, 50, seed=6, method="lhs", prior="uniform")
        assert (unit_bins(df.lighting_power, 0, 2000, 50) == 1).all()

    def test_lhs_stratifies_integers_and_choices(self, stickfit: GeneratorSpec) -> None:
        df = sample(stickfit, 100, seed=6, method="lhs", prior="uniform")
        assert (df.num_reps.value_counts() == 5).all()
        assert (df.gender.value_counts() == 50).all()
        assert (df.scene.value_counts() == 20).all()

    def test_sobol_is_balanced(self, stickfit: GeneratorSpec) -> None:
        df = sample(stickfit, 64, seed=6, method="sobol", prior="uniform")
        for name in ("camera_distance", "camera_height", "lighting_power"):
            p = stickfit[name]
            assert (unit_bins(df[name], p.min, p.max, 64) == 1).all(), name  # type: ignore[arg-type]
        assert (df.add_wall_art.value_counts() == 32).all()


class TestFill:
    def test_fills_missing_columns_and_cells_only(self, stickfit: GeneratorSpec) -> None:
        jobs = pd.DataFrame({"num_reps": [3, None, 5, None], "scene": ["GYM_1", None, None, "OFFICE_1"],
                             "note": ["a", "b", "c", "d"]}, index=[10, 10, 11, 12])
        before = jobs.copy()
        out = fill(jobs, stickfit, seed=1)
        pd.testing.assert_frame_equal(jobs, before)
        assert list(out.columns[:3]) == ["num_reps", "scene", "note"]
        assert set(out.columns) == {*stickfit.names, "note"}
        assert out.num_reps.iloc[[0, 2]].tolist() == [3, 5] and out.num_reps.dtype == np.int64
        assert out.scene.iloc[[0, 3]].tolist() == ["GYM_1", "OFFICE_1"] and out.scene.notna().all()
        assert out.note.tolist() == ["a", "b", "c", "d"] and out.index.tolist() == [10, 10, 11, 12]
        assert_valid(out.drop(columns="note"), "stickfit-v0.1.0")

    def test_reproducible_and_positional(self, stickfit: GeneratorSpec) -> None:
        jobs = pd.DataFrame({"lighting_power": [100.0, np.nan, np.nan]})
        a, b = fill(jobs, stickfit, seed=3), fill(jobs, stickfit, seed=3)
        pd.testing.assert_frame_equal(a, b)
        # A filled cell is what sample() draws at that position.
        drawn = sample(stickfit, 3, seed=3)
        assert a.lighting_power.iloc[1:].tolist() == drawn.lighting_power.iloc[1:].tolist()
        assert a.camera_distance.tolist() == drawn.camera_distance.tolist()

    def test_constraints_only_move_filled_cells(self, stickfit: GeneratorSpec) -> None:
        jobs = pd.DataFrame({"inter_rep_delay_avg": [0.2] * 200})
        out = fill(jobs, stickfit, seed=2)
        assert (out.inter_rep_delay_avg == 0.2).all() and (out.inter_rep_delay_var <= 0.2).all()

    def test_equality_copies_the_given_side(self, stickfit: GeneratorSpec) -> None:
        jobs = pd.DataFrame({"image_width": [300, None, None], "image_height": [None, 200, None]})
        out = fill(jobs, stickfit, seed=2, constraints=["image_width == image_height"])
        assert out.image_width.tolist()[:2] == [300, 200] and (out.image_width == out.image_height).all()

    def test_given_rows_breaking_a_constraint_are_left_for_validate(self, stickfit: GeneratorSpec) -> None:
        jobs = pd.DataFrame({"inter_rep_delay_avg": [0.1], "inter_rep_delay_var": [0.5]})
        out = fill(jobs, stickfit, seed=2)
        assert out.inter_rep_delay_var.tolist() == [0.5]

    def test_complete_frame_is_unchanged(self, stickfit: GeneratorSpec) -> None:
        df = sample(stickfit, 20, seed=1)
        pd.testing.assert_frame_equal(fill(df, stickfit, seed=99), df)

    @pytest.mark.parametrize("method", ["lhs", "sobol"])
    def test_designs(self, stickfit: GeneratorSpec, method: str) -> None:
        out = fill(pd.DataFrame({"scene": ["GYM_1"] * 64}), stickfit, seed=1, method=method, prior="uniform")
        assert (unit_bins(out.lighting_power, 0, 2000, 64) == 1).all()  # LHS strata; Sobol at a power of 2
        assert (out.scene == "GYM_1").all()
        assert_valid(out, "stickfit-v0.1.0")


class TestGrid:
    def test_sizes_and_order(self, stickfit: GeneratorSpec) -> None:
        g = grid(stickfit, num_reps=[1, 2, 3], gender=["MALE", "FEMALE"], lighting_power=100.0)
        assert len(g) == 6 and list(g.columns) == ["num_reps", "gender", "lighting_power"]
        assert g.num_reps.tolist() == [1, 1, 2, 2, 3, 3]
        assert g.gender.tolist() == ["MALE", "FEMALE"] * 3
        dtypes = (str(g.num_reps.dtype), str(g.gender.dtype), str(g.lighting_power.dtype))
        assert dtypes == ("int64", "category", "float64")

    def test_axis_kinds(self, stickfit: GeneratorSpec) -> None:
        g = grid(stickfit, frame_rate=np.array([24, 30]), camera_height=pd.Series([0.5, 1]), num_reps=range(1, 4))
        assert len(g) == 12 and g.camera_height.dtype == np.float64
        assert len(grid(stickfit, num_reps=[])) == 0
        assert grid(stickfit).shape == (1, 0)

    def test_unknown_axis_and_bad_values(self, stickfit: GeneratorSpec) -> None:
        with pytest.raises(ValueError, match="did you mean 'num_reps'"):
            grid(stickfit, num_rep=[1, 2])
        with pytest.raises(ValidationError, match="num_reps must be between 1 and 20"):
            grid(stickfit, num_reps=[1, 50])
        with pytest.raises(ValueError, match="needs values"):
            grid(stickfit, lighting_power=uniform(0, 1))

    def test_completed_grid_is_valid(self, stickfit: GeneratorSpec) -> None:
        g = with_defaults(grid(stickfit, num_reps=[1, 20], scene=list(stickfit["scene"].choices or ())), stickfit)
        assert len(g) == 10
        assert_valid(g, "stickfit-v0.1.0")


class TestWithDefaults:
    def test_adds_columns_and_fills_cells(self, shapes: GeneratorSpec) -> None:
        jobs = pd.DataFrame({"num_objects": [3, None], "background": [None, "NOISE"], "tag": ["x", "y"]})
        before = jobs.copy()
        out = with_defaults(jobs, shapes)
        pd.testing.assert_frame_equal(jobs, before)
        assert out.num_objects.tolist() == [3, 5] and out.num_objects.dtype == np.int64
        assert out.background.tolist() == ["PLAIN", "NOISE"]
        assert out.state.tolist() == [None, None] and out.state.dtype == object
        assert list(out.columns[:3]) == ["num_objects", "background", "tag"]
        assert_valid(out.drop(columns="tag"), "shapes-v0.1.0")

    def test_empty_frame(self, shapes: GeneratorSpec) -> None:
        out = with_defaults(pd.DataFrame(), shapes)
        assert len(out) == 0 and list(out.columns) == shapes.names


def check_random_case(n: int, seed: int, method: str, generator: str) -> None:
    spec = GeneratorSpec.from_metadata(_meta(generator))
    constraints = ["image_width == image_height"]
    if generator == "stickfit-v0.1.0":
        constraints.append("inter_rep_delay_avg + inter_rep_delay_var <= 1.5")
    df = sample(spec, n, seed=seed, method=method, constraints=constraints)
    assert len(df) == n and list(df.columns) == spec.names
    for expr in constraints + [c.expr for c in spec.constraints]:
        assert df.eval(expr).all()
    assert_valid(df, generator)


try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # hypothesis is a dev extra; without it, a fixed set of random cases stands in
    _rng = np.random.default_rng(2024)
    CASES = [(int(_rng.integers(0, 301)), int(_rng.integers(0, 2**40)), METHODS[i % 3], GENERATORS[i % 2])
             for i in range(24)]

    class TestProperties:
        @pytest.mark.parametrize(("n", "seed", "method", "generator"), CASES)
        def test_rows_valid_and_constraints_hold(self, n: int, seed: int, method: str, generator: str) -> None:
            check_random_case(n, seed, method, generator)
else:
    class TestProperties:  # type: ignore[no-redef]
        @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(n=st.integers(0, 300), seed=st.integers(0, 2**40), method=st.sampled_from(METHODS),
               generator=st.sampled_from(GENERATORS))
        def test_rows_valid_and_constraints_hold(self, n: int, seed: int, method: str, generator: str) -> None:
            check_random_case(n, seed, method, generator)


@pytest.mark.parametrize(("n", "d", "seed"), [(1, 1, 0), (12, 6, 0), (7, 30, 3), (200, 4, 11)])
def test_latin_hypercube_draws_exactly_what_scipy_draws(n: int, d: int, seed: int) -> None:
    from scipy.stats import qmc

    from infinityframe.params._draw import latin_hypercube

    ours = latin_hypercube(np.random.default_rng(seed), n, d)
    try:
        engine = qmc.LatinHypercube(d, rng=np.random.default_rng(seed))
    except TypeError:  # scipy < 1.15 calls it seed
        engine = qmc.LatinHypercube(d, seed=np.random.default_rng(seed))
    np.testing.assert_array_equal(ours, engine.random(n))
    strata = np.sort(np.floor(ours * n), axis=0)
    np.testing.assert_array_equal(strata, np.tile(np.arange(n)[:, None], (1, d)))  # each stratum once per column


def test_a_latin_hypercube_sample_loads_no_scipy() -> None:
    import subprocess
    import sys

    # Over the whole ranges (prior='uniform'): the hypercube itself is numpy's. The recommended
    # prior's normals (stickfit's relative height and weight) need scipy.special's inverse CDF.
    code = ("import sys, infinityframe as inf\n"
            "from infinityframe.local.generators import get\n"
            "from infinityframe.params.sampling import sample\n"
            "from infinityframe.params.spec import GeneratorSpec\n"
            "spec = GeneratorSpec.from_metadata(get('stickfit-v0.1.0').metadata())\n"
            "frame = sample(spec, 12, seed=0, method='lhs', prior='uniform')\n"
            "print(len(frame), 'scipy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["12", "False"]
