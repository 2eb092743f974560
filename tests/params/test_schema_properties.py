"""Properties of the failure table: valid frames drawn from the spec pass; one corrupted cell is
reported at exactly its (row, column), the same by pandas and polars and as the service's rules."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _frames import as_rules, to_polars
from infinityframe.local.generators import get
from infinityframe.params.quick import pandas_passes, polars_passes
from infinityframe.params.rules import validate_job
from infinityframe.params.schema import failure_cases
from infinityframe.params.spec import GeneratorSpec, ParamSpec
from infinityframe.params.validation import run

META = as_rules(get("stickfit-v0.1.0").metadata())  # its advisory constraint as a rule
SPEC = GeneratorSpec.from_metadata(META)
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def values(param: ParamSpec) -> st.SearchStrategy[Any]:
    """Valid values of one parameter."""
    if param.choices:
        return st.sampled_from(param.choices)
    if param.type == "int":
        return st.integers(int(param.min), int(param.max))  # type: ignore[arg-type]
    if param.type == "float":
        return st.floats(param.min, param.max, allow_nan=False, allow_infinity=False)
    if param.type == "bool":
        return st.booleans()
    if param.type == "uuid":
        return st.none() | st.uuids().map(str)
    return st.text(max_size=8)


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


def out_of_rule(param: ParamSpec) -> list[Any]:
    """Well-typed values that break a choice or the range: what the cell checks let through."""
    out: list[Any] = []
    if param.choices:
        out.append("NOT_A_CHOICE" if param.type == "str" else 7)
    if param.ranged:
        step = 1 if param.type == "int" else 0.5
        out += [param.max + step, param.min - step]  # type: ignore[operator]
    return out


class TestQuickPass:
    """The vectorised pre-pass that spares valid frames the pandera run: for every frame whose
    cells all pass, it says "valid" exactly when the internal pandera schema passes too."""

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
        for frame, passes in ((df, pandas_passes), (pl.from_pandas(df), polars_passes)):
            checked = run(frame, SPEC, ())
            assert not {"dtype", "nullable", "finite"} & set(checked.failures["check"])  # well-typed cells only
            _, errors = checked.pandera(checked.clean)
            verdict = passes(checked.clean, SPEC, checked.compiled, checked.height)
            assert verdict == (errors is None) == checked.failures.empty
            assert verdict == (how == "none" or (how == "cell" and not breakable))
