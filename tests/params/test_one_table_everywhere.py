"""One invalid set of jobs, one failure table, whichever way it arrives (issue 15's done-when).

A frame with a few corrupted cells is checked as a pandas frame, a polars DataFrame and a
LazyFrame through ``.infinity.errors()``, as a list of dicts through the client
(``sesh.validate_job_params``, infinity-core's name) and through the shared rules, and as the
body of a batch POST to the real local service in its own process. Each must name the same
cells with the same checks and the same messages.
"""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import infinityframe as inf
from _frames import out_of_rule, to_polars, valid_values
from _service import RunningService
from infinityframe.local.generators import get
from infinityframe.params.cells import python_value
from infinityframe.params.rules import validate_jobs
from infinityframe.params.spec import GeneratorSpec, ParamSpec

GENERATOR = "stickfit-v0.1.0"
META = get(GENERATOR).metadata()  # as the service serves it: its advisory constraint is no rule
SPEC = GeneratorSpec.from_metadata(META)
NAMES = [name for name in SPEC.names if name != "state"]  # a state must name a job of the account
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def bad_values(param: ParamSpec) -> list[Any]:
    """Cells a job may carry that break ``param``: JSON can carry each (no NaN or infinity)."""
    out: list[Any] = {"int": [2.5, "7.5", True, "x"], "float": ["0.5x", True], "bool": ["false", 1],
                      "str": [5, True]}[param.type]
    return [*out, None, *out_of_rule(param)]


@st.composite
def invalid_frames(draw: st.DrawFn) -> pd.DataFrame:
    """A few rows over some parameters, valid but for one to three corrupted cells."""
    rows = draw(st.integers(1, 5))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    data: dict[str, list[Any]] = {name: draw(st.lists(valid_values(SPEC[name]), min_size=rows, max_size=rows))
                                  for name in sorted(names, key=SPEC.names.index)}
    if "inter_rep_delay_var" in data or "inter_rep_delay_avg" in data:  # keep the joint constraint
        avg = data.get("inter_rep_delay_avg", [SPEC["inter_rep_delay_avg"].default] * rows)
        var = data.get("inter_rep_delay_var", [SPEC["inter_rep_delay_var"].default] * rows)
        data["inter_rep_delay_avg"] = [max(a, v) for a, v in zip(avg, var, strict=True)]
        data = {name: data[name] for name in SPEC.names if name in data}
    for _ in range(draw(st.integers(1, 3))):
        column = draw(st.sampled_from(list(data)))
        data[column][draw(st.integers(0, rows - 1))] = draw(st.sampled_from(bad_values(SPEC[column])))
    return pd.DataFrame({name: pd.Series(cells, dtype=object).infer_objects() for name, cells in data.items()})


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as plain JSON-able dicts (a missing cell is null)."""
    return [{k: python_value(v) for k, v in row.items()} for row in df.astype(object).to_dict("records")]


def from_frame(table: pd.DataFrame | pl.DataFrame) -> list[tuple[Any, ...]]:
    rows = table.rows() if isinstance(table, pl.DataFrame) else list(table.itertuples(index=False, name=None))
    return [(int(r), c, k, m) for r, c, k, _v, m in rows]


def from_errors(errors: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["job"], e["param"], e["check"], e["message"]) for e in errors]


@pytest.fixture(scope="module")
def sesh(service: RunningService) -> inf.Session:
    return inf.Session(service.token, GENERATOR, server=service.url)


@SETTINGS
@given(df=invalid_frames())
def test_every_path_gives_the_same_failures(df: pd.DataFrame, sesh: inf.Session, service: RunningService) -> None:
    expected = df.infinity.errors(sesh)
    assert len(expected), "a corrupted frame has failures"
    table = from_frame(expected)
    values = [python_value(v) for v in expected["value"].tolist()]

    polars_frame = to_polars(df)
    eager = polars_frame.infinity.errors(sesh)
    assert isinstance(eager, pl.DataFrame) and from_frame(eager) == table
    assert [python_value(v) for v in eager["value"].to_list()] == values
    lazy = polars_frame.lazy().infinity.errors(sesh)
    assert isinstance(lazy, pl.LazyFrame) and from_frame(lazy.collect()) == table

    # Text columns as a Categorical / Enum (as sample gives them), a bad value among the categories.
    text = [name for name in df.columns if SPEC[name].type == "str"
            and all(isinstance(v, str) for v in df[name].dropna().tolist())]
    if text:
        categorical = df.astype({name: "category" for name in text})
        assert from_frame(categorical.infinity.errors(sesh)) == table
        enums = polars_frame.with_columns(
            pl.col(name).cast(pl.Enum(sorted(set(df[name].dropna().tolist())))) for name in text)
        assert from_frame(enums.infinity.errors(sesh)) == table

    jobs = records(df)
    listed = [e for _, found in validate_jobs(META, jobs) for e in found]
    assert from_errors(listed) == table
    assert [e["value"] for e in listed] == values
    texts = sesh.validate_job_params(jobs)  # infinity-core's name: one text per job
    by_row: dict[int, list[str]] = {}
    for row, _column, _check, message in table:
        by_row.setdefault(row, []).append(message)
    assert texts == ["; ".join(by_row[i]) if i in by_row else None for i in range(len(jobs))]

    runs = [{"name": GENERATOR, "is_preview": False, "param_values": job} for job in jobs]
    answer = service.post("batch/", None, data=orjson.dumps({"name": "one table", "job_runs": runs}),
                          headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert from_errors(body["errors"]) == table[:len(body["errors"])]
    assert body["detail"].endswith(f"First: {table[0][3]}")
