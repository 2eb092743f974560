"""``validate`` on a frame fresh from the samplers returns an equal frame, dtypes included
(issue: sampling returns what validation returns)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infinityframe.local.generators import get
from infinityframe.params.cells import choice_dtype, polars_frame
from infinityframe.params.rerun import expand_reruns
from infinityframe.params.sampling import fill, grid, sample, with_defaults
from infinityframe.params.schema import validate_frame
from infinityframe.params.spec import GeneratorSpec

GENERATORS = ("stickfit-v0.1.0", "shapes-v0.1.0", "visionfit-v0.4.0", "visionfit-flagship-v0.1.0")
SPECS = {name: GeneratorSpec.from_metadata(get(name).metadata()) for name in GENERATORS}


def assert_no_op(df: pd.DataFrame, spec: GeneratorSpec) -> None:
    pd.testing.assert_frame_equal(validate_frame(df, spec), df)
    for frame in (pl.from_pandas(df), polars_frame(df)):  # Categorical, and Enum as backend="polars" gives
        out = validate_frame(frame, spec)
        assert out.equals(frame) and out.schema == frame.schema
    # Text choices come as a Categorical of the choices, whichever verb made the column.
    for name in df.columns:
        if choice_dtype(spec[name]) is not None and len(df):
            assert df[name].dtype == choice_dtype(spec[name]), name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(GENERATORS), method=st.sampled_from(["uniform", "lhs", "sobol"]),
       n=st.integers(0, 40), seed=st.integers(0, 2**32))
def test_sample(name: str, method: str, n: int, seed: int) -> None:
    assert_no_op(sample(SPECS[name], n, seed=seed, method=method), SPECS[name])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(GENERATORS), seed=st.integers(0, 2**32), data=st.data())
def test_fill_and_with_defaults(name: str, seed: int, data: st.DataObject) -> None:
    spec = SPECS[name]
    given_columns = data.draw(st.lists(st.sampled_from(spec.names), unique=True, max_size=4))
    partial = sample(spec, 12, seed=seed)[given_columns]
    assert_no_op(fill(partial, spec, seed=seed), spec)
    assert_no_op(with_defaults(partial, spec), spec)


@pytest.mark.parametrize("name", GENERATORS)
def test_grid_with_defaults(name: str) -> None:
    spec = SPECS[name]
    axes = {p.name: list(p.choices[:2]) for p in spec if p.choices}
    frame = with_defaults(grid(spec, **dict(list(axes.items())[:2])), spec)
    assert_no_op(frame, spec)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["stickfit-v0.1.0", "visionfit-v0.4.0", "visionfit-flagship-v0.1.0"]),
       seed=st.integers(0, 2**32), data=st.data())
def test_rerun(name: str, seed: int, data: st.DataObject) -> None:
    spec = SPECS[name]
    bases = sample(spec, 3, seed=seed).astype(object).to_dict("records")  # earlier jobs, as plain values
    overridden = data.draw(st.sampled_from([p.name for p in spec if p.choices and p.name != "state"]))
    choices = list(spec[overridden].choices or ())
    overrides = [{overridden: choices[0]}, {overridden: choices[-1]}]
    frame = expand_reruns(spec, {f"job-{i}": base for i, base in enumerate(bases)}, overrides)
    assert len(frame) == 6
    assert_no_op(frame, spec)


def test_a_sampled_frame_round_trips_through_parquet(tmp_path: Path) -> None:
    """Categorical text choices survive parquet (pandas and polars) and still validate unchanged."""
    spec = SPECS["visionfit-flagship-v0.1.0"]
    df = sample(spec, 50, seed=5)
    df.to_parquet(tmp_path / "jobs.parquet")
    back = pd.read_parquet(tmp_path / "jobs.parquet")
    assert back["scene"].dtype == choice_dtype(spec["scene"])
    pd.testing.assert_frame_equal(validate_frame(back, spec), df)
    enum = polars_frame(df)
    enum.write_parquet(tmp_path / "jobs_polars.parquet")
    read = pl.read_parquet(tmp_path / "jobs_polars.parquet")
    assert read.schema == enum.schema and validate_frame(read, spec).equals(enum)
