"""Properties of the failure table: valid frames drawn from the spec pass; one corrupted cell is
reported at exactly its (row, column), the same by pandas and polars and as the service's rules."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandera.errors import SchemaErrors

from _frames import as_rules, out_of_rule, to_polars
from _frames import valid_values as values
from infinityframe.local.generators import get
from infinityframe.params.rules import validate_job
from infinityframe.params.schema import build_polars_schema, build_schema, failure_cases
from infinityframe.params.spec import GeneratorSpec, ParamSpec

META = as_rules(get("stickfit-v0.1.0").metadata())  # its advisory constraint as a rule
SPEC = GeneratorSpec.from_metadata(META)
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def valid_frames(draw: st.DrawFn) -> pd.DataFrame:
    """A few rows, any subset of the parameters as columns, each drawn from its spec."""
    rows = draw(st.integers(1, 6))
    names = draw(st.lists(st.sampled_from(SPEC.names), min_size=1, unique=True))
    data = {name: draw(st.lists(values(SPEC[name]), min_size=rows, max_size=rows))
            for name in sorted(names, key=SPEC.names.index)}
    # The generator's joint constraint, inter_rep_delay_var <= inter_rep_delay_avg, on the
    # frame completed with defaults: lower the spread where it exceeds the mean.
    avg = data.get("inter_rep_delay_avg", [SPEC["inter_rep_delay_avg"].default] * rows)
    if "inter_rep_delay_var" in data:
        data["inter_rep_delay_var"] = [min(v, a) for v, a in zip(data["inter_rep_delay_var"], avg, strict=True)]
    elif "inter_rep_delay_avg" in data:
        data["inter_rep_delay_avg"] = [max(a, SPEC["inter_rep_delay_var"].default) for a in avg]
    return pd.DataFrame(data)




def both(df: pd.DataFrame) -> pd.DataFrame:
    found = failure_cases(df, SPEC)
    pd.testing.assert_frame_equal(failure_cases(to_polars(df), SPEC), found)
    return found


def bad_values(param: ParamSpec) -> list[tuple[str, Any]]:
    """Ways to break one cell of ``param``, each with the check that should catch it."""
    wrong_type = {"int": [2.5, "7.5", True], "float": ["0.5x", "nan", True], "bool": ["false", 1],
                  "str": [5, True], "uuid": [5, 1.5]}[param.type]
    out = [("dtype", value) for value in wrong_type]
    if param.type == "float":
        out += [("nullable", math.nan), ("finite", math.inf), ("finite", -math.inf)]
    elif not param.nullable:
        out.append(("nullable", None))
    if param.choices:
        out.append(("isin", "NOT_A_CHOICE" if param.type == "str" else 7))
    if param.ranged:
        out += [("in_range", param.max + (1 if param.type == "int" else 0.5)),  # type: ignore[operator]
                ("in_range", param.min - (1 if param.type == "int" else 0.5))]  # type: ignore[operator]
    return out


class TestValidFrames:
    @SETTINGS
    @given(valid_frames())
    def test_pass_with_no_failures(self, df: pd.DataFrame) -> None:
        assert both(df).empty


class TestOneCorruption:
    @SETTINGS
    @given(valid_frames(), st.data())
    def test_reported_at_exactly_that_cell(self, df: pd.DataFrame, data: st.DataObject) -> None:
        column = data.draw(st.sampled_from(list(df.columns)), label="column")
        row = data.draw(st.integers(0, len(df) - 1), label="row")
        check, value = data.draw(st.sampled_from(bad_values(SPEC[column])), label="corruption")
        cells = df[column].astype(object).tolist()
        cells[row] = value
        corrupted = df.assign(**{column: pd.Series(cells, dtype=object).infer_objects()})

        found = both(corrupted)
        assert list(zip(found["row"], found["column"], found["check"], strict=True)) == [(row, column, check)]
        # The service's rules, job by job, point at the same parameter of the same job.
        records = corrupted.astype(object).where(corrupted.notna(), None).to_dict("records")
        errors = [(e["job"], e["param"]) for i, job in enumerate(records) for e in validate_job(META, i, job)[1]]
        assert errors == [(row, column)]

    @SETTINGS
    @given(valid_frames(), st.sampled_from(["bogus", "scnee", "Num_Reps"]))
    def test_an_unknown_column(self, df: pd.DataFrame, name: str) -> None:
        found = both(df.assign(**{name: 1}))
        assert list(zip(found["row"], found["column"], found["check"], strict=True)) == [(-1, name, "unknown_column")]


def pandera_cells(frame: pd.DataFrame | pl.DataFrame, schema: Any) -> set[tuple[int, str]]:
    """The (row, column) pairs pandera's schema refuses; a joint constraint's rows under its name."""
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        cases = cases.to_pandas() if isinstance(cases, pl.DataFrame) else cases
        names = [c.name for c in SPEC.constraints]
        return {(int(row), names[int(number)] if context == "DataFrameSchema" else str(column))
                for row, column, context, number in zip(cases["index"], cases["column"], cases["schema_context"],
                                                        cases["check_number"], strict=True)}
    return set()


class TestPanderaSchemaAgrees:
    """``sesh.schema`` is pandera's form of the same declaration: for every frame whose cells are
    well typed, it refuses exactly the cells (and constraint rows) the one backend reports."""

    @settings(SETTINGS, max_examples=30)
    @given(valid_frames(), st.data())
    def test_agrees_with_pandera(self, df: pd.DataFrame, data: st.DataObject) -> None:
        breakable = [name for name in df.columns if out_of_rule(SPEC[name])]
        how = data.draw(st.sampled_from(["none", "cell", "constraint"]), label="how")
        if how == "cell" and breakable:
            column = data.draw(st.sampled_from(breakable), label="column")
            row = data.draw(st.integers(0, len(df) - 1), label="row")
            cells = df[column].tolist()
            cells[row] = data.draw(st.sampled_from(out_of_rule(SPEC[column])), label="value")
            df = df.assign(**{column: pd.Series(cells, dtype=df[column].dtype)})
        elif how == "constraint":
            row = data.draw(st.integers(0, len(df) - 1), label="row")
            var = list(df.get("inter_rep_delay_var", [SPEC["inter_rep_delay_var"].default] * len(df)))
            var[row] = 2.0  # above any mean but the maximum
            avg = list(df.get("inter_rep_delay_avg", [SPEC["inter_rep_delay_avg"].default] * len(df)))
            avg[row] = min(avg[row], 1.5)
            df = df.assign(inter_rep_delay_var=var, inter_rep_delay_avg=avg)[
                [n for n in SPEC.names if n in {*df.columns, "inter_rep_delay_var", "inter_rep_delay_avg"}]]
        # Text columns also as a Categorical and an Enum (as the samplers give them): pandera takes them too.
        text = [name for name in df.columns if SPEC[name].type == "str"]
        categorical = df.astype({name: "category" for name in text})
        enums = pl.from_pandas(df).with_columns(pl.col(name).cast(pl.Enum(sorted(set(df[name])))) for name in text)
        for frame, schema in ((df, build_schema(SPEC)), (pl.from_pandas(df), build_polars_schema(SPEC)),
                              (categorical, build_schema(SPEC)), (enums, build_polars_schema(SPEC))):
            ours = failure_cases(frame, SPEC)
            assert not {"dtype", "nullable", "finite"} & set(ours["check"])  # well-typed cells only
            named = {c.name for c in SPEC.constraints}
            found = {(int(row), check if check in named else column)
                     for row, column, check in zip(ours["row"], ours["column"], ours["check"], strict=True)}
            # pandera judges a constraint on every row; the backend, as the service, only on rows
            # whose cells all passed.
            bad_rows = {row for row, name in found if name not in named}
            assert found == {(row, name) for row, name in pandera_cells(frame, schema)
                             if name not in named or row not in bad_rows}
            assert ours.empty == (how == "none" or (how == "cell" and not breakable))
