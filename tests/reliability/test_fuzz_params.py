"""Fuzzing parameter frames through sample, validate, estimate and submit.

Hypothesis builds frames a user could hand us by mistake: wrong dtypes, NaN, ±inf, huge and
unicode strings (lone surrogates included), empty frames, duplicated and non-string column names,
objects that are not parameters at all. Whatever comes in, the answer is a result or an
``InfinityError`` with a message — never an exception from inside pandas, numpy or pandera, and
never a 5xx from the service. Submissions go to an account with no samples, so a frame that
passes every check is refused for its cost (402) instead of rendering.
"""

from __future__ import annotations

import math
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _reliability import PROFILE, SHAPES, report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import infinityframe as inf
from _service import RunningService

FUZZ = settings(max_examples=PROFILE.fuzz_examples, deadline=None, derandomize=PROFILE.name == "quick", database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

HUGE = "é" * 100_000
JUNK = st.one_of(
    st.none(), st.just(float("nan")), st.just(float("inf")), st.just(float("-inf")), st.just(np.nan),
    st.just(pd.NA), st.just(pd.NaT), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=6),  # any code point, surrogates too
    st.just(HUGE), st.just("\ud800"), st.just("3"), st.just("true"), st.binary(max_size=8),
    st.just([1, 2]), st.just({"a": 1}), st.complex_numbers(max_magnitude=10), st.datetimes(),
    st.just(np.int64(7)), st.just(np.float32("nan")), st.just(uuid.uuid4()), st.just(str(uuid.uuid4())),
)


class Outcomes:
    """Counts what the fuzzed calls did, for the report."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def run(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except inf.InfinityError as err:
            assert str(err).strip(), f"{what}: {type(err).__name__} without a message"
            status = getattr(err, "status", None)
            assert status is None or status < 500, f"{what}: the service answered {status}: {err}"
            key = f"{what}: {type(err).__name__}"
            self.counts[key] = self.counts.get(key, 0) + 1
            return None
        except Exception as err:
            tb = "".join(traceback.format_exception(err))
            pytest.fail(f"{what} raised {type(err).__name__}, not an InfinityError:\n{tb}")
        key = f"{what}: ok"
        self.counts[key] = self.counts.get(key, 0) + 1
        return result


@pytest.fixture(scope="module")
def outcomes() -> Iterator[Outcomes]:
    seen = Outcomes()
    yield seen
    report("fuzz", examples=PROFILE.fuzz_examples, outcomes=seen.counts, held=True)


@pytest.fixture(scope="module")
def sesh(service: RunningService) -> inf.Session:
    """A session on an account with no samples: nothing fuzzed ever renders."""
    return inf.Session(service.add_account("fuzz-broke", 0), SHAPES, server=service.url)


def valid_value(param: dict[str, Any]) -> st.SearchStrategy[Any]:
    options = param.get("options") or {}
    if param["type"] == "int":
        return st.integers(int(options.get("min", -100)), int(options.get("max", 100)))
    if param["type"] == "float":
        return st.floats(float(options.get("min", -1e6)), float(options.get("max", 1e6)))
    if param["type"] == "bool":
        return st.booleans()
    if param["type"] == "str":
        return st.sampled_from(options["choices"]) if options.get("choices") else st.text(max_size=8)
    return st.none()


@st.composite
def frames(draw: st.DrawFn, params: list[dict[str, Any]]) -> pd.DataFrame:
    """A pandas frame: some parameter columns (maybe twice), maybe unknown ones, any cells."""
    by_name = {p["name"]: p for p in params}
    rows = draw(st.integers(0, 4))
    labels = draw(st.lists(st.one_of(st.sampled_from(sorted(by_name)), st.text(max_size=6), st.integers(-3, 3)),
                           max_size=5))
    columns = []
    for label in labels:
        param = by_name.get(label) if isinstance(label, str) else None
        cell = st.one_of(valid_value(param), JUNK) if param is not None else JUNK
        values = draw(st.lists(cell, min_size=rows, max_size=rows))
        dtype = draw(st.sampled_from([None, object, "str", "float64", "Int64", "boolean", "category"]))
        try:
            with warnings.catch_warnings():  # pandas' own complaints while *building* the input
                warnings.simplefilter("ignore")
                series = pd.Series(values, dtype=dtype, name=label)
        except Exception:  # the frame could not even be built with that dtype: keep the objects
            series = pd.Series(values, dtype=object, name=label)
        columns.append(series)
    if not columns:
        return pd.DataFrame(index=pd.RangeIndex(rows))
    frame = pd.concat(columns, axis=1, keys=labels) if len(columns) > 1 else columns[0].to_frame()
    frame.columns = labels  # keep duplicated labels as they are
    return frame


def test_frames_through_validate_estimate_submit(sesh: inf.Session, outcomes: Outcomes) -> None:
    params = sesh.metadata["params"]

    @FUZZ
    @given(frame=frames(params), name=st.one_of(st.text(max_size=20), st.just(HUGE), st.just("\ud800")))
    def check(frame: pd.DataFrame, name: str) -> None:
        before = frame.copy(deep=True)
        outcomes.run("validate", lambda: frame.infinity.validate(sesh))
        errors = outcomes.run("errors", lambda: frame.infinity.errors(sesh))
        assert errors is None or isinstance(errors, pd.DataFrame)
        outcomes.run("estimate", lambda: frame.infinity.estimate(sesh))
        outcomes.run("submit", lambda: sesh.submit(frame, name=name, mode="force"))
        try:
            polars = pl.from_pandas(frame)
        except Exception:
            polars = None  # polars cannot hold this frame (mixed objects, duplicated names): nothing to check
        if polars is not None:
            outcomes.run("validate[polars]", lambda: polars.infinity.validate(sesh))
            outcomes.run("estimate[polars]", lambda: sesh.estimate(polars))
        pd.testing.assert_frame_equal(frame, before)  # never mutated

    check()


def test_job_dicts_through_estimate_and_submit(sesh: inf.Session, outcomes: Outcomes) -> None:
    """The list-of-dicts path: the client's own checks, then the service's, see JSON-ish junk."""
    names = [p["name"] for p in sesh.metadata["params"]]
    values = st.one_of(JUNK.filter(lambda v: not isinstance(v, (bytes, complex))), st.integers(1, 5))
    job = st.dictionaries(st.one_of(st.sampled_from(names), st.text(max_size=6)), values, max_size=4)

    @FUZZ
    @given(jobs=st.lists(job, max_size=4))
    def check(jobs: list[dict[str, Any]]) -> None:
        outcomes.run("estimate[dicts]", lambda: sesh.estimate(jobs))
        outcomes.run("submit[dicts]", lambda: sesh.submit(jobs, mode="force"))

    check()


SAMPLE_ARGUMENTS = {"self", "n", "seed", "method", "constraints", "backend", "advisory", "prior"}  # sample()'s own


def test_sample_with_fuzzed_overrides(sesh: inf.Session, outcomes: Outcomes) -> None:
    names = [p["name"] for p in sesh.metadata["params"]]

    @FUZZ
    # n: small, negative, or not a count at all (huge counts are a memory test, not a fuzz case)
    @given(n=st.one_of(st.integers(-2, 20), JUNK.filter(lambda v: not isinstance(v, int) or abs(v) <= 1000)),
           fixed=st.dictionaries(
        st.one_of(st.sampled_from(names), st.text(max_size=5).filter(lambda k: k not in SAMPLE_ARGUMENTS)),
        st.one_of(JUNK, st.lists(JUNK, max_size=3), st.integers(1, 5)), max_size=3),
        method=st.sampled_from(["uniform", "lhs", "sobol", "grid", ""]))
    def check(n: Any, fixed: dict[str, Any], method: str) -> None:
        frame = outcomes.run("sample", lambda: sesh.sample(n, seed=0, method=method, **fixed))  # type: ignore[arg-type]
        if frame is not None:
            assert len(frame) == n
            outcomes.run("validate(sample)", lambda: frame.infinity.validate(sesh))

    check()


@pytest.mark.skipif(not PROFILE.million_rows, reason="the 1M-row frame runs in the long profile")
def test_a_million_rows(sesh: inf.Session, outcomes: Outcomes) -> None:
    frame = sesh.sample(1_000_000, seed=1)
    assert len(frame.infinity.validate(sesh)) == 1_000_000
    bad = frame.astype({"num_images": object, "lighting_power": object})
    bad.loc[[3, 999_999], "num_images"] = ["many", 2.5]
    bad.loc[500_000, "lighting_power"] = math.inf
    with pytest.raises(inf.ValidationError) as info:
        bad.infinity.validate(sesh)
    cases = info.value.failure_cases
    assert sorted(cases["row"]) == [3, 500_000, 999_999]
    outcomes.run("estimate[1M]", lambda: frame.head(100_000).infinity.estimate(sesh))
    outcomes.run("submit[1M]", lambda: sesh.submit(frame, mode="force"))
    outcomes.run("submit[1M, bad]", lambda: sesh.submit(bad, mode="force"))
