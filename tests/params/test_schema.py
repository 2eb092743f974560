"""The parameter schemas and the failure table, on the built-in generators' real metadata.

Every frame goes through both backends: ``failures()`` checks that the pandas frame and its
polars copy give the same table before returning it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pandera.polars as pap
import polars as pl
import pytest
from pandera.errors import SchemaErrors

from _frames import as_rules, to_polars
from infinityframe.errors import ValidationError
from infinityframe.local.generators import get
from infinityframe.params.rules import validate_job, validate_jobs
from infinityframe.params.sampling import sample
from infinityframe.params.schema import build_polars_schema, build_schema, failure_cases, validate_frame
from infinityframe.params.spec import PACKAGE_COLUMNS, Constraint, GeneratorSpec, ParamSpec

# The joint constraints machinery, on the built-in generators declaring theirs as rules.
STICKFIT_META = as_rules(get("stickfit-v0.1.0").metadata())
STICKFIT = GeneratorSpec.from_metadata(STICKFIT_META)
SHAPES = GeneratorSpec.from_metadata(as_rules(get("shapes-v0.1.0").metadata()))




def failures(df: pd.DataFrame, spec: GeneratorSpec = STICKFIT, constraints: Any = ()) -> pd.DataFrame:
    """The pandas failure table, after checking that polars gives the very same one."""
    found = failure_cases(df, spec, constraints)
    if df.columns.is_unique:
        pd.testing.assert_frame_equal(failure_cases(to_polars(df), spec, constraints), found)
    return found


def cells(found: pd.DataFrame) -> list[tuple[int, str, str]]:
    return list(zip(found["row"].tolist(), found["column"].tolist(), found["check"].tolist(), strict=True))


def defaults(n: int = 4, spec: GeneratorSpec = STICKFIT) -> pd.DataFrame:
    return pd.DataFrame([spec.defaults] * n)


def with_column(df: pd.DataFrame, name: str, values: list[Any]) -> pd.DataFrame:
    """``df`` with one column replaced by a list (pandas infers its dtype: object when mixed)."""
    return df.assign(**{name: pd.Series(values, dtype=object).infer_objects() if values else values})


class TestBuildSchema:
    def test_a_pandera_schema_named_after_the_generator(self) -> None:
        schema = build_schema(STICKFIT)
        assert isinstance(schema, pa.DataFrameSchema)
        assert schema.name == "stickfit-v0.1.0"
        assert schema.strict is True
        assert set(STICKFIT.names) <= set(schema.columns)
        assert all(not column.required for column in schema.columns.values())

    def test_dtypes_nullability_and_checks(self) -> None:
        columns = build_schema(STICKFIT).columns
        assert str(columns["num_reps"].dtype) == "int64"
        assert str(columns["camera_distance"].dtype) == "float64"
        assert str(columns["add_wall_art"].dtype) == "bool"
        assert str(columns["scene"].dtype).startswith("str")
        assert columns["state"].nullable and not columns["camera_distance"].nullable
        assert [c.name for c in columns["camera_distance"].checks] == ["in_range"]
        assert [c.name for c in columns["scene"].checks] == ["isin"]
        assert [c.name for c in columns["frame_rate"].checks] == ["isin"]
        assert "between 1.0 and 5.25" in columns["camera_distance"].checks[0].error

    def test_package_columns_are_allowed(self) -> None:
        schema = build_schema(STICKFIT)
        assert set(PACKAGE_COLUMNS) <= set(schema.columns)
        df = defaults().assign(job_id="j", valid=True, estimated_samples=3)
        assert len(schema.validate(df)) == 4

    def test_constraints_are_frame_wide_checks(self) -> None:
        schema = build_schema(STICKFIT, ["image_width == image_height", lambda df: df.num_reps < 10])
        names = [check.name for check in schema.checks]
        assert names == ["inter_rep_delay_spread", "user_constraint_0", "user_constraint_1"]
        assert all(not check.element_wise for check in schema.checks)
        assert "clips some pauses" in schema.checks[0].error

    def test_validate_works_directly(self) -> None:
        schema = build_schema(STICKFIT)
        out = schema.validate(defaults().assign(num_reps=[1.0, 2.0, 3.0, 4.0]))
        assert out["num_reps"].dtype == np.int64
        with pytest.raises(pa.errors.SchemaErrors):
            schema.validate(defaults().assign(num_reps=[1.0, 2.5, 3.0, 4.0]), lazy=True)
        with pytest.raises(pa.errors.SchemaErrors):
            schema.validate(defaults().assign(inter_rep_delay_var=1.5), lazy=True)
        with pytest.raises(pa.errors.SchemaErrors):
            schema.validate(defaults().assign(bogus=1), lazy=True)

    def test_constraint_with_missing_column_uses_default_in_the_schema(self) -> None:
        schema = build_schema(STICKFIT)
        schema.validate(pd.DataFrame({"inter_rep_delay_var": [0.5]}))  # default avg 0.5
        with pytest.raises(pa.errors.SchemaError):
            schema.validate(pd.DataFrame({"inter_rep_delay_var": [0.6]}))

    def test_polars_schema(self) -> None:
        schema = build_polars_schema(STICKFIT)
        assert isinstance(schema, pap.DataFrameSchema)
        assert schema.name == "stickfit-v0.1.0" and schema.strict is True
        frame = pl.from_pandas(defaults()).with_columns(state=pl.lit(None, dtype=pl.String))
        assert schema.validate(frame).shape == frame.shape
        with pytest.raises(pap.errors.SchemaErrors):
            schema.validate(frame.with_columns(inter_rep_delay_var=pl.lit(1.5)), lazy=True)
        with pytest.raises(pap.errors.SchemaErrors):
            schema.validate(frame.with_columns(bogus=pl.lit(1)), lazy=True)


class TestValidFrames:
    def test_defaults_repeated(self) -> None:
        found = failures(defaults(50))
        assert found.empty
        assert list(found.columns) == ["row", "column", "check", "value", "message"]
        assert found["row"].dtype == np.int64 and found["value"].dtype == object

    @pytest.mark.parametrize("spec", [STICKFIT, SHAPES], ids=["stickfit", "shapes"])
    def test_both_generators(self, spec: GeneratorSpec) -> None:
        assert failures(defaults(3, spec), spec).empty

    def test_empty_frames(self) -> None:
        assert failures(defaults(0)).empty
        assert failure_cases(pd.DataFrame(), STICKFIT).empty
        assert failure_cases(pl.DataFrame(), STICKFIT).empty
        assert len(validate_frame(defaults(0), STICKFIT)) == 0

    def test_missing_columns_take_defaults(self) -> None:
        assert failures(pd.DataFrame({"scene": ["GYM_1", "OFFICE_1"], "num_reps": [3, 20]})).empty

    def test_bounds_are_inclusive(self) -> None:
        df = pd.DataFrame({"camera_distance": [1.0, 5.25], "num_reps": [1, 20], "relative_height": [-4.0, 4.0]})
        assert failures(df).empty

    def test_package_columns(self) -> None:
        df = defaults(2).assign(job_id=["a", "b"], batch_id="b", valid=True, problem=None, estimated_samples=4)
        assert failures(df).empty

    def test_uuid_state_accepts_none_and_strings(self) -> None:
        assert failures(with_column(defaults(3), "state", [None, "9b2f4c1e-0000-4000-8000-000000000000", None])).empty
        assert failures(with_column(defaults(2), "state", [None, None])).empty
        assert failures(defaults(2).assign(state=np.nan)).empty

    def test_a_million_rows(self) -> None:
        df = defaults(1).loc[np.zeros(1_000_000, dtype=np.int64)].reset_index(drop=True)
        df["state"] = pd.Series(None, index=df.index, dtype="str")
        for frame in (df, pl.from_pandas(df)):
            assert failure_cases(frame, STICKFIT).empty


class TestOneBackend:
    """Frames and lists of jobs go through one backend (params/checks.py); ``sesh.schema`` is
    pandera's form of the same rules and agrees. (For every frame: test_schema_properties.py.)"""

    def test_a_valid_sample(self) -> None:
        df = sample(STICKFIT, 3_000, seed=2)
        for frame in (df, pl.from_pandas(df), df.astype({"scene": "category", "gender": "category"})):
            assert failure_cases(frame, STICKFIT).empty
        assert all(errors == [] for _, errors in validate_jobs(STICKFIT, df.to_dict(orient="records")))
        # The schema users call themselves, pandera through and through, agrees.
        build_schema(STICKFIT).validate(df, lazy=True)
        build_polars_schema(STICKFIT).validate(pl.from_pandas(validate_frame(df, STICKFIT)), lazy=True)

    @pytest.mark.parametrize(("column", "value", "check"), [
        ("num_reps", 21, "in_range"), ("lighting_power", -0.5, "in_range"), ("scene", "ATTIC", "isin"),
        ("frame_rate", 25, "isin"), ("inter_rep_delay_var", 1.9, "inter_rep_delay_spread")])
    def test_one_broken_rule(self, column: str, value: Any, check: str) -> None:
        df = sample(STICKFIT, 3_000, seed=2)
        if isinstance(df[column].dtype, pd.CategoricalDtype):  # a sampled choice column: the value as a category
            df[column] = df[column].cat.add_categories([value])
        df.loc[2345, column] = value
        if column == "inter_rep_delay_var":
            df.loc[2345, "inter_rep_delay_avg"] = 1.0
            column = "inter_rep_delay_avg"  # a constraint's failure names its first parameter
        found = failure_cases(df, STICKFIT)
        assert cells(found) == [(2345, column, check)]
        pd.testing.assert_frame_equal(failure_cases(pl.from_pandas(df), STICKFIT), found)
        jobs = validate_jobs(STICKFIT, df.to_dict(orient="records"))
        assert [(e["job"], e["param"], e["check"], e["message"]) for _, errors in jobs for e in errors] == [
            (2345, column, check, found["message"].iloc[0])]
        with pytest.raises(SchemaErrors):
            build_schema(STICKFIT).validate(df, lazy=True)


class TestCoercion:
    def test_whole_floats_become_int64(self) -> None:
        df = defaults(3).assign(num_reps=[1.0, 2.0, 20.0])
        out = validate_frame(df, STICKFIT)
        assert out["num_reps"].dtype == np.int64 and out["num_reps"].tolist() == [1, 2, 20]
        assert df["num_reps"].dtype == np.float64  # the input is left alone
        polars = validate_frame(pl.from_pandas(df), STICKFIT)
        assert polars["num_reps"].dtype == pl.Int64 and polars["num_reps"].to_list() == [1, 2, 20]

    def test_ints_become_float64(self) -> None:
        out = validate_frame(defaults(2).assign(camera_distance=[2, 3]), STICKFIT)
        assert out["camera_distance"].dtype == np.float64
        polars = validate_frame(pl.DataFrame({"camera_distance": [2, 3]}), STICKFIT)
        assert polars["camera_distance"].dtype == pl.Float64

    def test_object_strings_become_str(self) -> None:
        df = pd.DataFrame({"scene": pd.Series(["GYM_1", "OFFICE_1"], dtype=object),
                           "state": pd.Series([None, "abc"], dtype=object)})
        out = validate_frame(df, STICKFIT)
        assert str(out["scene"].dtype) == "str"
        # A job id stays an object column of str or None, as sample() makes it: None is JSON's null.
        assert out["state"].dtype == object and out["state"].tolist() == [None, "abc"]

    def test_a_valid_job_id_column_is_kept_as_it_is(self) -> None:
        for state in (pd.Series([None, "abc"], dtype="str"), pd.Series([float("nan"), "abc"], dtype=object)):
            df = pd.DataFrame({"state": state})
            pd.testing.assert_frame_equal(validate_frame(df, STICKFIT), df)

    def test_a_job_id_column_of_categories_becomes_objects(self) -> None:
        df = pd.DataFrame({"state": pd.Series([None, "abc"], dtype="category")})
        out = validate_frame(df, STICKFIT)
        assert out["state"].dtype == object and out["state"].tolist() == [None, "abc"]

    def test_index_columns_and_attrs_are_kept(self) -> None:
        df = defaults(2).assign(num_reps=[3.0, 4.0], job_id=["x", "y"]).set_axis(["a", "b"])
        df.attrs["infinity"] = {"generator": "stickfit-v0.1.0"}
        out = validate_frame(df, STICKFIT)
        assert list(out.index) == ["a", "b"] and list(out.columns) == list(df.columns)
        assert out.attrs == df.attrs
        assert out is not df

    @pytest.mark.parametrize("dtype", ["int8", "uint16", "Int64", "int32[pyarrow]"])
    def test_other_integer_dtypes(self, dtype: str) -> None:
        df = pd.DataFrame({"num_reps": pd.Series([3, 20], dtype=dtype), "image_width": pd.Series([128, 127])})
        assert cells(failures(df)) == [(1, "image_width", "in_range")]
        assert validate_frame(df.iloc[:1], STICKFIT)["num_reps"].dtype == np.int64

    def test_huge_unsigned_ints_do_not_wrap(self) -> None:
        df = pd.DataFrame({"num_reps": pd.Series([3, 2**64 - 1], dtype="uint64")})
        assert cells(failure_cases(df, STICKFIT)) == [(1, "num_reps", "dtype")]

    def test_categorical_and_nullable_strings(self) -> None:
        df = pd.DataFrame({"scene": pd.Categorical(["GYM_1", "OFFICE_1"]),
                           "gender": pd.Series(["MALE", "FEMALE"], dtype="string")})
        out = validate_frame(df, STICKFIT)
        # Each keeps its dtype: a Categorical of allowed text stays one (its categories unchanged).
        assert str(out["gender"].dtype) == "str"
        pd.testing.assert_series_equal(out["scene"], df["scene"])
        frame = pl.DataFrame({"scene": ["GYM_1", "MOON"]}, schema={"scene": pl.Categorical})
        assert cells(failure_cases(frame, STICKFIT)) == [(1, "scene", "isin")]

    def test_a_fraction_is_not_an_int(self) -> None:
        assert cells(failures(defaults(2).assign(num_reps=[3.0, 3.5]))) == [(1, "num_reps", "dtype")]

    def test_valid_frames_come_back_unchanged(self) -> None:
        df = defaults(3)
        df["state"] = pd.Series([None, "a", "b"], dtype="str")
        pd.testing.assert_frame_equal(validate_frame(df, STICKFIT), df)
        frame = pl.from_pandas(df)
        assert validate_frame(frame, STICKFIT).equals(frame)


class TestTypeTraps:
    def test_mixed_object_column_reports_each_cell(self) -> None:
        found = failures(with_column(defaults(3), "num_reps", [1, "2.5", 3.5]))
        assert cells(found) == [(1, "num_reps", "dtype"), (2, "num_reps", "dtype")]
        assert found["value"].tolist() == ["2.5", 3.5]
        assert found["message"][0].startswith("row 1, num_reps: must be an integer")
        assert "'2.5'" in found["message"][0] and "A valid integer is required." in found["message"][0]

    def test_a_column_of_numeric_strings_is_read_as_numbers(self) -> None:
        # As the service (DRF) reads them: see tests/params/test_drf_numbers.py.
        checked = validate_frame(defaults(3).assign(num_reps=["3", "4", "5"]), STICKFIT)
        assert checked["num_reps"].tolist() == [3, 4, 5] and checked["num_reps"].dtype == "int64"

    @pytest.mark.parametrize("value", ["false", "true", 1, 0, "True"])
    def test_bool_traps(self, value: Any) -> None:
        found = failures(with_column(defaults(3), "add_wall_art", [True, value, False]))
        assert cells(found) == [(1, "add_wall_art", "dtype")]
        assert found["value"][0] == value and type(found["value"][0]) is type(value)

    def test_a_bool_is_not_a_number(self) -> None:
        assert cells(failures(defaults(2).assign(camera_distance=[True, False]))) == [
            (0, "camera_distance", "dtype"), (1, "camera_distance", "dtype")]
        assert cells(failures(with_column(defaults(2), "num_reps", [3, True]))) == [(1, "num_reps", "dtype")]

    def test_a_number_is_not_a_string(self) -> None:
        found = failures(with_column(defaults(2), "scene", ["GYM_1", 3]))
        assert cells(found) == [(1, "scene", "dtype")]
        assert cells(failures(with_column(defaults(2), "state", [None, 7]))) == [(1, "state", "dtype")]

    def test_none_for_a_required_value(self) -> None:
        found = failures(with_column(defaults(3), "num_reps", [1, None, 3]))
        assert cells(found) == [(1, "num_reps", "nullable")]
        assert found["value"][0] is None
        assert "may not be null" in found["message"][0]
        assert cells(failures(with_column(defaults(2), "scene", ["GYM_1", None]))) == [(1, "scene", "nullable")]
        assert cells(failures(with_column(defaults(2), "add_wall_art", [None, True]))) == [(0, "add_wall_art",
                                                                                            "nullable")]

    def test_nan_and_infinities(self) -> None:
        found = failures(defaults(4).assign(camera_distance=[2.0, np.nan, np.inf, -np.inf]))
        assert cells(found) == [(1, "camera_distance", "nullable"), (2, "camera_distance", "finite"),
                                (3, "camera_distance", "finite")]
        assert found["value"].tolist() == [None, np.inf, -np.inf]

    def test_a_real_nan_in_polars_is_a_null_too(self) -> None:
        frame = pl.DataFrame({"camera_distance": [2.0, float("nan")]})
        assert cells(failure_cases(frame, STICKFIT)) == [(1, "camera_distance", "nullable")]

    def test_other_dtypes_fail_per_cell(self) -> None:
        df = pd.DataFrame({"num_reps": pd.to_datetime(["2024-01-01", None])})
        assert cells(failure_cases(df, STICKFIT)) == [(0, "num_reps", "dtype"), (1, "num_reps", "nullable")]


class TestRangesAndChoices:
    def test_out_of_range(self) -> None:
        found = failures(defaults(3).assign(camera_distance=[0.5, 3.0, 9.0], num_reps=[2, 21, 0]))
        assert cells(found) == [(0, "camera_distance", "in_range"), (1, "num_reps", "in_range"),
                                (2, "num_reps", "in_range"), (2, "camera_distance", "in_range")]
        assert found["value"].tolist() == [0.5, 21, 0, 9.0]
        assert "between 1.0 and 5.25" in found["message"][0] and "0.5" in found["message"][0]

    def test_one_sided_bounds(self) -> None:
        spec = GeneratorSpec("one-sided", (ParamSpec("low", "int", 1, min=0), ParamSpec("high", "float", 0.0, max=1.0)))
        found = failures(pd.DataFrame({"low": [-1, 0], "high": [2.0, 1.0]}), spec)
        assert cells(found) == [(0, "low", "greater_than_or_equal_to"), (0, "high", "less_than_or_equal_to")]

    def test_unknown_choices(self) -> None:
        found = failures(defaults(3).assign(scene=["GYM_1", "MOON", "OFFICE_1"], frame_rate=[30, 24, 25]))
        assert cells(found) == [(1, "scene", "isin"), (2, "frame_rate", "isin")]
        assert "'MOON'" in found["message"][0] and "GYM_1" in found["message"][0]

    def test_a_nullable_parameter_with_checks(self) -> None:
        spec = GeneratorSpec("nullable", (ParamSpec("seed", "int", None, min=0, max=9),
                                          ParamSpec("flag", "bool", None), ParamSpec("scale", "float", None, max=1.0)))
        df = pd.DataFrame({"seed": [1, None, 12], "flag": [True, None, False], "scale": [np.nan, 0.5, 2.0]})
        assert cells(failures(df, spec)) == [(2, "seed", "in_range"), (2, "scale", "less_than_or_equal_to")]
        out = validate_frame(df.iloc[:2], spec)
        assert str(out["seed"].dtype) == "Int64" and str(out["flag"].dtype) == "boolean"
        assert out["seed"].isna().tolist() == [False, True] and out["scale"].isna().tolist() == [True, False]
        polars = validate_frame(pl.from_pandas(df.iloc[:2]), spec)
        assert polars["seed"].null_count() == 1 and polars["flag"].null_count() == 1


class TestColumns:
    def test_unknown_columns_fail_once_at_row_minus_one(self) -> None:
        found = failures(defaults(3).assign(scnee="GYM_1", zzz=1))
        assert cells(found) == [(-1, "scnee", "unknown_column"), (-1, "zzz", "unknown_column")]
        assert found["value"].isna().all()
        assert "did you mean 'scene'" in found["message"][0]
        assert found["message"][0].startswith("all rows, scnee:")

    def test_duplicated_columns(self) -> None:
        df = pd.concat([defaults(2), defaults(2)[["num_reps"]]], axis=1)
        assert cells(failure_cases(df, STICKFIT)) == [(-1, "num_reps", "duplicate_column")]
        assert "2 times" in failure_cases(df, STICKFIT)["message"][0]

    def test_non_string_labels(self) -> None:
        found = failure_cases(defaults(2).assign(**{"0": 1}).rename(columns={"0": 0}), STICKFIT)
        assert cells(found) == [(-1, "0", "unknown_column")]

    def test_failures_are_sorted_by_row_then_spec_order(self) -> None:
        df = defaults(2).assign(bogus=1, image_height=[999, 128], scene=["MOON", "GYM_1"], num_reps=[0, 0])
        assert cells(failures(df)) == [(-1, "bogus", "unknown_column"), (0, "scene", "isin"),
                                       (0, "num_reps", "in_range"), (0, "image_height", "in_range"),
                                       (1, "num_reps", "in_range")]


class TestConstraints:
    def test_the_generators_constraint(self) -> None:
        df = defaults(4).assign(inter_rep_delay_avg=[0.5, 0.2, 1.0, 0.0], inter_rep_delay_var=[0.5, 0.3, 0.1, 0.1])
        found = failures(df)
        assert cells(found) == [(1, "inter_rep_delay_avg", "inter_rep_delay_spread"),
                                (3, "inter_rep_delay_avg", "inter_rep_delay_spread")]
        assert found["value"][0] == "inter_rep_delay_avg=0.2, inter_rep_delay_var=0.3"
        assert "clips some pauses" in found["message"][0]

    def test_agrees_with_the_services_column(self) -> None:
        df = defaults(2).assign(inter_rep_delay_var=[0.9, 0.1])
        (job_error,) = validate_job(STICKFIT_META, 0, df.iloc[0].to_dict())[1]
        assert cells(failures(df)) == [(0, job_error["param"], "inter_rep_delay_spread")]

    def test_shapes_constraint(self) -> None:
        df = pd.DataFrame({"min_size": [0.1, 0.4], "max_size": [0.3, 0.2]})
        assert cells(failures(df, SHAPES)) == [(1, "min_size", "size_order")]

    def test_a_missing_column_takes_its_default(self) -> None:
        # avg is absent (default 0.5): var 0.6 breaks it, reported at var, the column that is there
        found = failures(pd.DataFrame({"inter_rep_delay_var": [0.4, 0.6]}))
        assert cells(found) == [(1, "inter_rep_delay_var", "inter_rep_delay_spread")]
        assert found["value"][0] == "inter_rep_delay_avg=0.5, inter_rep_delay_var=0.6"
        # var is absent (default 0.1)
        found = failures(pd.DataFrame({"inter_rep_delay_avg": [0.05, 0.1]}))
        assert cells(found) == [(0, "inter_rep_delay_avg", "inter_rep_delay_spread")]

    def test_a_frame_without_parameter_columns(self) -> None:
        found = failures(pd.DataFrame({"job_id": ["a", "b"]}), constraints=["image_width > 300"])
        assert cells(found) == [(0, "user_constraint_0", "user_constraint_0"),
                                (1, "user_constraint_0", "user_constraint_0")]

    def test_no_referenced_column_present(self) -> None:
        found = failures(defaults(2).drop(columns=["image_width", "image_height"]), constraints=["image_width > 300"])
        assert cells(found) == [(0, "user_constraint_0", "user_constraint_0"), (1, "user_constraint_0",
                                                                                 "user_constraint_0")]

    def test_user_expression_and_constraint_objects(self) -> None:
        df = defaults(3).assign(image_width=[256, 300, 128], image_height=[256, 256, 512])
        found = failures(df, constraints=["image_width == image_height",
                                          Constraint("small", "image_width * image_height <= 256 * 256", "too big")])
        assert cells(found) == [(1, "image_width", "user_constraint_0"), (1, "image_width", "small"),
                                (2, "image_width", "user_constraint_0")]
        assert "too big" in found["message"][1]

    def test_user_callables(self) -> None:
        def square(df: pd.DataFrame) -> pd.Series:
            return df["image_width"] == df["image_height"]

        df = defaults(3).assign(image_width=[256, 300, 128])
        found = failures(df, constraints=[square, lambda df: df["num_reps"] < 2])
        # a callable names no column: its failures sit at the constraint's name; num_reps defaults to 2
        assert cells(found) == [(0, "user_constraint_1", "user_constraint_1"), (1, "square", "square"),
                                (1, "user_constraint_1", "user_constraint_1"), (2, "square", "square"),
                                (2, "user_constraint_1", "user_constraint_1")]
        assert found["value"].isna().all()
        assert "returned False" in found["message"][1]

    def test_rows_with_bad_cells_are_not_judged_by_constraints(self) -> None:
        df = defaults(2).assign(inter_rep_delay_avg=[0.2, 0.2], inter_rep_delay_var=[0.3, 0.3], num_reps=[2, 99])
        assert cells(failures(df)) == [(0, "inter_rep_delay_avg", "inter_rep_delay_spread"),
                                       (1, "num_reps", "in_range")]

    def test_a_broken_constraint_is_reported_once(self) -> None:
        found = failures(defaults(2), constraints=["no_such_param > 1"])
        assert cells(found) == [(-1, "user_constraint_0", "user_constraint_0")]
        assert "could not be evaluated" in found["message"][0]


class TestValidateFrame:
    def test_error_message_and_failure_cases(self) -> None:
        df = defaults(8).assign(camera_distance=[9.0] * 8)
        with pytest.raises(ValidationError) as caught:
            validate_frame(df, STICKFIT)
        lines = str(caught.value).splitlines()
        assert lines[0] == "8 problems in the job parameters for stickfit-v0.1.0:"
        assert lines[1].startswith("row 0, camera_distance: must be between 1.0 and 5.25")
        assert lines[5].startswith("row 4, camera_distance:")
        assert "3 more" in lines[6]
        pd.testing.assert_frame_equal(caught.value.failure_cases, failure_cases(df, STICKFIT))

    def test_polars_raises_the_same(self) -> None:
        df = defaults(2).assign(camera_distance=[9.0, 3.0])
        with pytest.raises(ValidationError) as caught:
            validate_frame(pl.from_pandas(df), STICKFIT)
        pd.testing.assert_frame_equal(caught.value.failure_cases, failure_cases(df, STICKFIT))

    def test_the_input_is_never_modified(self) -> None:
        df = with_column(defaults(2), "num_reps", [1.0, 2.0])
        before = df.copy()
        validate_frame(df, STICKFIT)
        pd.testing.assert_frame_equal(df, before)

    def test_rejects_other_types(self) -> None:
        with pytest.raises(TypeError, match="pandas or polars"):
            failure_cases([{"num_reps": 1}], STICKFIT)  # type: ignore[arg-type]
